"""Value objects written as module file source: round trips, layout, comments, lint, determinism.

Lines stay within 120 columns in every test here; the writer can exceed the width only with a token it cannot
split (a number, a dict key, one line of `Code`, a comment word longer than a line), which none of these has.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import string
import subprocess
import sys
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashbuild.importer.source import Call, Code, Commented, expression, module_file
from moddash.contract import COUNTER, GAUGE, HISTOGRAM, Metric, ModuleContract, Objectives, ScrapeTarget
from panels import (
    Annotation,
    ConstantVariable,
    CustomVariable,
    DataLink,
    DatasourceVariable,
    Graph,
    IntervalVariable,
    ModuleDashboard,
    Panel,
    Repeat,
    Row,
    Step,
    Table,
    Target,
    Text,
    TextboxVariable,
    Transformation,
    ValueText,
    Variable,
    by_name,
    by_query,
    filter_by_name,
    merge,
    organize,
)
from panels.fields import freeze

REPO = Path(__file__).resolve().parent.parent
WIDTH = 120

MARKDOWN = """# Runbook for "billing"

Check the queue first: `kubectl -n billing get pods`, then the dashboard's *Errors* row.

| signal | meaning |
|---|---|
| `up == 0` | the scrape failed; see C:\\logs\\billing\\ |

A path with a trailing backslash \\
and a tab\there, a quote ' and "both", ünïcödé and 日本語."""


def contract() -> ModuleContract:
    """Return a contract with every kind of metric, a scrape target with parameters, objectives and values."""
    return ModuleContract(
        name="billing",
        title="Billing",
        target=ScrapeTarget(port=9102, host="billing.internal", path="/internal/metrics",
                            params={"format": ["prometheus"], "module": ["a", "b"]}, scheme="https",
                            bearer_token_file="/run/secrets/billing_token"),
        metrics=(
            Metric("billing_operations_total", COUNTER, "Operations handled, by operation and status.",
                   ("operation", "status"), "ops"),
            Metric("billing_operation_duration_seconds", HISTOGRAM, "Operation duration in seconds.", ("operation",),
                   "s", buckets=(0.01, 0.1, 0.5, 1, 2.5, 10)),
            Metric("billing_queue_depth", GAUGE, "Invoices waiting to be sent.", (), "", multiprocess_mode="livesum"),
            Metric("billing_invoice_amount_usd", HISTOGRAM, "Amount of each invoice, in US dollars; a long help text "
                   "that does not fit on one line with its field name, so that it is split at spaces.", ("currency",)),
        ),
        objectives=Objectives(error_ratio=0.01, p95_seconds=0.5, latency_seconds=0.5, slo_window="4w"),
        label_values={"operation": ("charge", "refund"), "status": ("success", "error")},
    )


