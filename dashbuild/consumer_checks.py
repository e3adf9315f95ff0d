"""promtool and amtool on the files Prometheus and Alertmanager read, run beside the rest of the build.

The Prometheus and Alertmanager files depend on the contracts and the settings only, so they are ready before any
dashboard is compiled. Their checks are processes of their own: started in a thread as soon as the files exist,
they use another core while this process compiles, validates and lints the dashboards (issue 16). A build that
fails before it needs their answer stops them.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path

import attrs

from dashbuild.alertmanager import CONFIG_FILE as ALERTMANAGER_CONFIG
from dashbuild.alertmanager import required_version
from dashbuild.amtool_check import AmtoolOutcome, check_alertmanager_config
from dashbuild.errors import BuildError, BuildFailed
from dashbuild.promtool_check import PromtoolOutcome, check_prometheus_tree, previously_generated
from dashbuild.tool_passes import ToolPasses
from dashbuild.tool_run import stop_running_tools
from panels.settings import Alerting


@attrs.frozen
class ConsumerOutcome:
    """What promtool and amtool said: errors, and notes said once per build."""

    errors: tuple[BuildError, ...]
    notes: tuple[str, ...]


def check_consumer_files(root: Path, files: Mapping[str, bytes], sources: Mapping[str, str], alerting: Alerting,
                         passes: ToolPasses | None) -> ConsumerOutcome:
    """Run promtool on the Prometheus tree and amtool on the Alertmanager config of `files` (`sources`: the module
    file behind each generated rule file)."""
    promtool: PromtoolOutcome = check_prometheus_tree(root, files, sources,
                                                      generated_before=previously_generated(root), passes=passes)
    amtool: AmtoolOutcome = check_alertmanager_config(files[ALERTMANAGER_CONFIG], requires=required_version(alerting),
                                                      passes=passes)
    return ConsumerOutcome((*promtool.errors, *amtool.errors), (*promtool.notes, *amtool.notes))


class BackgroundChecks:
    """`check_consumer_files` in a thread of its own, started at once."""

    def __init__(self, root: Path, files: Mapping[str, bytes], sources: Mapping[str, str], alerting: Alerting,
                 passes: ToolPasses | None) -> None:
        self._outcome: ConsumerOutcome | None = None
        self._error: BaseException | None = None

        def run() -> None:
            try:
                self._outcome = check_consumer_files(root, files, sources, alerting, passes)
            except BaseException as error:  # re-raised in the building thread by outcome()
                self._error = error

        self._thread = threading.Thread(target=run, name="consumer-checks", daemon=True)
        self._thread.start()

    def outcome(self) -> ConsumerOutcome:
        """Wait for the checks; return what they said, or raise what they raised."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._outcome is not None
        return self._outcome

    def stop(self) -> None:
        """Stop the checks (the build failed before it needed them) and wait until they have ended."""
        while self._thread.is_alive():
            stop_running_tools()  # also one the thread starts after a previous call
            self._thread.join(0.05)


def raise_on_errors(outcome: ConsumerOutcome) -> None:
    """Raise BuildFailed with the tools' errors, if any."""
    if outcome.errors:
        raise BuildFailed(list(outcome.errors))
