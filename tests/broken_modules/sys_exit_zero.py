"""Broken module: sys.exit(0) at import (it used to end the build with exit 0 having built nothing)."""
# expect: dashboards/broken.py: failed to load (line 5): SystemExit: 0
import sys

sys.exit(0)
