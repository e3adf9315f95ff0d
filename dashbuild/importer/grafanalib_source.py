"""Read a grafanalib dashboard (`*.dashboard.py`) as the JSON grafanalib itself would generate.

The file is the user's own code, so it runs in a child process of its own, with a time limit, the way
grafanalib's `generate-dashboard` runs it: the file defines a variable `dashboard`, and grafanalib's
`DashboardEncoder` writes `dashboard.to_json_data()`. Every failure is one line naming the file.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

DEFAULT_TIMEOUT_SECONDS = 60.0
# Exit codes of the child, so the parent can say what went wrong without reading a traceback.
_NO_GRAFANALIB, _NO_DASHBOARD, _FAILED = 3, 4, 5
_CHILD = r"""
import json, runpy, sys, traceback
try:
    from grafanalib._gen import DashboardEncoder
except ImportError:
    sys.exit(3)
path = sys.argv[1]
try:
    namespace = runpy.run_path(path, run_name="__grafanalib_dashboard__")
except BaseException as error:
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == path]
    where = f" (line {frames[-1].lineno})" if frames else ""
    print(f"{type(error).__name__}: {error}{where}".splitlines()[0][:400], file=sys.stderr)
    sys.exit(5)
dashboard = namespace.get("dashboard")
if dashboard is None or not hasattr(dashboard, "to_json_data"):
    sys.exit(4)
try:
    json.dump(dashboard.to_json_data(), sys.stdout, cls=DashboardEncoder, sort_keys=True)
except BaseException as error:
    print(f"{type(error).__name__}: {error}".splitlines()[0][:400], file=sys.stderr)
    sys.exit(5)
"""


class GrafanalibError(ValueError):
    """A grafanalib file that cannot be turned into a dashboard; the message is one line naming the file."""


def is_grafanalib_file(path: Path) -> bool:
    """Return whether `path` is a grafanalib dashboard definition (Python), not dashboard JSON."""
    return path.suffix == ".py"


def dashboard_from_grafanalib(path: Path, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> dict[str, Any]:
    """Return the dashboard JSON the grafanalib file at `path` generates; raise GrafanalibError when it cannot."""
    shown = str(path)
    try:
        result = subprocess.run([sys.executable, "-c", _CHILD, str(path.resolve())], capture_output=True, text=True,
                                timeout=timeout, stdin=subprocess.DEVNULL, cwd=path.resolve().parent, check=False)
    except subprocess.TimeoutExpired:
        raise GrafanalibError(f"{shown}: did not finish within {timeout:g} s") from None
    if result.returncode == _NO_GRAFANALIB:
        raise GrafanalibError(f"{shown}: grafanalib is not installed here: `pip install grafanalib` to import it")
    if result.returncode == _NO_DASHBOARD:
        raise GrafanalibError(f"{shown}: defines no `dashboard` (a grafanalib Dashboard), which "
                              "grafanalib's generate-dashboard also requires")
    if result.returncode != 0:
        reason = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else f"exit {result.returncode}"
        raise GrafanalibError(f"{shown}: failed to run: {reason}")
    try:
        data = json.loads(result.stdout)
    except ValueError as error:
        raise GrafanalibError(f"{shown}: grafanalib wrote no JSON dashboard: {error}") from None
    if not isinstance(data, dict):
        raise GrafanalibError(f"{shown}: grafanalib wrote {type(data).__name__}, not a dashboard object")
    return data
