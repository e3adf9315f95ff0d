"""Output stages: each a function of the build's inputs; the pipeline writes their union, nothing else."""

from __future__ import annotations

import pytest

from dashbuild.outputs import OUTPUTS, BuildInputs, Output, render_outputs
from dashbuild.pipeline import build, compile_checked
from dashbuild.settings import load_settings
from dashbuild.transaction import OUTPUT_AREAS
from tests.conftest import REPO


@pytest.fixture(scope="module")
def inputs() -> BuildInputs:
    """Return the repository's checked build inputs."""
    modules, dashboards = compile_checked(REPO)
    return BuildInputs(load_settings(REPO), tuple(modules), tuple(dashboards))


def test_the_build_writes_exactly_what_the_stages_render(inputs: BuildInputs) -> None:
    rendered = render_outputs(inputs)
    assert rendered == build(REPO).files
    by_stage = {output.name: set(output.render(inputs)) for output in OUTPUTS}
    assert all(by_stage.values()), by_stage
    assert sum(len(paths) for paths in by_stage.values()) == len(rendered)  # no path written by two stages


def test_a_new_stage_is_one_entry(inputs: BuildInputs) -> None:
    extra = Output("notes", lambda given: {"notes/modules.txt": "\n".join(m.contract.name for m in given.modules)
                                           .encode()})
    rendered = render_outputs(inputs, (*OUTPUTS, extra))
    assert rendered["notes/modules.txt"] == b"llm_provider\nprompt_manager\nprompt_security"


def test_every_stage_writes_inside_an_output_area(inputs: BuildInputs) -> None:
    # Hand-made files and a killed build's temps are looked for in these folders (no-change path, --repair):
    # a stage writing into a new top-level folder adds it to transaction.OUTPUT_AREAS.
    outside = {path for path in render_outputs(inputs) if path.partition("/")[0] not in OUTPUT_AREAS}
    assert not outside


def test_two_stages_writing_one_path_is_refused(inputs: BuildInputs) -> None:
    clash = Output("clash", lambda _given: {"prometheus/prometheus.yml": b"{}"})
    with pytest.raises(ValueError, match=r"outputs 'prometheus' and 'clash' both write prometheus/prometheus\.yml"):
        render_outputs(inputs, (*OUTPUTS, clash))
