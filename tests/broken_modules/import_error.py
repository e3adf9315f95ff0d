"""Broken module: import error."""
# expect: dashboards/broken.py
# expect: ModuleNotFoundError
# expect: no_such_helper_library
import no_such_helper_library
