"""SLOs (panels/slo.py) on the real Prometheus engine: `promtool test rules` over the generated SLO rule file.

The rule file is what `python build.py` writes for a module (dashbuild/slo_files.py), evaluated by promtool
every minute as its group's `interval` says, over counters scraped every minute. Expectations are derived by
hand in comments. Debian's promtool 2.42 selects ranges inclusively at both ends: a 1 h window over 1-minute
samples holds 61 of them, and rate() over 5 minutes of a counter that starts or stops ramps over 5 samples
(0.2, 0.4, ... of the full rate).

Module "shop": 99.9 % of operations succeed and 99 % complete within 0.5 s, over 30 d. Its error budget is
0.1 %; the page fires above 14.4 times that over 1 h and 5 m (0.0144) or 6 times over 6 h and 30 m (0.006),
the ticket above 1 time over 3 d and 6 h (0.001), each after its `for` (2 m, 15 m).
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import yaml

from dashbuild.discover import discover
from dashbuild.files import dump_yaml
from dashbuild.overview import build_overview
from dashbuild.pipeline import module_spec
from dashbuild.queries import selected_series
from dashbuild.slo_files import slo_rules_file, slo_rules_path
from moddash.contract import ModuleContract, Objectives, ScrapeTarget, standard_metrics
from panels.slo import slo_row
from rules import slo
from rules.model import template_literal
from tests.conftest import REPO
from tests.test_failures import expectations

SHOP = ModuleContract("shop", "Shop", ScrapeTarget(9990), standard_metrics("shop"),
                      objectives=Objectives(availability=0.999, latency_seconds=0.5, latency_target=0.99))
OPS, ERRORS = "shop_operations_total", "shop_errors_total"
AVAILABILITY = {"module": "shop", "slo": "availability"}
LATENCY = {"module": "shop", "slo": "latency"}


def counter(*segments: tuple[int, float]) -> str:
    """Return promtool input values, one a minute from 0: a counter growing `per_minute` for `minutes`, in turn.

    The first segment covers minutes 0..m (it starts at 0), each later one the next m minutes.
    """
    parts, value = [], 0.0
    for index, (minutes, per_minute) in enumerate(segments):
        if index == 0:
            parts.append(f"0+{per_minute!r}x{minutes}")
        else:
            parts.append(f"{value + per_minute!r}+{per_minute!r}x{minutes - 1}")
        value += per_minute * minutes
    return " ".join(parts)


def labels(series: dict[str, str]) -> str:
    """Return a promtool label set, e.g. `{module="shop", slo="latency"}`."""
    return "{" + ", ".join(f'{k}="{v}"' for k, v in series.items()) + "}"


def micro(expr: str) -> str:
    """Return `expr` rounded to 1e-6 (promtool 2.42 compares floats exactly)."""
    return f"round(({expr}) * 1e6) / 1e6"


def recorded(name: str, which: dict[str, str] = AVAILABILITY) -> str:
    """Return the selector of one SLO's recorded series."""
    return name + labels(which)


def check(expr: str, at: str, *samples: tuple[dict[str, str], float]) -> dict[str, Any]:
    """Return a promql_expr_test: `expr` at `at` gives exactly `samples` (none: no sample at all, not NaN)."""
    return {"expr": expr, "eval_time": at,
            "exp_samples": [{"labels": labels(series), "value": value} for series, value in samples]}


def alerts(kind: str, severity: str, at: str, *firing: dict[str, str]) -> dict[str, Any]:
    """Return a check that exactly `firing` SLO alerts of `kind` and `severity` are firing at `at` (no pending)."""
    name = f"Shop{kind}"
    selector = f'ALERTS{{alertname="{name}", severity="{severity}", alertstate="firing"}}'
    return check(selector, at, *((
        {"__name__": "ALERTS", "alertname": name, "alertstate": "firing", "severity": severity, **which}, 1)
        for which in firing))


