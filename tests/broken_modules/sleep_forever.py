"""Broken module: a sleep that never ends at import."""
# args: --module-timeout 1
# expect: dashboards/broken.py: did not finish loading within 1 s
# expect: it was at line 7
import time

time.sleep(10**6)
