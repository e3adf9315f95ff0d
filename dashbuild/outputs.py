"""The output stages: each a function of the build's inputs to {repository-relative path: bytes}.

Adding an output means writing its function (here, or in its own module for a larger one) and listing it in
OUTPUTS, plus its test; an output writing into a new top-level folder also lists that folder in
`transaction.OUTPUT_AREAS`, where hand-made files and leftover temps are looked for. The pipeline checks and
lints the inputs before any stage runs, and the consumers' tools (promtool, amtool) check the stages' files after.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import attrs

from dashbuild.alertmanager import alertmanager_files
from dashbuild.compiled import CompiledDashboard
from dashbuild.discover import ModuleFile
from dashbuild.errors import BuildError, BuildFailed
from dashbuild.files import dump_json
from dashbuild.prometheus import CONFIG_FILE, prometheus_files
from dashbuild.provisioning import DASHBOARDS_DIR, provisioning_files
from dashbuild.slo_files import slo_files
from panels.settings import ProjectSettings


@attrs.frozen
class BuildInputs:
    """What every output is made from: the settings, the registry of modules and the compiled dashboards."""

    settings: ProjectSettings
    modules: tuple[ModuleFile, ...]
    dashboards: tuple[CompiledDashboard, ...]


@attrs.frozen
class Output:
    """One output stage: a name for messages, and the function that renders its files."""

    name: str
    render: Callable[[BuildInputs], dict[str, bytes]]
    # Whether it reads the compiled dashboards; the others are rendered, and their consumers' checks started,
    # before the dashboards compile (pipeline._build).
    reads_dashboards: bool = False


def dashboard_path(dashboard: CompiledDashboard) -> str:
    """Return the repository-relative provisioning path of a dashboard."""
    return f"{DASHBOARDS_DIR}/{dashboard.filename}"


def dashboard_files(dashboards: Sequence[CompiledDashboard]) -> dict[str, bytes]:
    """Return each dashboard's JSON file; a value JSON cannot hold fails the build naming its module file."""
    # The checks refuse non-finite numbers first; this keeps any that slip through from being written.
    files = {}
    for d in dashboards:
        try:
            files[dashboard_path(d)] = dump_json(d.json)
        except ValueError as error:
            raise BuildFailed([BuildError(d.source, f"{d.filename} cannot be written as JSON: {error}")]) from error
    return files


def prometheus_tree_files(modules: Sequence[ModuleFile], runbooks: str) -> dict[str, bytes]:
    """Return prometheus.yml and the recording and alert rule files; a module that cannot be written is named."""
    try:
        return prometheus_files([m.contract for m in modules], runbooks=runbooks)
    except ValueError as error:
        # Name the module whose files alone fail, when there is one.
        culprit = next((m.path for m in modules if not _serialises(m)), CONFIG_FILE)
        raise BuildFailed([BuildError(culprit, f"cannot write the Prometheus files: {error}")]) from error


def _serialises(module: ModuleFile) -> bool:
    try:
        prometheus_files([module.contract])
    except ValueError:
        return False
    return True


OUTPUTS: tuple[Output, ...] = (
    Output("dashboards", lambda inputs: dashboard_files(inputs.dashboards), reads_dashboards=True),
    Output("provisioning", lambda _inputs: provisioning_files()),
    Output("prometheus", lambda inputs: prometheus_tree_files(inputs.modules, inputs.settings.runbooks)),
    Output("slo", lambda inputs: slo_files(inputs.modules, inputs.settings.runbooks)),
    Output("alertmanager", lambda inputs: alertmanager_files(inputs.settings.alerting)),
)


def render_outputs(inputs: BuildInputs, outputs: Sequence[Output] = OUTPUTS) -> dict[str, bytes]:
    """Return the files of every output stage; a path two stages both write is a bug, reported as such."""
    return merge_outputs([(output, output.render(inputs)) for output in outputs])


def merge_outputs(rendered: Sequence[tuple[Output, dict[str, bytes]]]) -> dict[str, bytes]:
    """Return the files of stages rendered apart, in the order given; a path two stages both write is a bug."""
    files: dict[str, bytes] = {}
    owners: dict[str, str] = {}
    for output, stage_files in rendered:
        for path, content in stage_files.items():
            if path in files:
                raise ValueError(f"outputs {owners[path]!r} and {output.name!r} both write {path}")
            files[path], owners[path] = content, output.name
    return files
