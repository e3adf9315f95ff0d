"""Broken module: an endless loop that swallows every BaseException, the time limit's too (the watchdog ends it)."""
# args: --module-timeout 1
# expect: dashboards/broken.py: did not finish loading within 1 s
# expect: it was at line
while True:
    try:
        while True:
            pass
    except BaseException:
        pass
