"""Broken module: an endless loop at import."""
# args: --module-timeout 1
# expect: dashboards/broken.py: did not finish loading within 1 s (an endless loop or a blocking call at import?
# expect: it was at line 5)
while True: pass  # noqa: E701