def dashboard() -> ModuleDashboard:
    """Return a dashboard using every field kind: thresholds, mappings, overrides, links, transformations, raw
    options, styles, repeats, variables of each kind, annotations and external metrics."""
    graph = Panel(
        kind="timeseries", title="Operations by status", description="Operations per second, by status.",
        unit="ops",
        targets=(Target('sum by (status) (rate(billing_operations_total{operation=~"$operation"}[$__rate_interval]))',
                        legend="{{status}}"),
                 Target("sum(rate(billing_operations_total[5m]))", legend="all")),
        thresholds=(Step("green"), Step("orange", 1e-05), Step("red", 80.0)),
        mappings=(ValueText("idle", value=0), ValueText("busy", color="orange", low=10, high=100.5),
                  ValueText("unknown", special="null+nan"), ValueText("cached", pattern=r"^cache-\d+$")),
        min=0, max=1000.0, decimals=2, no_value="-", width=12, height=9,
        silenced=(("panel-units-rule", "operations are a count per second, written ops"),),
        key="billing.ops", origin="rate_per_second.billing_operations_total",
        style=Graph(draw="bars", fill_opacity=40, stacking="normal", axis_placement="right", line_width=2),
        overrides=(
            by_name("error", {"color": {"mode": "fixed", "fixedColor": "red"}, "custom.lineWidth": 3,
                              "custom.hideFrom": {"legend": False, "tooltip": False, "viz": False}}),
            by_query("B", {"custom.axisPlacement": "left", "displayName": "All operations"}),
        ),
        data_links=(DataLink("Traces", "https://tempo.example/search?service=billing&status=${__field.labels.status}",
                             target_blank=True),),
        links=(DataLink("Runbook", "https://wiki.example/billing"),),
        repeat=Repeat("operation", "h", 4),
        datasource="longterm",
        raw={"options.legend": {"calcs": ["mean", "max"], "displayMode": "table", "placement": "right"},
             "options.tooltip.mode": "multi", "fieldConfig.defaults.custom.thresholdsStyle": {"mode": "line"},
             "pluginVersion": "11.6.0", "options.legend.sortDesc": True, "fieldConfig.defaults.custom.nested": [
                 {"a": [1, 2.5, None, "x"]}, [], {}]},
    )
    table = Panel(
        kind="table", title="Invoices", description="The last hour's invoices by currency.", unit="currencyUSD",
        targets=(Target("sum by (currency) (increase(billing_invoice_amount_usd_sum[1h]))", instant=True,
                        format="table"),),
        style=Table(sort_by="Value", descending=False, cell_height="md"),
        transformations=(merge(), organize(exclude=("Time",), rename={"Value": "Amount"}, order=("currency",)),
                         filter_by_name(names=("currency", "Amount"), pattern="^c", exclude=True),
                         Transformation("reduce", {"reducers": ["sum"], "mode": "seriesToRows"})),
    )
    text = Panel(kind="text", title="Runbook", description="", unit="", targets=(), style=Text(MARKDOWN))
    code = Panel(kind="text", title="Query", description="", unit="", targets=(),
                 style=Text("sum(rate(x[5m]))\n", mode="code"), width=24)
    return ModuleDashboard(
        rows=(
            Row("Traffic ($operation)", (graph, table), repeat="operation"),
            Row("Notes", (text, code), collapsed=True, key="notes"),
        ),
        variables=(
            Variable("operation", "Operation", "label_values(billing_operations_total, operation)", regex="/^[a-z]+$/",
                     all_value=None, hidden=False),
            CustomVariable("env", "Environment", ("prod", "staging"), default="staging", multi=True, include_all=True,
                           all_value=".*"),
            IntervalVariable("window", "Window", default="5m", auto=True),
            IntervalVariable("step", "Step", values=("30s", "1m")),
            ConstantVariable("cluster", "eu-1"),
            TextboxVariable("customer", "Customer", default="acme \"corp\"", hidden=True),
            DatasourceVariable("longterm", "Long-term store", regex="thanos.*"),
        ),
        description="Billing: charges, refunds and invoices.",
        tags=("billing", "payments"),
        annotations=(Annotation("Deploys", "changes(billing_build_info[5m]) > 0", title_format="{{version}}",
                                tag_keys="version,env", step="30s", icon_color="blue"),),
        external_metrics=(Metric("kube_pod_status_ready", GAUGE, "Pod readiness (kube-state-metrics).",
                                 ("namespace", "pod", "condition")),),
    )


def run_module(text: str) -> dict[str, Any]:
    """Return the names a generated module file defines, after checking every line fits in the width."""
    too_long = [line for line in text.splitlines() if len(line) > WIDTH]
    assert not too_long, too_long
    namespace: dict[str, Any] = {}
    exec(compile(text, "<generated>", "exec"), namespace)
    return namespace


def evaluate(value: object, width: int = WIDTH, indent: int = 0) -> object:
    """Return what the written expression of `value` evaluates to, with the imports it collected."""
    text, imports = expression(value, indent, width)
    namespace: dict[str, Any] = {}
    for module, name in sorted(imports):
        exec(f"from {module} import {name}", namespace)
    return eval(text, namespace)


def test_a_contract_round_trips_through_its_module_file() -> None:
    text = module_file("Billing, imported.", [("CONTRACT", contract())])
    assert run_module(text)["CONTRACT"] == contract()
    assert "from moddash.contract import Metric, ModuleContract, Objectives, ScrapeTarget\n" in text
    assert 'label_values={"operation": ("charge", "refund"), "status": ("success", "error")},' in text


def test_a_dashboard_with_every_field_kind_round_trips() -> None:
    text = module_file("Billing, imported.", [("CONTRACT", contract()), ("DASHBOARD", dashboard())])
    namespace = run_module(text)
    assert namespace["CONTRACT"] == contract()
    assert namespace["DASHBOARD"] == dashboard()
    assert text.startswith('"""Billing, imported."""\n\nfrom moddash.contract import ')
    assert text.endswith(")\n") and not text.endswith("\n\n")
    # Pairs and FrozenMaps are written in the form their converters take: a dict.
    assert '"color": {"fixedColor": "red", "mode": "fixed"},' in text
    assert 'raw={\n' in text


