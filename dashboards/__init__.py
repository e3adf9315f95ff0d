"""Module files: one per module, each declaring CONTRACT and DASHBOARD. `overview.py` assembles the rest."""
