"""From a checked build in memory to files on disk: recover, refuse foreign files, apply as one transaction."""

from __future__ import annotations

from pathlib import Path

import attrs

from dashbuild.errors import BuildFailed
from dashbuild.foreign import dashboard_clashes, foreign_overwrites, output_sources
from dashbuild.manifest import read_manifest
from dashbuild.pipeline import BuildResult
from dashbuild.repair import prove_generated
from dashbuild.transaction import ApplyError, WriteReport, apply_plan, discard_journal, plan_changes, recover


@attrs.frozen
class Applied:
    """What applying a build did: the write report, steps of an interrupted build it completed, notes."""

    report: WriteReport
    recovered: int = 0
    warnings: tuple[str, ...] = ()
    hand_made: tuple[str, ...] = ()


def apply_build(root: Path, result: BuildResult, repair: bool = False) -> Applied:
    """Write `result` under `root` (the caller holds the build lock).

    Raises ManifestError for a damaged manifest (unless `repair`), BuildFailed when the build would
    overwrite a file it did not generate or a hand-made dashboard clashes with a generated one, and
    ApplyError when the disk refuses (nothing is changed then).
    """
    try:
        recovered = recover(root)
    except ApplyError:
        if not repair:
            raise
        discard_journal(root)
        recovered = 0
    hand_made: tuple[str, ...] = ()
    if repair:
        proof = prove_generated(root, result.files)
        previous, hand_made = proof.manifest, proof.hand_made
    else:
        previous = read_manifest(root)
    sources = output_sources(result.files, result.identities)
    errors = foreign_overwrites(root, result.files, previous, sources)
    clashes, warnings = dashboard_clashes(root, result.files, previous, result.identities)
    if errors or clashes:
        raise BuildFailed([*errors, *clashes])
    report = apply_plan(root, plan_changes(root, result.files, previous, result.read_from_disk))
    return Applied(report, recovered, tuple(warnings), hand_made)
