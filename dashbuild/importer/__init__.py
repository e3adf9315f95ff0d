"""Importing existing Grafana dashboards: migration, contract inference, helper recognition, comparison.

`migrate` brings any classic dashboard JSON (old `rows[]` layouts, AngularJS `graph`/`singlestat`/`table`
panels, data sources named by string) to the model Grafana 11 saves (schemaVersion 41), the way Grafana's
own DashboardMigrator and panel migration handlers do, and notes what it leaves as it is. `infer` derives
the contract the queries imply, `recognise` finds the helper that writes a panel's queries exactly, and
`grafanalib_source` reads a grafanalib dashboard as its JSON. `compare` tells whether two dashboards show the
same thing, as the proof that an imported module rebuilds the original. All but `grafanalib_source` are
pure: they read the data they are given and nothing else.
"""
