"""Broken module: waits for an event nobody sets (a blocking lock acquire at import)."""
# args: --module-timeout 1
# expect: dashboards/broken.py: did not finish loading within 1 s
# expect: it was at line 7
import threading

threading.Event().wait()
