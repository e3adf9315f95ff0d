"""Broken module: sys.exit("message") at import."""
# expect: dashboards/broken.py: failed to load (line 5): SystemExit: cannot reach the config service
import sys

sys.exit("cannot reach the config service")
