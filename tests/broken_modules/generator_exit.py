"""Broken module: raises GeneratorExit at import."""
# expect: dashboards/broken.py: failed to load (line 3): GeneratorExit
raise GeneratorExit
