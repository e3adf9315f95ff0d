"""The build as one transaction: I/O faults change nothing, foreign files are never touched, one build at a time.

Faults are real: a read-only bind mount and a small tmpfs in a private mount namespace (as root, which CI
is), a file-size limit (RLIMIT_FSIZE), an immutable file (`chattr +i`), and a real `flock` holder.
The crash test (SIGKILL at random moments) is in tests/test_crash.py.
"""

from __future__ import annotations

import fcntl
import json
import os
import resource
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from dashbuild.lock import LOCK
from dashbuild.manifest import MANIFEST
from dashbuild.transaction import JOURNAL
from tests.conftest import BuildRunner, run_build, snapshot

IS_ROOT = os.geteuid() == 0


def retitle(root: Path, new_title: str = "Prompt Manager Renamed") -> None:
    """Change a module's title: its dashboard, its alert rules and the overview all change."""
    path = root / "dashboards" / "prompt_manager.py"
    text = path.read_text()
    assert 'title="Prompt Manager"' in text
    path.write_text(text.replace('title="Prompt Manager"', f'title="{new_title}"'))


def error_lines(stderr: str) -> list[str]:
    """Return the `error: ` lines of a run's stderr."""
    return [line for line in stderr.splitlines() if line.startswith("error: ")]


