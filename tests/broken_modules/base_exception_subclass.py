"""Broken module: raises a BaseException subclass that `except Exception` would not catch."""
# expect: dashboards/broken.py: failed to load (line 8): Abort: stop right here


class Abort(BaseException):
    pass

raise Abort("stop right here")