def never(kind: str, severity: str, at: str, over: str) -> dict[str, Any]:
    """Return a check that no SLO alert of `kind` and `severity` was pending or firing over `over` before `at`."""
    return check(f'count_over_time(ALERTS{{alertname="Shop{kind}", severity="{severity}"}}[{over}])', at)


def run(tmp_path: Path, promtool: str, series: dict[str, str], checks: Sequence[dict[str, Any]] = (),
        alert_tests: Sequence[dict[str, Any]] = (), contract: ModuleContract = SHOP) -> None:
    """Assert every check holds in one promtool run over the module's generated SLO rule file."""
    rules = slo_rules_file(contract)
    assert rules is not None
    (tmp_path / "slo.yml").write_bytes(dump_yaml(rules))
    test = {
        "rule_files": ["slo.yml"],
        "evaluation_interval": slo.EVALUATION_INTERVAL,
        "tests": [{
            "interval": "1m",
            "input_series": [{"series": name, "values": values} for name, values in series.items()],
            "promql_expr_test": list(checks),
            "alert_rule_test": list(alert_tests),
        }],
    }
    (tmp_path / "test.yml").write_text(yaml.safe_dump(test, sort_keys=False))
    result = subprocess.run([promtool, "test", "rules", "test.yml"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


# -- availability -----------------------------------------------------------------------------------------------

def test_total_outage_pages_within_five_minutes_and_clears_with_the_short_windows(tmp_path: Path,
                                                                                   promtool: str) -> None:
    # 1 operation a second; from minute 120 every one fails, for 10 minutes. The 5-minute error rate is then
    # 0.2, 0.4, 0.6, ... per second at minutes 121, 122, 123; over the 61 samples of the last hour:
    # minute 122: 0.6 / 61 = 0.0098, minute 123: 1.2 / 61 = 0.0197 > 0.0144 (the 5-minute ratio is 0.6):
    # pending at 123, firing 2 minutes later, at 125, 5 minutes after the outage began, with the 1 h ratio
    # 3.0 / 61 = 4.918 %. The module title holds Go template syntax, printed literally.
    titled = ModuleContract("shop", "Shop {{ $labels.job }}", ScrapeTarget(9990), standard_metrics("shop"),
                            objectives=SHOP.objectives)
    page = next(rule for rule in slo.alert_rules(slo.slo_spec(titled)) if rule.severity == slo.PAGE)
    title = "Shop {{ $labels.job }}"
    expected = {
        "summary": f"{title} is spending its availability error budget fast",
        "description": page.description.replace("{{ $value | humanizePercentage }}", "4.918%")
                                       .replace(template_literal(title), title),
        "runbook_url": "RUNBOOKS.md#moduleerrorbudgetburn",
    }
    series = {OPS: counter((240, 60)), ERRORS: counter((120, 0), (10, 60), (110, 0))}
    run(tmp_path, promtool, series, [
        check(micro(recorded(slo.error_ratio_series("1h"))), "123m", (AVAILABILITY, 0.019672)),
        alerts("ErrorBudgetBurn", "critical", "124m"),
        # Pending at 123 and 124: ALERTS records pending alerts too, which `never()` relies on.
        check('count_over_time(ALERTS{alertname="ShopErrorBudgetBurn", severity="critical", alertstate="pending"}'
              '[1h])', "130m", ({"alertname": "ShopErrorBudgetBurn", "alertstate": "pending", "severity": "critical",
                                 **AVAILABILITY}, 2)),
        alerts("ErrorBudgetBurn", "critical", "125m", AVAILABILITY),
        # Errors stop at 130. The 5-minute ratio is 0 from 135, but the 30-minute one still holds them (above
        # 0.006) until its window no longer reaches minute 134, the last with a 5-minute error rate: 165.
        alerts("ErrorBudgetBurn", "critical", "150m", AVAILABILITY),
        alerts("ErrorBudgetBurn", "critical", "166m"),
    ], [{"eval_time": "125m", "alertname": "ShopErrorBudgetBurn", "exp_alerts": [
        # The ticket (3 d and 6 h above 0.001 since minute 121) is still pending: its `for` is 15 minutes.
        {"exp_labels": {"severity": "critical", **AVAILABILITY}, "exp_annotations": expected},
    ]}], contract=titled)


def test_twenty_times_the_budget_pages_after_the_workbooks_detection_time(tmp_path: Path, promtool: str) -> None:
    # 2 % of operations fail from minute 120: 20 times the 0.1 % budget. The 1 h ratio reaches 0.0144 only when
    # 0.02 * 60 * 14.4 / 20 = 43.2 minutes of it are in the window (the workbook's detection time); by hand,
    # with the 5-minute ramp and 61 samples: (0.04 + 0.02 * (k - 4)) / 61 > 0.0144 from k = 46 minutes, firing
    # at k = 48. Before that the ticket fires: the 6 h ratio (all 2 h of history) passes 0.001 at k = 7.
    series = {OPS: counter((300, 60)), ERRORS: counter((120, 0), (180, 1.2))}
    run(tmp_path, promtool, series, [
        alerts("ErrorBudgetBurn", "critical", "160m"),
        alerts("ErrorBudgetBurn", "warning", "160m", AVAILABILITY),
        alerts("ErrorBudgetBurn", "critical", "170m", AVAILABILITY),
    ])


def test_a_blip_shorter_than_the_short_window_does_not_page(tmp_path: Path, promtool: str) -> None:
    # 20 % of operations fail for 2 minutes (24 errors), then none. The 5-minute ratio alone would page
    # (0.08 > 0.0144); over the last hour the 5-minute error rates sum to 0.04 + 4 * 0.08 + 0.04 = 0.4, and
    # 0.4 / 61 = 0.0066 stays below 0.0144; over 6 h the ratio never reaches 0.006 either.
    # (A 2-minute total outage pages: it spends 2 / 43.2 = 4.6 % of the 30-day budget, more than the 2 % in
    # an hour the page stands for.)
    series = {OPS: counter((300, 60)), ERRORS: counter((120, 0), (2, 12), (178, 0))}
    run(tmp_path, promtool, series, [
        check(micro(f"max_over_time({recorded(slo.error_ratio_series('5m'))}[3h])"), "300m", (AVAILABILITY, 0.08)),
        check(micro(f"max_over_time({recorded(slo.error_ratio_series('1h'))}[3h])"), "300m",
              (AVAILABILITY, 0.006557)),
        never("ErrorBudgetBurn", "critical", "300m", "5h"),
    ])


def test_a_slow_burn_opens_a_ticket_after_the_long_windows_evidence_and_never_pages(tmp_path: Path,
                                                                                    promtool: str) -> None:
    # 1,000 operations a minute; 12 h clean, then 0.15 % fail (1.5 times the budget). The 6 h ratio passes
    # 0.001 after 4 h; the 3 d ratio, over all 12 h + k of history, is 0.0015 * k / (720 + k): above 0.001 only
    # from k = 1,440 minutes (24 h), then the ticket fires 15 minutes later. 0.0015 never comes near a page.
    clean, burn = 720, 1500
    series = {OPS: counter((clean + burn, 1000)), ERRORS: counter((clean, 0), (burn, 1.5))}
    run(tmp_path, promtool, series, [
        alerts("ErrorBudgetBurn", "warning", f"{clean + 1380}m"),
        alerts("ErrorBudgetBurn", "warning", f"{clean + 1500}m", AVAILABILITY),
        never("ErrorBudgetBurn", "critical", f"{clean + burn}m", f"{clean + burn}m"),
    ])


def test_the_sli_burn_rate_and_budget_left(tmp_path: Path, promtool: str) -> None:
    # 0.5 % of operations fail from the start: SLI 0.995, burn rate 0.005 / 0.001 = 5, budget left 1 - 5 = -4
    # (the objective is missed over the window). Errors and operations ramp alike, so the ratios are exact.
    series = {OPS: counter((120, 60)), ERRORS: counter((120, 0.3))}
    run(tmp_path, promtool, series, [
        check(micro(recorded(slo.SLI)), "120m", (AVAILABILITY, 0.995)),
        check(micro(recorded(slo.BURN_RATE)), "120m", (AVAILABILITY, 5)),
        check(micro(recorded(slo.BUDGET_REMAINING)), "120m", (AVAILABILITY, -4)),
        check(recorded(slo.OBJECTIVE), "120m", ({"__name__": slo.OBJECTIVE, **AVAILABILITY}, 0.999)),
    ])


def test_no_traffic_records_no_sli_and_stays_silent(tmp_path: Path, promtool: str) -> None:
    # Counters created at 0 and never incremented (what a freshly started service exposes): the request rate
    # is 0, so every ratio, the SLI, the burn rate and the budget left have no value: not 0, not NaN.
    series = {OPS: counter((240, 0)), ERRORS: counter((240, 0))}
    quiet = [check(recorded(name), "240m") for name in (
        *(slo.error_ratio_series(w) for w in ("5m", "30m", "1h", "6h", "3d", "30d")),
        slo.SLI, slo.BURN_RATE, slo.BUDGET_REMAINING)]
    run(tmp_path, promtool, series, [
        check(recorded(slo.REQUESTS), "240m", ({"__name__": slo.REQUESTS, **AVAILABILITY}, 0)),
        *quiet,
        never("ErrorBudgetBurn", "critical", "240m", "4h"),
        never("ErrorBudgetBurn", "warning", "240m", "4h"),
    ])


def test_windows_without_traffic_have_no_ratio_while_longer_ones_keep_theirs(tmp_path: Path, promtool: str) -> None:
    # Traffic, 10 % failing, for the first hour; then none. At 130 m the 5 m and 1 h windows hold no traffic
    # (no value, never NaN or 0), the 6 h and 30 d ones hold the hour: 0.1.
    series = {OPS: counter((60, 60), (70, 0)), ERRORS: counter((60, 6), (70, 0))}
    run(tmp_path, promtool, series, [
        check(recorded(slo.error_ratio_series("5m")), "130m"),
        check(recorded(slo.error_ratio_series("1h")), "130m"),
        check(micro(recorded(slo.error_ratio_series("6h"))), "130m", (AVAILABILITY, 0.1)),
        check(micro(recorded(slo.SLI)), "130m", (AVAILABILITY, 0.9)),
    ])


def test_no_series_at_all_records_only_the_objective(tmp_path: Path, promtool: str) -> None:
    run(tmp_path, promtool, {"unrelated_total": counter((120, 60))}, [
        check(f'{{__name__=~"module:slo_.*", __name__!="{slo.OBJECTIVE}"}}', "120m"),
        check(f"count({slo.OBJECTIVE})", "120m", ({}, 2)),
        never("ErrorBudgetBurn", "critical", "120m", "2h"),
        never("LatencyBudgetBurn", "critical", "120m", "2h"),
    ])


def test_a_wrong_expectation_fails(tmp_path: Path, promtool: str) -> None:
    # Control: the harness fails when the page is expected a minute early (it fires at 125, see above).
    series = {OPS: counter((240, 60)), ERRORS: counter((120, 0), (10, 60), (110, 0))}
    with pytest.raises(AssertionError, match="ShopErrorBudgetBurn"):
        run(tmp_path, promtool, series, [alerts("ErrorBudgetBurn", "critical", "124m", AVAILABILITY)])


# -- latency ------------------------------------------------------------------------------------------------------

def histogram(threshold: str, slow_from: int, minutes: int) -> dict[str, str]:
    """Return 60 operations a minute, all within 0.25 s until `slow_from`, all slower than 1 s after it."""
    fast, slow = (slow_from, 60), (minutes - slow_from, 0)
    every = counter((slow_from, 60), (minutes - slow_from, 60))
    bucket = "shop_operation_duration_seconds_bucket"
    return {f'{bucket}{{le="0.25"}}': counter(fast, slow), f'{bucket}{{le="{threshold}"}}': counter(fast, slow),
            f'{bucket}{{le="+Inf"}}': every, "shop_operation_duration_seconds_count": every}


# prometheus_client and Prometheus 3 write le="1.0", Go clients le="1": both are the 1 s bucket.
@pytest.mark.parametrize(("seconds", "le"), [(0.5, "0.5"), (1.0, "1.0"), (1.0, "1")])
def test_slow_operations_burn_the_latency_budget(tmp_path: Path, promtool: str, seconds: float, le: str) -> None:
    # From minute 120 every operation is slower than the threshold; the budget is 1 %. The slow-operation rates
    # 0.2, 0.4, ..., 1, 1, ... sum over k minutes to 3 + (k - 5). The 6 h window holds all 2 h of history,
    # where the operation rates sum to 2 + 116 + k: at k = 10, 8 / 128 = 0.0625 > 0.06 (6x), and the 30 m ratio
    # 8 / 31 agrees: pending at 130, firing at 132 (the 1 h ratio passes 0.144 one minute later: 9 / 61).
    # Before, the SLI is 1 and nothing fires.
    contract = ModuleContract("shop", "Shop", ScrapeTarget(9990), standard_metrics("shop"),
                              objectives=Objectives(latency_seconds=seconds, latency_target=0.99))
    run(tmp_path, promtool, histogram(le, 120, 180), [
        check(micro(recorded(slo.SLI, LATENCY)), "120m", (LATENCY, 1)),
        check(micro(recorded(slo.error_ratio_series("5m"), LATENCY)), "125m", (LATENCY, 1)),
        check(micro(recorded(slo.error_ratio_series("6h"), LATENCY)), "130m", (LATENCY, 0.0625)),
        alerts("LatencyBudgetBurn", "critical", "131m"),
        alerts("LatencyBudgetBurn", "critical", "132m", LATENCY),
        # No error series at all: the availability SLO has no value, and the latency burn is not an error burn.
        never("ErrorBudgetBurn", "critical", "180m", "3h"),
    ], contract=contract)


def test_the_latency_sli_counts_the_threshold_bucket(tmp_path: Path, promtool: str) -> None:
    # 54 of 60 operations a minute within 0.5 s: the latency SLI is 0.9, burning the 1 % budget at 10.
    bucket = "shop_operation_duration_seconds_bucket"
    series = {f'{bucket}{{le="0.25"}}': counter((120, 30)), f'{bucket}{{le="0.5"}}': counter((120, 54)),
              f'{bucket}{{le="+Inf"}}': counter((120, 60)), "shop_operation_duration_seconds_count": counter((120, 60))}
    run(tmp_path, promtool, series, [
        check(micro(recorded(slo.SLI, LATENCY)), "120m", (LATENCY, 0.9)),
        check(micro(recorded(slo.BURN_RATE, LATENCY)), "120m", (LATENCY, 10)),
    ])


# -- windows, factors and refusals --------------------------------------------------------------------------------

def thresholds(contract: ModuleContract) -> list[tuple[str, str, str, float, float]]:
    """Return (severity, long, short, factor, error-ratio threshold) of the availability alerts."""
    spec = slo.slo_spec(contract)
    (sli,) = (s for s in spec.slis if s.kind == "availability")
    return [(a.severity, a.long, a.short, float(a.factor), float(a.factor * sli.budget)) for a in spec.alerts]


def objectives(**goals: Any) -> ModuleContract:
    """Return the shop module with other objectives."""
    return ModuleContract("shop", "Shop", ScrapeTarget(9990), standard_metrics("shop"), objectives=Objectives(**goals))


def test_burn_factors_match_the_workbook() -> None:
    # 2 % of a 30-day budget in 1 h: 0.02 * 720 = 14.4; 5 % in 6 h: 0.05 * 120 = 6; 10 % in 3 d: 0.1 * 10 = 1.
    assert thresholds(objectives(availability=0.999, slo_window="30d")) == [
        ("critical", "1h", "5m", 14.4, 0.0144), ("critical", "6h", "30m", 6.0, 0.006),
        ("warning", "3d", "6h", 1.0, 0.001)]
    # 28 days: 0.02 * 672 = 13.44, 0.05 * 112 = 5.6, 0.1 * 28 / 3 = 0.9333; a 1 % budget.
    assert thresholds(objectives(availability=0.99, slo_window="4w")) == [
        ("critical", "1h", "5m", 13.44, 0.1344), ("critical", "6h", "30m", 5.6, 0.056),
        ("warning", "3d", "6h", float(Fraction(28, 30)), float(Fraction(28, 3000)))]
    expr = next(r.expr for r in slo.alert_rules(slo.slo_spec(objectives(availability=0.99, slo_window="28d"))))
    assert "> 0.1344 and" in expr and "> 0.056 and" in expr
    assert slo.slo_spec(objectives(slo_window="4w")).window == "28d"


def test_each_window_is_recorded_once_and_the_short_windows_are_a_twelfth() -> None:
    assert slo.slo_spec(SHOP).ratio_windows() == ("5m", "30m", "1h", "6h", "3d", "30d")
    assert slo.slo_spec(objectives(slo_window="3d")).ratio_windows() == ("5m", "30m", "1h", "6h", "3d")
    assert [(p.long, p.short) for p in slo.POLICIES] == [("1h", "5m"), ("6h", "30m"), ("3d", "6h")]


@pytest.mark.parametrize(("goals", "message"), [
    ({"availability": 1.0}, "objectives.availability=1 cannot be measured: a share of 100% leaves no error budget"),
    ({"availability": 0}, "objectives.availability=0 cannot be measured"),
    ({"availability": -0.5}, "objectives.availability=-0.5 cannot be measured"),
    ({"availability": float("nan")}, "availability must be a finite number"),
    ({"latency_target": 1}, "objectives.latency_target=1 cannot be measured"),
    ({"latency_seconds": 0.3}, "objectives.latency_seconds=0.3 cannot be measured: the latency SLI reads the bucket"),
    ({"latency_seconds": 20}, "objectives.latency_seconds=20 cannot be measured: it is above the largest finite"),
    ({"slo_window": "30 days"}, "objectives.slo_window='30 days' is not a duration"),
    ({"slo_window": "0d"}, "objectives.slo_window='0d' is empty"),
    ({"slo_window": "2d"}, "objectives.slo_window='2d' cannot be measured: it is shorter than the 3d window"),
    ({"availability": 0.8}, "objectives.availability=0.8 cannot be measured: its error budget is 0.2"),
    ({"latency_target": 0.5}, "objectives.latency_target=0.5 cannot be measured: its error budget is 0.5"),
])
def test_unmeasurable_objectives_are_refused(goals: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as refused:
        slo.slo_spec(objectives(**goals))
    assert message in str(refused.value)


def test_each_refusal_has_a_broken_module_in_the_corpus() -> None:
    # tests/test_failures.py builds each: one error line naming the module file, nothing written.
    corpus = {path.stem: expectations(path).expected
              for path in (REPO / "tests" / "broken_modules").glob("slo_*.py")}
    kinds = {"availability_100_percent", "availability_zero", "latency_target_100_percent", "latency_not_a_bucket",
             "latency_above_largest_bucket", "window_shorter_than_alert_window", "window_not_a_duration",
             "availability_too_loose_to_page"}
    assert {f"slo_{kind}" for kind in kinds} <= corpus.keys()
    for expected in corpus.values():
        assert "dashboards/broken.py" in expected
        assert any(("cannot be measured" in line or "is not a duration" in line) for line in expected)


def test_a_custom_histogram_needs_the_threshold_among_its_buckets() -> None:
    from moddash.contract import HISTOGRAM, Metric

    metrics = [m for m in standard_metrics("shop") if m.name != "shop_operation_duration_seconds"]
    custom = Metric("shop_operation_duration_seconds", HISTOGRAM, "Duration.", ("operation",), "s",
                    buckets=(0.1, 0.3, 2))
    contract = ModuleContract("shop", "Shop", ScrapeTarget(9990), (*metrics, custom),
                              objectives=Objectives(p95_seconds=0.3, latency_seconds=0.3))
    assert contract.latency_bucket() == 0.3
    with pytest.raises(ValueError, match=r"latency_seconds=1 cannot be measured.*finite bounds: 0\.1, 0\.3, 2"):
        ModuleContract("shop", "Shop", ScrapeTarget(9990), (*metrics, custom),
                       objectives=Objectives(p95_seconds=0.3, latency_seconds=1))


def test_a_module_without_the_metrics_has_no_slo() -> None:
    from moddash.contract import COUNTER, Metric

    bare = ModuleContract("bare", "Bare", ScrapeTarget(9991), (Metric("bare_jobs_total", COUNTER, "Jobs."),))
    assert slo.slo_spec(bare).slis == ()
    assert slo_rules_file(bare) is None and slo_row(bare) is None


# -- the rule file and the dashboards ----------------------------------------------------------------------------

def test_every_rule_reads_raw_series_or_rules_above_it_in_its_group() -> None:
    rules = slo_rules_file(SHOP)
    assert rules is not None
    (group,) = rules["groups"]
    assert group["interval"] == "1m"
    seen: set[str] = set()
    for rule in group["rules"]:
        recorded_names = {name for name in selected_series(rule["expr"]) if ":" in name}
        assert recorded_names <= seen, rule
        if "record" in rule:
            seen.add(rule["record"])
    kinds = [rule.get("alert") for rule in group["rules"] if "alert" in rule]
    assert kinds == ["ShopErrorBudgetBurn", "ShopErrorBudgetBurn", "ShopLatencyBudgetBurn", "ShopLatencyBudgetBurn"]
    for rule in group["rules"]:
        if "alert" in rule:
            assert rule["labels"] == {"severity": rule["labels"]["severity"], "module": "shop"}
            assert set(rule["annotations"]) == {"summary", "description", "runbook_url"}


def test_generated_slo_files_pass_promtool_and_feed_every_slo_panel(tmp_path: Path, promtool: str) -> None:
    modules = discover(REPO)
    records: set[str] = set()
    for module in modules:
        path = REPO / slo_rules_path(module.contract)
        content = slo_rules_file(module.contract)
        assert content is not None
        assert path.read_bytes() == dump_yaml(content)
        result = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True,
                                timeout=60, check=False)
        assert result.returncode == 0, result.stdout + result.stderr
        written = {rule["record"] for group in yaml.safe_load(path.read_text())["groups"]
                   for rule in group["rules"] if "record" in rule}
        assert written == slo.recorded_series(slo.slo_spec(module.contract))
        records |= written
    # The SLO panels (each module's SLO row, the overview's SLO columns) read only series the SLO files record.
    overview = build_overview([(m.contract, m.dashboard) for m in modules])
    panels = [p for m in modules for p in module_spec(m).rows[-1].panels] + [
        p for row in overview.rows for p in row.panels if any(":slo_" in t.expr for t in p.targets)]
    assert len(panels) == 6 * len(modules) + 4
    for panel in panels:
        for target in panel.targets:
            assert selected_series(target.expr) <= records, (panel.title, target.expr)


def test_each_module_dashboard_ends_with_its_slo_row() -> None:
    for module in discover(REPO):
        spec = slo.slo_spec(module.contract)
        row = module_spec(module).rows[-1]
        assert row.title == f"Service level objectives ({spec.window})"
        assert [p.unit for p in row.panels] == ["percentunit", "none", "percentunit"] * 2
        assert all(p.description and len(p.thresholds) > 1 for p in row.panels)
        assert all(f'module="{module.contract.slug}"' in t.expr for p in row.panels for t in p.targets)