def test_every_argument_is_a_keyword_and_defaults_are_left_out() -> None:
    assert expression(Step("green")) == ('Step(color="green")', {("panels", "Step")})
    assert expression(Target("up", instant=True))[0] == 'Target(expr="up", instant=True)'
    # attrs.Factory defaults too: Objectives() for a contract, an empty FrozenMap for a transformation.
    assert expression(merge())[0] == 'Transformation(id="merge")'
    small = ModuleContract("shop", "Shop", ScrapeTarget(8000), ())
    assert expression(small)[0] == ('ModuleContract(name="shop", title="Shop", target=ScrapeTarget(port=8000), '
                                    'metrics=())')


def test_layout_breaks_the_outermost_brackets_first_with_trailing_commas() -> None:
    assert expression(()) == ("()", set())
    assert expression((1,))[0] == "(1,)"
    assert expression([1, (2, 3), {"a": None}])[0] == '[1, (2, 3), {"a": None}]'
    text, _ = expression((("x" * 30,), {"key": ["y" * 30, "z" * 30]}), width=50)
    assert text == ('(\n'
                    '    ("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",),\n'
                    '    {\n'
                    '        "key": [\n'
                    '            "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyy",\n'
                    '            "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",\n'
                    '        ],\n'
                    '    },\n'
                    ')')
    # The first line starts at `indent`; later ones carry it.
    text, _ = expression(("a" * 30, "b" * 30), indent=8, width=60)
    assert text.splitlines()[1:] == ['            "' + "a" * 30 + '",', '            "' + "b" * 30 + '",', "        )"]


def test_strings_prefer_double_quotes_and_escape_what_they_must() -> None:
    assert expression("plain")[0] == '"plain"'
    assert expression('say "hi"')[0] == "'say \"hi\"'"
    assert expression("it's \"x\"")[0] == '"it\'s \\"x\\""'
    assert expression("a\\b\n\t\x00\u2028é")[0] == '"a\\\\b\\n\\t\\x00\\u2028é"'
    assert evaluate("\ud800 lone surrogate") == "\ud800 lone surrogate"


def test_long_strings_are_split_at_newlines_then_spaces() -> None:
    text, _ = expression(Text(MARKDOWN))
    assert text.splitlines()[:4] == ["Text(", "    content=(", '        "# Runbook for \\"billing\\"\\n"',
                                     '        "\\n"']
    assert evaluate(Text(MARKDOWN)) == Text(MARKDOWN)
    words = " ".join(["word"] * 30)
    text, _ = expression(words, width=60)
    assert text.splitlines() == ["(", *['    "' + "word " * 10 + '"'] * 2, '    "' + "word " * 9 + 'word"', ")"]
    assert evaluate(words, width=60) == words


def test_numbers_are_written_as_repr_and_nan_is_refused() -> None:
    written, _ = expression((1.0, 0.5, 1e-05, -2, 10**20, True, None))
    assert written == "(1.0, 0.5, 1e-05, -2, 100000000000000000000, True, None)"
    for bad in (math.nan, math.inf, -math.inf):
        with pytest.raises(ValueError, match="finite"):
            expression({"value": [bad]})


def test_values_that_cannot_be_written_are_refused() -> None:
    with pytest.raises(TypeError, match="dict keys"):
        expression({1: "a"})
    with pytest.raises(TypeError, match="set"):
        expression({"a", "b"})
    with pytest.raises(ValueError, match="does not compile"):
        module_file("Broken.", [("X", Code("h.rate(("))])
    with pytest.raises(ValueError, match="both assigned and imported"):
        module_file("Clash.", [("Step", Step("green"))])
    with pytest.raises(ValueError, match="not a name"):
        module_file("Bad name.", [("class", 1)])


