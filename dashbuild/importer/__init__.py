"""Importing existing Grafana dashboards: migration to the modern model and the round-trip comparison.

`migrate` brings any classic dashboard JSON (old `rows[]` layouts, AngularJS `graph`/`singlestat`/`table`
panels, data sources named by string) to the model Grafana 11 saves (schemaVersion 41), the way Grafana's
own DashboardMigrator and panel migration handlers do, and notes what it leaves as it is. `compare` tells
whether two dashboards show the same thing, as the proof that an imported module rebuilds the original.
Both are pure: they read the data they are given and nothing else.
"""
