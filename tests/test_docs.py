"""The README's quick start is what CI runs, its module example builds, and no command listens on every interface."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import REPO, BuildRunner


def shell_blocks(text: str) -> list[str]:
    """Return the contents of the ```sh blocks of a Markdown text."""
    return re.findall(r"```sh\n(.*?)```", text, flags=re.DOTALL)


def test_ci_runs_the_readme_test_command() -> None:
    build_command, test_command = (block.strip() for block in shell_blocks((REPO / "README.md").read_text())[:2])
    assert build_command.endswith("python build.py")
    assert "pytest" in test_command
    assert test_command in (REPO / ".ci" / "run").read_text().splitlines()


def test_readme_module_example_builds(repo_copy: Path, build_cli: BuildRunner) -> None:
    readme = (REPO / "README.md").read_text()
    (example,) = re.findall(r"```python\n# dashboards/billing_gateway.py\n(.*?)```", readme, flags=re.DOTALL)
    (repo_copy / "dashboards" / "billing_gateway.py").write_text(example)
    result = build_cli(repo_copy)
    assert result.returncode == 0, result.stderr
    assert (repo_copy / "provisioning" / "dashboards" / "billing-gateway.json").is_file()


def test_no_readme_command_listens_on_every_interface() -> None:
    # 0.0.0.0 would serve a module's cost and error data to the whole network; the prose may warn against it.
    blocks = re.findall(r"```[a-z]*\n(.*?)```", (REPO / "README.md").read_text(), flags=re.DOTALL)
    assert blocks
    assert not [line for block in blocks for line in block.splitlines() if "0.0.0.0" in line or "[::]" in line]