def assert_clean_failure(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    """One error line containing every fragment, exit 1, no traceback."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = error_lines(result.stderr)
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def in_namespace(root: Path, setup: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `setup` then `python build.py ARGS` in a private mount namespace (mounts vanish with it)."""
    command = f"{setup} && exec {sys.executable} {root / 'build.py'} {' '.join(args)}"
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-ec", command], cwd=root,
                          env=env, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.skipif(not IS_ROOT, reason="a read-only bind mount needs root (CI runs as root)")
@pytest.mark.parametrize("folder", ["provisioning/dashboards", "prometheus/rules", "prometheus"])
def test_read_only_folder_changes_nothing(repo_copy: Path, folder: str) -> None:
    retitle(repo_copy)
    before = snapshot(repo_copy)
    result = in_namespace(repo_copy, f"mount --bind {folder} {folder} && mount -o remount,ro,bind {folder}")
    assert_clean_failure(result, folder + "/", "read-only file system")
    assert "no file was changed" in result.stderr
    assert snapshot(repo_copy) == before
    assert not (repo_copy / JOURNAL).exists()


@pytest.mark.skipif(IS_ROOT, reason="root ignores permission bits; the read-only mount test covers root")
def test_folder_without_write_permission_changes_nothing(repo_copy: Path, build_cli: BuildRunner) -> None:
    retitle(repo_copy)
    before = snapshot(repo_copy)
    folder = repo_copy / "provisioning" / "dashboards"
    folder.chmod(0o555)
    try:
        result = build_cli(repo_copy)
    finally:
        folder.chmod(0o755)
    assert_clean_failure(result, "provisioning/dashboards/", "permission denied")
    assert snapshot(repo_copy) == before


def _used_bytes(folder: Path) -> int:
    return sum(-(-p.stat().st_size // 4096) * 4096 for p in folder.rglob("*") if p.is_file())


@pytest.mark.skipif(not IS_ROOT, reason="mounting a tmpfs needs root (CI runs as root)")
def test_full_filesystem_changes_nothing(repo_copy: Path) -> None:
    retitle(repo_copy)
    before = snapshot(repo_copy)
    folder = "provisioning/dashboards"
    size = _used_bytes(repo_copy / folder) + 16384  # the old files fit; old and new together do not
    saved = repo_copy.parent / "saved"
    shutil.copytree(repo_copy / folder, saved)
    setup = f"mount -t tmpfs -o size={size} tmpfs {folder} && cp -a {saved}/. {folder}/"
    result = in_namespace(repo_copy, setup)
    assert_clean_failure(result, folder + "/")
    assert "no space left on device" in result.stderr or "not enough free space" in result.stderr
    assert snapshot(repo_copy) == before


@pytest.mark.parametrize(("limit", "fragments"), [
    # Every Prometheus file fits, the dashboards do not: staged files must be cleaned up.
    (16384, ("provisioning/dashboards/", "file too large")),
    # Even the temp copy for promtool does not fit (a full TMPDIR): one line, before anything is staged.
    (4096, ("cannot be checked by promtool: temp folder: file too large", "TMPDIR")),
], ids=["mid-staging", "promtool-temp-folder"])
def test_file_size_limit_changes_nothing(repo_copy: Path, limit: int, fragments: tuple[str, ...]) -> None:
    retitle(repo_copy)
    before = snapshot(repo_copy)

    def limit_file_size() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run([sys.executable, str(repo_copy / "build.py")], cwd=repo_copy, env=env, text=True,
                            capture_output=True, timeout=120, check=False, preexec_fn=limit_file_size)
    assert_clean_failure(result, *fragments)
    assert snapshot(repo_copy) == before
    assert not [p for p in repo_copy.rglob(".*dashbuild-*")], "staged files left behind"


@pytest.fixture
def immutable(repo_copy: Path) -> Iterator[Path]:
    """Make one generated dashboard immutable (`chattr +i`): renaming over it fails with EPERM."""
    target = repo_copy / "provisioning" / "dashboards" / "prompt-manager.json"
    if shutil.which("chattr") is None or not IS_ROOT:
        pytest.skip("chattr +i needs root and e2fsprogs")
    done = subprocess.run(["chattr", "+i", str(target)], capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"this filesystem has no immutable flag: {done.stderr.decode().strip()}")
    try:
        yield target
    finally:
        subprocess.run(["chattr", "-i", str(target)], check=True)


def test_failed_rename_restores_every_replaced_file(repo_copy: Path, immutable: Path, build_cli: BuildRunner) -> None:
    retitle(repo_copy)  # the alert rules (renamed before the dashboards, in path order) change too
    before = snapshot(repo_copy)
    result = build_cli(repo_copy)
    assert_clean_failure(result, "provisioning/dashboards/prompt-manager.json", "operation not permitted")
    assert snapshot(repo_copy) == before
    assert not (repo_copy / JOURNAL).exists()
    assert not [p for p in repo_copy.rglob(".*dashbuild-*")]


def test_hand_made_file_at_an_output_path_is_never_overwritten(repo_copy: Path, build_cli: BuildRunner) -> None:
    source = (repo_copy / "dashboards" / "prompt_security.py").read_text()
    billing = source.replace("prompt_security", "billing").replace("Prompt Security", "Billing").replace(
        "8001", "8011")
    (repo_copy / "dashboards" / "billing.py").write_text(billing)
    hand_made = repo_copy / "provisioning" / "dashboards" / "billing.json"
    hand_made.write_text('{"title": "Billing (hand-made)", "uid": "billing-hand"}\n')
    before = snapshot(repo_copy)
    result = build_cli(repo_copy)
    assert_clean_failure(result, "provisioning/dashboards/billing.json", "dashboards/billing.py", "not generated")
    assert snapshot(repo_copy) == before


def test_hand_made_prometheus_config_is_never_overwritten(repo_copy: Path, build_cli: BuildRunner) -> None:
    manifest = json.loads((repo_copy / MANIFEST).read_text())
    del manifest["files"]["prometheus/prometheus.yml"]
    (repo_copy / MANIFEST).write_text(json.dumps(manifest))
    (repo_copy / "prometheus" / "prometheus.yml").write_text("global: {scrape_interval: 1m}\n")
    before = snapshot(repo_copy)
    result = build_cli(repo_copy)
    assert_clean_failure(result, "prometheus/prometheus.yml", "not generated", "--repair")
    assert snapshot(repo_copy) == before


def test_identical_file_missing_from_the_manifest_is_adopted(repo_copy: Path, build_cli: BuildRunner) -> None:
    (repo_copy / MANIFEST).unlink()
    result = build_cli(repo_copy)
    assert result.returncode == 0, result.stderr
    assert "0 written" in result.stdout
    assert build_cli(repo_copy, "--check").returncode == 0


@pytest.mark.parametrize(("hand_made", "fragment"), [
    ({"uid": "prompt-manager", "title": "My own"}, "uid 'prompt-manager'"),
    ({"uid": "mine", "title": "prompt manager  dashboard"}, "same slug"),
    ({"uid": "mine", "title": "Trainer Modules  Overview!"}, "same slug"),
], ids=["uid", "title-slug", "overview-slug"])
@pytest.mark.parametrize("where", ["hand.json", "team/nested/hand.json"])
def test_hand_made_dashboard_clashing_with_a_generated_one(repo_copy: Path, build_cli: BuildRunner,
                                                           hand_made: dict[str, str], fragment: str,
                                                           where: str) -> None:
    path = repo_copy / "provisioning" / "dashboards" / where
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(hand_made))
    retitle(repo_copy, "Prompt Manager")  # no change: the clash alone must fail the build
    before = snapshot(repo_copy)
    result = build_cli(repo_copy)
    assert_clean_failure(result, f"provisioning/dashboards/{where}", fragment, "provisioning/dashboards/")
    assert snapshot(repo_copy) == before


def test_hand_made_dashboards_that_do_not_clash_are_left_alone(repo_copy: Path, build_cli: BuildRunner) -> None:
    folder = repo_copy / "provisioning" / "dashboards"
    (folder / "team.json").write_text('{"uid": "team", "title": "Team board"}\n')
    (folder / "broken.json").write_text("<<<<<<< HEAD\n{}\n")
    (folder / ".hidden").mkdir()
    (folder / ".hidden" / "x.json").write_text('{"uid": "prompt-manager", "title": "ignored by Grafana"}\n')
    retitle(repo_copy)
    result = build_cli(repo_copy)
    assert result.returncode == 0, result.stderr
    assert "warning: provisioning/dashboards/broken.json" in result.stderr
    assert (folder / "team.json").read_text() == '{"uid": "team", "title": "Team board"}\n'
    assert (folder / "broken.json").read_text() == "<<<<<<< HEAD\n{}\n"


DAMAGED = {
    "conflict": ('<<<<<<< HEAD\n{"files": {}, "generator": "python build.py"}\n=======\n{}\n>>>>>>> main\n',
                 "merge conflict markers"),
    "truncated": ('{"files": {"prometheus/prometheus.yml": "ab', "not valid JSON"),
    "empty": ("", "not valid JSON"),
    "wrong-shape": ('["prometheus/prometheus.yml"]\n', "not a manifest"),
    "outside": ('{"files": {"../../etc/hosts": "' + "0" * 64 + '"}, "generator": "python build.py"}\n',
                "not a path inside the repository"),
    "bad-hash": ('{"files": {"prometheus/prometheus.yml": "xyz"}, "generator": "python build.py"}\n',
                 "no valid SHA-256"),
    "binary": ("\udcff\udcfe", "not UTF-8"),
}


@pytest.mark.parametrize("kind", sorted(DAMAGED))
def test_damaged_manifest_is_an_error_with_the_fix(repo_copy: Path, build_cli: BuildRunner, kind: str) -> None:
    text, fragment = DAMAGED[kind]
    (repo_copy / MANIFEST).write_bytes(text.encode("utf-8", "surrogateescape"))
    retitle(repo_copy)
    before = snapshot(repo_copy)
    for args in ((), ("--check",)):
        result = build_cli(repo_copy, *args)
        assert_clean_failure(result, MANIFEST, fragment, "git checkout --theirs", "--repair")
        assert snapshot(repo_copy) == before


def test_repair_proves_generated_files_and_keeps_hand_made_ones(repo_copy: Path, build_cli: BuildRunner) -> None:
    good = (repo_copy / MANIFEST).read_text()
    orphan = repo_copy / "prometheus" / "rules" / "retired.alerts.yml"
    orphan.write_text("groups: []\n")
    theirs = json.loads(good)
    theirs["files"]["prometheus/rules/retired.alerts.yml"] = __import__("hashlib").sha256(b"groups: []\n").hexdigest()
    (repo_copy / MANIFEST).write_text(f"<<<<<<< HEAD\n{good}=======\n{json.dumps(theirs, indent=2)}\n>>>>>>> x\n")
    hand_made = repo_copy / "prometheus" / "rules" / "team.yml"
    hand_made.write_text("groups: []\n# ours, by hand\n")
    result = build_cli(repo_copy, "--repair")
    assert result.returncode == 0, result.stderr
    assert "prometheus/rules/team.yml" in result.stdout
    assert "removed: prometheus/rules/retired.alerts.yml" in result.stdout
    assert not orphan.exists()
    assert hand_made.read_text() == "groups: []\n# ours, by hand\n"
    assert (repo_copy / MANIFEST).read_text() == good
    assert build_cli(repo_copy, "--check").returncode == 0


def test_repair_reads_the_manifest_history_in_git(repo_copy: Path, build_cli: BuildRunner) -> None:
    if shutil.which("git") is None:
        pytest.fail("git is needed for --repair's history")
    git = ["git", "-C", str(repo_copy), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "generated"], check=True)
    (repo_copy / "dashboards" / "prompt_security.py").unlink()
    (repo_copy / MANIFEST).write_text("garbage\n")
    result = build_cli(repo_copy, "--repair")
    assert result.returncode == 0, result.stderr
    assert "removed: provisioning/dashboards/prompt-security.json" in result.stdout
    assert "removed: prometheus/rules/prompt-security.alerts.yml" in result.stdout
    assert build_cli(repo_copy, "--check").returncode == 0


def test_leftover_temp_files_are_not_fresh_and_the_next_build_removes_them(repo_copy: Path,
                                                                           build_cli: BuildRunner) -> None:
    temps = [repo_copy / "provisioning" / "dashboards" / ".prompt-manager.json.dashbuild-0123456789ab.tmp",
             repo_copy / ".build-manifest.json.dashbuild-0123456789ab.tmp",
             repo_copy / "prometheus" / "rules" / ".x.yml.dashbuild-abcdef012345.bak"]
    for temp in temps:
        temp.write_text("half")
    check = build_cli(repo_copy, "--check")
    assert check.returncode == 1
    assert "left by an interrupted build: provisioning/dashboards/.prompt-manager.json" in check.stderr
    assert build_cli(repo_copy).returncode == 0
    assert not any(temp.exists() for temp in temps)
    assert build_cli(repo_copy, "--check").returncode == 0


def test_damaged_journal_asks_for_repair(repo_copy: Path, build_cli: BuildRunner) -> None:
    (repo_copy / JOURNAL).write_text('{"mode": "forward", "steps": [{"action": "remove", "path": "/etc/hosts"}]}')
    result = build_cli(repo_copy)
    assert_clean_failure(result, JOURNAL, "--repair")
    assert build_cli(repo_copy, "--check").returncode == 1
    assert build_cli(repo_copy, "--repair").returncode == 0
    assert not (repo_copy / JOURNAL).exists()
    assert build_cli(repo_copy, "--check").returncode == 0


@pytest.fixture
def lock_held(repo_copy: Path) -> Iterator[Path]:
    """Hold the repository's build lock from this process, as a running build would."""
    with open(repo_copy / LOCK, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield repo_copy


def test_second_build_waits_then_fails_clearly(lock_held: Path, build_cli: BuildRunner) -> None:
    retitle(lock_held)
    before = snapshot(lock_held)
    result = build_cli(lock_held, "--lock-timeout", "1")
    assert_clean_failure(result, LOCK, "another build")
    assert snapshot(lock_held) == before
    check = build_cli(lock_held, "--check")  # needs no lock
    assert check.returncode == 1 and "stale: provisioning/dashboards/prompt-manager.json" in check.stderr


def test_builds_at_once_never_crash(repo_copy: Path) -> None:
    (repo_copy / "dashboards" / "prompt_security.py").unlink()  # each build would remove the same files
    retitle(repo_copy)
    results: list[subprocess.CompletedProcess[str]] = []
    threads = [threading.Thread(target=lambda: results.append(run_build(repo_copy, "--lock-timeout", "60")))
               for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.returncode for r in results] == [0, 0, 0], [r.stderr for r in results]
    assert sum("removed: provisioning/dashboards/prompt-security.json" in r.stdout for r in results) == 1
    assert run_build(repo_copy, "--check").returncode == 0


@pytest.mark.parametrize("root", ["no-such-checkout", "empty-folder", "a-file"])
def test_root_must_be_an_existing_project(tmp_path: Path, root: str) -> None:
    (tmp_path / "empty-folder").mkdir()
    (tmp_path / "a-file").write_text("x")
    from tests.conftest import REPO
    for args in ((), ("--check",), ("lint",)):
        result = subprocess.run([sys.executable, str(REPO / "build.py"), "--root", str(tmp_path / root), *args],
                                capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 2, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert result.stderr.startswith(f"error: --root {tmp_path / root}"), result.stderr
    assert not (tmp_path / "no-such-checkout").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "empty-folder"]


@pytest.mark.parametrize(("obstacle", "args", "fragment"), [
    (JOURNAL, (), f"{JOURNAL}: is damaged"),
    (JOURNAL, ("--repair",), f"{JOURNAL}: is a folder"),
    (MANIFEST, (), f"{MANIFEST}: cannot be read (is a directory)"),
    (MANIFEST, ("--repair",), f"{MANIFEST}: is a folder"),
    ("provisioning/dashboards/prompt-manager.json", (), "prompt-manager.json: is a folder"),
    ("prometheus/rules", (), "prometheus/rules/llm-provider.alerts.yml: not a directory"),
], ids=["journal-folder", "journal-folder-repair", "manifest-folder", "manifest-folder-repair", "output-folder",
        "rules-is-a-file"])
def test_something_in_the_way_is_one_clear_error(repo_copy: Path, build_cli: BuildRunner, obstacle: str,
                                                 args: tuple[str, ...], fragment: str) -> None:
    if "--repair" not in args:  # --repair could not prove a changed file ours without the manifest
        retitle(repo_copy)
    path = repo_copy / obstacle
    if path.is_dir():
        shutil.rmtree(path)
        path.write_text("a file where a folder belongs\n")
    else:
        path.unlink(missing_ok=True)
        path.mkdir()
        (path / "keep").write_text("x")
    before = snapshot(repo_copy)
    result = build_cli(repo_copy, *args)
    assert_clean_failure(result, fragment)
    assert snapshot(repo_copy) == before


@pytest.mark.parametrize("args", [("new-module", "billing_gateway", "--port", "8030"),
                                  ("import", "{corpus}/node-exporter__nodes.json")], ids=["new-module", "import"])
def test_a_module_file_the_disk_refuses_is_one_line_and_leaves_nothing(repo_copy: Path, args: tuple[str, ...]
                                                                       ) -> None:
    """Writing a new module file past the file-size limit: one line naming the file, no temp file left."""
    corpus = Path(__file__).parent / "corpus" / "dashboards"
    before = snapshot(repo_copy, ("dashboards", "provisioning", "prometheus"))

    def limit_file_size() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))

    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    command = [sys.executable, str(repo_copy / "build.py"), *(a.format(corpus=corpus) for a in args)]
    result = subprocess.run(command, cwd=repo_copy, env=env, text=True, capture_output=True, timeout=120,
                            check=False, preexec_fn=limit_file_size)
    assert_clean_failure(result, "dashboards/", "cannot be written: file too large; nothing was written")
    assert snapshot(repo_copy, ("dashboards", "provisioning", "prometheus")) == before
    assert not list((repo_copy / "dashboards").glob(".*.tmp")), "temp file left behind"


@pytest.mark.skipif(not IS_ROOT, reason="a read-only bind mount needs root (CI runs as root)")
def test_an_import_into_a_read_only_folder_is_one_line(repo_copy: Path) -> None:
    corpus = Path(__file__).parent / "corpus" / "dashboards"
    before = snapshot(repo_copy, ("dashboards",))
    result = in_namespace(repo_copy, "mount --bind dashboards dashboards && mount -o remount,ro,bind dashboards",
                          "import", str(corpus / "node-exporter__nodes.json"))
    assert_clean_failure(result, "dashboards/node.py", "read-only file system")
    assert snapshot(repo_copy, ("dashboards",)) == before
