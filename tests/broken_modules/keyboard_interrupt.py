"""Broken module: raises KeyboardInterrupt at import (stops the build at once, like Ctrl-C, naming the file)."""
# exit: 130
# expect: error: interrupted while loading dashboards/broken.py; no file was changed
raise KeyboardInterrupt
