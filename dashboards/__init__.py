"""Module files: one per module, each declaring CONTRACT and DASHBOARD; `settings.py` holds the project's settings."""