def test_comments_go_on_the_lines_before_their_value_wrapped_at_the_width() -> None:
    guess = ("billing_queue_depth is read with rate() in one panel and as is in another; it is declared a gauge "
             "because its name does not end in _total, which a counter's would. Check with the service's owners.")
    value = (
        Commented(Metric("billing_queue_depth", GAUGE, "Invoices waiting to be sent."), guess),
        Metric("billing_operations_total", COUNTER, "Operations."),
    )
    text = module_file("Commented.", [("METRICS", value), ("LIMIT", Commented(3, "First line.\r\nSecond line."))])
    lines = text.splitlines()
    start = lines.index("METRICS = (")
    assert lines[start + 1].startswith("    # billing_queue_depth is read with rate()")
    assert lines[start + 2].startswith("    # ") and lines[start + 3].startswith("    Metric(")
    assert lines[-3:] == ["# First line.", "# Second line.", "LIMIT = 3"]
    namespace = run_module(text)
    assert namespace["METRICS"] == (value[0].value, value[1])
    assert namespace["LIMIT"] == 3
    # A comment forces the layout open even where the value would fit on one line.
    text, _ = expression([Commented("a", "why"), "b"])
    assert text == '[\n    # why\n    "a",\n    "b",\n]'


def test_calls_and_code_write_helpers_as_a_user_would() -> None:
    import dashboards.llm_provider as llm

    helpers = (("panels", "helpers as h"),)
    requests = Code("_requests")
    row = Call("Row", ("Usage summary", (
        Call("in_overview", receiver=Call("h.rate_per_second", (requests,), {
            "by": ("provider",), "unit": "reqps", "title": "Requests/s by provider"}, helpers)),
        Call("in_overview", receiver=Call("h.token_usage", (Code('CONTRACT.metric("tokens_total")'),),
                                          imports=helpers)),
        Call("in_overview", receiver=Call("h.cost_over_range", (Code('CONTRACT.metric("cost_total")'),),
                                          (("by", ("provider",)), ("title", "Cost per provider")), helpers)),
        Call("h.distribution", (requests, "provider"), (("title", "Provider distribution"),), helpers),
    )), imports=(("panels", "Row"),))
    text = module_file("LLM Provider, imported.", [
        ("CONTRACT", llm.CONTRACT),
        ("_requests", Code('CONTRACT.metric("requests_total")')),
        ("USAGE", row),
    ])
    assert "from panels import helpers as h\n" in text
    assert '        h.token_usage(CONTRACT.metric("tokens_total")).in_overview(),\n' in text
    assert run_module(text)["USAGE"] == llm.DASHBOARD.rows[0]
    # A method call follows the closing bracket of the call it is made on.
    chained = Call("in_overview", receiver=Call("h.rate_per_second", (requests,), {
        "by": ("provider",), "unit": "reqps", "title": "Requests/s by provider"}, helpers))
    assert expression(chained, indent=8, width=80)[0].splitlines() == [
        "h.rate_per_second(",
        "            _requests,",
        '            by=("provider",),',
        '            unit="reqps",',
        '            title="Requests/s by provider",',
        "        ).in_overview()",
    ]


def test_a_frozen_map_outside_a_converter_keeps_its_constructor() -> None:
    frozen = freeze({"b": [1, {"c": None}], "a": "x"})
    assert evaluate(frozen) == {"a": "x", "b": [1, {"c": None}]}
    assert evaluate(Holder(frozen)) == Holder(frozen)
    assert "FrozenMap(items=" in expression(Holder(frozen))[0]


@attrs.frozen
class Holder:
    """An attrs class whose field has no converter: a FrozenMap in it must be written as one."""

    value: object


def test_a_generated_module_file_passes_ruff(tmp_path: Path) -> None:
    extra = (Code("Mapping", (("collections.abc", "Mapping"),)), Code("NOTHING", (("attrs", "NOTHING"),)))
    path = tmp_path / "billing.py"
    path.write_text(module_file(MARKDOWN, [("CONTRACT", contract()), ("DASHBOARD", dashboard()),
                                          ("EXTRA", Commented(extra, "Imports from every section."))]))
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--config",
                             str(REPO / "pyproject.toml"), str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_imports_are_grouped_and_sorted_as_ruff_sorts_them() -> None:
    imports = [("zlib", "crc32"), ("attrs", "frozen"), ("collections.abc", "Mapping"), ("panels", "helpers as h"),
               ("panels", "Row"), ("panels", "promql as q"), ("panels", "ModuleDashboard"),
               ("__future__", "annotations"), ("moddash.contract", "COUNTER"),
               ("moddash.contract", "Metric"), ("panels.fields", "FrozenMap")]
    value = tuple(Code(name.split(" as ")[-1], ((module, name),)) for module, name in imports
                  if module != "__future__")
    text = module_file("Imports.", [("X", (*value, Code("annotations", (("__future__", "annotations"),))))])
    head = text.split("\n\nX = ")[0].split('"""\n\n')[1]
    assert head == ("from __future__ import annotations\n\n"
                    "from collections.abc import Mapping\nfrom zlib import crc32\n\n"
                    "from attrs import frozen\n\n"
                    "from moddash.contract import COUNTER, Metric\n"
                    "from panels import ModuleDashboard, Row\nfrom panels import helpers as h\n"
                    "from panels import promql as q\nfrom panels.fields import FrozenMap")


