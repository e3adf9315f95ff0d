"""Broken module: syntax error."""
# expect: dashboards/broken.py
# expect: SyntaxError
def oops(:
