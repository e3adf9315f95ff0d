"""`python build.py new-module`: write a module file from the naming convention and the standard helpers."""

from __future__ import annotations

from pathlib import Path

from dashbuild.checks import slugify
from dashbuild.discover import RESERVED, discover
from dashbuild.errors import BuildError, BuildFailed
from dashbuild.files import write_module_file
from dashbuild.settings import load_settings
from moddash.contract.model import MODULE_NAME_RE
from panels.settings import OVERVIEW_UID
from panels.spec import UID_RE

TEMPLATE = '''"""{title} (:{port}): scaffolded by `python build.py new-module`; edit freely."""

from moddash.contract import ModuleContract, Objectives, ScrapeTarget, standard_metrics
from panels import ModuleDashboard, Row
from panels import helpers as h
from panels.promql import variable

CONTRACT = ModuleContract(
    name={name!r},
    title={title!r},
    target=ScrapeTarget(port={port}),
    metrics=standard_metrics({name!r}),
    objectives=Objectives(error_ratio=0.05, p95_seconds=1.0, cost_per_hour_usd=10,  # alert thresholds
                          availability=0.999, latency_seconds=1.0, latency_target=0.99, slo_window="30d"),  # SLOs
)

_ops = CONTRACT.metric("operations_total")
_duration = CONTRACT.metric("operation_duration_seconds")
_errors = CONTRACT.metric("errors_total")
_by_operation = (variable("operation"),)

DASHBOARD = ModuleDashboard(
    description={description!r},
    variables=(h.label_variable(_ops, "operation"),),
    rows=(
        Row("Summary", (
            h.rate_per_second(_ops, by=("operation",), title="Operations/s").in_overview(),
            h.duration_p95(_duration, by=("operation",), objective_seconds=CONTRACT.objectives.p95_seconds,
                           title="Operation duration P95").in_overview(),
            h.error_ratio(_errors, _ops, critical=CONTRACT.objectives.error_ratio).in_overview(),
            h.cost_over_range(CONTRACT.metric("cost_total"), title="Cost").in_overview(),
        )),
        Row("Per operation ($operation)", (
            h.rate_per_second(_ops, by=("operation", "status"), where=_by_operation,
                              title="Operations/s by status"),
            h.duration_quantiles(_duration, by=("operation",), where=_by_operation,
                                 title="Operation duration P50/P95/P99"),
            h.error_ratio(_errors, _ops, by=("operation",), where=_by_operation, title="Error rate by operation"),
        )),
        Row("Tokens, cost and cache", (
            h.token_usage(CONTRACT.metric("tokens_total")),
            h.cost_rate(CONTRACT.metric("cost_total")),
            h.cache_hit_ratio(CONTRACT.metric("cache_hits_total"), CONTRACT.metric("cache_misses_total")),
        )),
    ),
)
'''


def default_title(name: str) -> str:
    """Return a title from a module name: `billing_gateway` -> `Billing Gateway`."""
    return " ".join(word.capitalize() for word in name.split("_"))


def module_source(name: str, port: int, title: str) -> str:
    """Return the Python source of a new module file."""
    description = f"{title} operations, latency, errors, tokens, cost and cache."
    return TEMPLATE.format(name=name, port=port, title=title, description=description)


def scaffold_module(root: Path, name: str, port: int, title: str | None = None) -> Path:
    """Write `dashboards/<name>.py` and return its path; raise BuildError (writing nothing) when refused."""
    path = root / "dashboards" / f"{name}.py"
    display = path.relative_to(root).as_posix()
    title = (title or default_title(name)).strip()
    if not MODULE_NAME_RE.fullmatch(name) or "__" in name:
        raise BuildError(display, f"module name {name!r} must be lowercase snake_case, start with a letter and "
                                  "be a valid Prometheus metric prefix, e.g. 'billing_gateway'")
    if name in RESERVED:
        raise BuildError(display, f"module name {name!r} is reserved")
    if not UID_RE.fullmatch(name.replace("_", "-")):
        raise BuildError(display, f"module name {name!r} is too long: its dashboard uid must be at most 40 characters")
    if not 1 <= port <= 65535:
        raise BuildError(display, f"port {port} is not between 1 and 65535")
    if not title or not title.isprintable():
        raise BuildError(display, f"title {title!r} must be non-empty printable text")
    if path.exists():
        raise BuildError(display, "already exists; pick another name or edit that file")
    try:
        modules = discover(root)
    except BuildFailed as failure:
        raise BuildError(display, "cannot check the existing modules: " + "; ".join(map(str, failure.errors))) from None
    for module in modules:
        if module.contract.target.port == port:
            raise BuildError(display, f"port {port} is already used by {module.path}")
        if slugify(module.contract.title) == slugify(title):
            raise BuildError(display, f"title {title!r} clashes with {module.path} ({module.contract.title!r})")
    settings = load_settings(root)
    clashes = slugify(settings.title_of(name, title)) == slugify(settings.overview_title)
    if clashes or name.replace("_", "-") == OVERVIEW_UID:
        raise BuildError(display, f"{name!r} / {title!r} clashes with the overview dashboard")
    write_module_file(path, module_source(name, port, title).encode("utf-8"), display)
    return path