def test_the_same_value_gives_the_same_bytes_whatever_the_hash_seed() -> None:
    first = module_file("Billing.", [("CONTRACT", contract()), ("DASHBOARD", dashboard())])
    assert module_file("Billing.", [("CONTRACT", contract()), ("DASHBOARD", dashboard())]) == first
    script = ("from tests.test_import_source import contract, dashboard\n"
              "from dashbuild.importer.source import module_file\n"
              "import sys\n"
              "sys.stdout.write(module_file('Billing.', [('CONTRACT', contract()), ('DASHBOARD', dashboard())]))\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "moddash-service")]),
           "PYTHONDONTWRITEBYTECODE": "1"}
    for seed in ("0", "1", "4242"):
        result = subprocess.run([sys.executable, "-c", script], cwd=REPO, env={**env, "PYTHONHASHSEED": seed},
                                capture_output=True, text=True, check=True, timeout=120)
        assert result.stdout == first


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(exclude_categories=())), st.integers(40, 120), st.integers(0, 16))
def test_any_string_round_trips(text: str, width: int, indent: int) -> None:
    assert evaluate(text, width, indent) == text


@settings(max_examples=200, deadline=None)
@given(st.text(string.printable), st.integers(40, 120))
def test_printable_strings_stay_within_the_width(text: str, width: int) -> None:
    written, _ = expression(text, 0, width)
    assert all(len(line) <= width for line in written.splitlines()), written
    assert evaluate(text, width) == text


@settings(max_examples=200, deadline=None)
@given(json_values, st.integers(40, 120))
def test_nested_json_values_round_trip(value: object, width: int) -> None:
    assert json.dumps(evaluate(value, width)) == json.dumps(value)
    frozen = freeze(value)
    assert freeze(evaluate(frozen, width)) == frozen
    options = Transformation("organize", {"nested": value})
    assert evaluate(options, width) == options


def test_docstrings_keep_quotes_backslashes_and_control_characters() -> None:
    for docstring in ('He said """hi""" and "x"', 'ends with a quote "', "a \\ backslash, a \\n that is no newline",
                      "a\x00nul and a bell\x07", "", "Two lines.\n\nThe second paragraph."):
        text = module_file(docstring, [("X", 1)])
        # A docstring of several lines ends with a newline: its closing quotes are on their own line.
        assert run_module(text)["__doc__"] == docstring + ("\n" if "\n" in docstring else "")


def test_multi_line_code_is_indented_where_it_starts_and_comments_precede_keywords() -> None:
    call = Call("dict", kwargs={"first": Commented(Code("[\n    1,\n\n    2,\n]"), "why a list"), "second": 3})
    text, _ = expression((call,), indent=4)
    assert text == ("(\n"
                    "        dict(\n"
                    "            # why a list\n"
                    "            first=[\n"
                    "                1,\n"
                    "\n"
                    "                2,\n"
                    "            ],\n"
                    "            second=3,\n"
                    "        ),\n"
                    "    )")
    assert eval(text) == ({"first": [1, 2], "second": 3},)


@pytest.mark.parametrize("name", sorted(p.stem for p in (REPO / "dashboards").glob("*.py")
                                        if p.stem not in ("__init__", "settings")))
def test_every_module_file_of_the_repository_round_trips(name: str, tmp_path: Path) -> None:
    module = importlib.import_module(f"dashboards.{name}")
    text = module_file(module.__doc__ or name, [("CONTRACT", module.CONTRACT), ("DASHBOARD", module.DASHBOARD)])
    namespace = run_module(text)
    assert (namespace["CONTRACT"], namespace["DASHBOARD"]) == (module.CONTRACT, module.DASHBOARD)
    path = tmp_path / f"{name}.py"
    path.write_text(text)
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--config",
                             str(REPO / "pyproject.toml"), str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
