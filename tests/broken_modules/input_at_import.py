"""Broken module: asks for input at import (stdin is empty while a module file loads)."""
# expect: dashboards/broken.py: failed to load (line 5): EOFError: EOF when reading a line
from moddash.contract import ModuleContract, ScrapeTarget, standard_metrics

NAME = input("module name? ")
CONTRACT = ModuleContract(name=NAME, title="Broken", target=ScrapeTarget(port=8099), metrics=standard_metrics(NAME))
