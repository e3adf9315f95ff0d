"""Prometheus rules derived from module contracts: recording rules, alerts and SLOs, as pure values.

`rules.model` holds the value objects, `rules.recording` the cross-module `module:*` series, `rules.alerts`
each module's alerts and those about the monitoring itself, `rules.slo` the SLO rules. No I/O: dashbuild
writes them as YAML (dashbuild/prometheus.py, dashbuild/slo_files.py), and the settings they read are in
panels/settings.py.
"""
