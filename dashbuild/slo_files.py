"""SLO rule files: `prometheus/rules/<slug>.slo.yml` per module, from its objectives (rules/slo.py).

One group per module holds the SLI recording rules and, after them, the burn-rate alerts, so every rule
reads raw series or rules evaluated before it in the same evaluation. The group has its own interval
(rules/slo.py: EVALUATION_INTERVAL); alerts use the shape of the module's `.alerts.yml`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dashbuild.discover import ModuleFile
from dashbuild.errors import BuildError, BuildFailed
from dashbuild.files import dump_yaml
from dashbuild.prometheus import RULES_DIR
from moddash.contract.model import ModuleContract
from panels.settings import RUNBOOKS
from rules import slo


def slo_rules_path(contract: ModuleContract) -> str:
    """Return the repository-relative path of one module's SLO rule file."""
    return f"{RULES_DIR}/{contract.slug}.slo.yml"


def slo_rules_file(contract: ModuleContract, runbooks: str = RUNBOOKS) -> dict[str, Any] | None:
    """Return one module's SLO rule file, or None when its contract has no metric an SLO can be measured on."""
    spec = slo.slo_spec(contract)
    if not spec.slis:
        return None
    recording = [{"record": rule.record, "expr": rule.expr, **({"labels": dict(rule.labels)} if rule.labels else {})}
                 for rule in slo.recording_rules(spec)]
    alerts = [{
        "alert": rule.alert,
        "expr": rule.expr,
        "for": rule.for_,
        "labels": {"severity": rule.severity, "module": rule.module},
        "annotations": {"summary": rule.summary, "description": rule.description, "runbook_url": rule.runbook_url},
    } for rule in slo.alert_rules(spec, runbooks)]
    return {"groups": [{"name": f"{contract.slug}-slo", "interval": slo.EVALUATION_INTERVAL,
                        "rules": [*recording, *alerts]}]}


def slo_files(modules: Sequence[ModuleFile], runbooks: str = RUNBOOKS) -> dict[str, bytes]:
    """Return every module's SLO rule file by repository-relative path; raise BuildFailed naming the module file."""
    files: dict[str, bytes] = {}
    errors: list[BuildError] = []
    for module in modules:
        try:
            content = slo_rules_file(module.contract, runbooks)
            if content is not None:
                files[slo_rules_path(module.contract)] = dump_yaml(content)
        except ValueError as error:
            errors.append(BuildError(module.path, f"cannot write the SLO rules: {error}"))
    if errors:
        raise BuildFailed(errors)
    return files


def slo_sources(modules: Sequence[ModuleFile]) -> dict[str, str]:
    """Return each SLO rule file's module file, so that promtool findings name the file to edit."""
    return {slo_rules_path(module.contract): module.path for module in modules}
