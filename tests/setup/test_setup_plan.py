"""Plans applied with a LocalRunner on files in a temporary directory (nothing else is touched)."""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path

import pytest

from lvstui.setup.plan import (
    CommandStep,
    FileStep,
    SetupPlan,
    Status,
    StepEvent,
    VerifyStep,
    read_journal,
    undo_journal,
)
from lvstui.setup.render import render_plain, render_result
from lvstui.setup.runner import LocalRunner, RunnerError, Script


def make_plan(tmp: Path, fail_at_end: bool = False) -> SetupPlan:
    conf = tmp / "etc" / "app.conf"
    flag = tmp / "flag"
    steps = [
        FileStep(str(conf), "a = 1\nb = 2\n", mode=0o640, owner="root", group="root"),
        CommandStep(f"create {flag}", ["touch", str(flag)], check=["test", "-e", str(flag)],
                    undo=[["rm", "-f", str(flag)]]),
        CommandStep("reload", Script(f"echo reloaded >> {shlex.quote(str(tmp / 'reloads'))}"),
                    check=["true"], also_after=("conf",)),
        VerifyStep("flag exists", ["test", "-e", str(flag)]),
    ]
    steps[0].key = "conf"
    if fail_at_end:
        steps.append(CommandStep("boom", Script("echo it broke >&2; exit 3")))
    return SetupPlan("unit", steps, state_dir=str(tmp / "state"))


def test_preview_shows_diff_and_commands(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "app.conf").write_text("a = 0\nb = 2\n")
    preview = make_plan(tmp_path).preview(LocalRunner("h1"))
    statuses = [s.status for s in preview.steps]
    assert statuses == [Status.CHANGE, Status.CHANGE, Status.CHANGE, Status.VERIFY]
    assert "-a = 0\n+a = 1\n" in preview.steps[0].diff and " b = 2\n" in preview.steps[0].diff
    assert preview.steps[1].commands == (f"touch {tmp_path}/flag",)
    text = render_plain(preview)
    assert "h1" in text and "+a = 1" in text and "touch" in text and "(3 changes)" in text
    assert not (tmp_path / "flag").exists()  # preview changed nothing


def test_apply_then_rerun_changes_nothing_then_undo(tmp_path: Path) -> None:
    runner = LocalRunner("h1")
    (tmp_path / "etc").mkdir()
    conf = tmp_path / "etc" / "app.conf"
    conf.write_text("old\n")
    events: list[StepEvent] = []
    result = make_plan(tmp_path).apply(runner, events.append)
    assert result.ok and result.changed == 3, render_result(result)
    assert conf.read_text() == "a = 1\nb = 2\n" and oct(conf.stat().st_mode & 0o777) == "0o640"
    assert (tmp_path / "reloads").read_text() == "reloaded\n"
    assert [e.status for e in events if e.index == 0] == [None, Status.CHANGED]
    assert len(read_journal(runner, "unit", str(tmp_path / "state"))) == 2

    again = make_plan(tmp_path).apply(runner)
    assert [r.status for r in again.reports] == [Status.NO_CHANGE] * 3 + [Status.VERIFIED]
    assert (tmp_path / "reloads").read_text() == "reloaded\n"  # no reload without a change
    assert all(s.status is not Status.CHANGE for s in make_plan(tmp_path).preview(runner).steps)

    undone = undo_journal(runner, "unit", state_dir=str(tmp_path / "state"))
    assert undone.ok and [r.status for r in undone.reports] == [Status.UNDONE] * 2
    assert conf.read_text() == "old\n" and not (tmp_path / "flag").exists()
    assert read_journal(runner, "unit", str(tmp_path / "state")) == []


def test_failure_midway_stops_and_restores(tmp_path: Path) -> None:
    runner = LocalRunner("h1")
    result = make_plan(tmp_path, fail_at_end=True).apply(runner)
    assert not result.ok and result.rolled_back
    failure = result.failure
    assert failure is not None and failure.title == "boom" and "it broke" in failure.output
    assert not (tmp_path / "etc" / "app.conf").exists() and not (tmp_path / "flag").exists()
    assert "boom" in render_result(result) and "it broke" in render_result(result)


def test_rollback_keeps_earlier_runs(tmp_path: Path) -> None:
    runner = LocalRunner("h1")
    assert make_plan(tmp_path).apply(runner).ok
    (tmp_path / "etc" / "app.conf").write_text("edited by hand\n")
    result = make_plan(tmp_path, fail_at_end=True).apply(runner)
    assert not result.ok and result.rolled_back
    assert (tmp_path / "etc" / "app.conf").read_text() == "edited by hand\n"
    journal = read_journal(runner, "unit", str(tmp_path / "state"))
    assert [e["title"] for e in journal] == [f"write {tmp_path}/etc/app.conf", f"create {tmp_path}/flag"]
    assert json.dumps(journal)


def test_failed_validation_leaves_file(tmp_path: Path) -> None:
    conf = tmp_path / "x.conf"
    conf.write_text("keep\n")
    step = FileStep(str(conf), "new\n", validate=("grep", "-q", "nomatch", "{}"))
    result = SetupPlan("unit", [step], state_dir=str(tmp_path / "s")).apply(LocalRunner())
    assert not result.ok and "checking the new" in (result.failure.message if result.failure else "")
    assert conf.read_text() == "keep\n" and sorted(p.name for p in tmp_path.iterdir()) == ["x.conf"]


def test_verify_failure_is_reported(tmp_path: Path) -> None:
    step = VerifyStep("port 1 listening", ["false"], attempts=2, delay=0.01)
    result = SetupPlan("unit", [step], state_dir=str(tmp_path)).apply(LocalRunner())
    assert not result.ok and result.failure is not None and result.failure.message == "exit 1"


def test_file_after_undo_runs_after_the_restore(tmp_path: Path) -> None:
    conf = tmp_path / "k.conf"
    conf.write_text("old\n")
    log = tmp_path / "log"
    reload = Script(f"cat {shlex.quote(str(conf))} >> {shlex.quote(str(log))}")
    step = FileStep(str(conf), "new\n", after_undo=(reload,))
    runner = LocalRunner()
    assert SetupPlan("unit", [step], state_dir=str(tmp_path / "s")).apply(runner).ok
    assert undo_journal(runner, "unit", state_dir=str(tmp_path / "s")).ok
    assert conf.read_text() == "old\n" and log.read_text() == "old\n"  # the reload saw the restored file


def test_failed_verification_keeps_the_changes(tmp_path: Path) -> None:
    flag = tmp_path / "flag"
    steps = [CommandStep("create flag", ["touch", str(flag)], check=["test", "-e", str(flag)],
                         undo=[["rm", "-f", str(flag)]]),
             VerifyStep("service answers", ["false"], attempts=1)]
    result = SetupPlan("unit", steps, state_dir=str(tmp_path / "s")).apply(LocalRunner("h1"))
    assert not result.ok and result.verify_failed and not result.rolled_back
    assert flag.exists()
    assert render_result(result).startswith("h1: FAILED at service answers (verification); the changes are kept")
    assert undo_journal(LocalRunner(), "unit", state_dir=str(tmp_path / "s")).ok and not flag.exists()


def test_a_change_that_does_not_stick_fails_and_is_rolled_back(tmp_path: Path) -> None:
    class Forgetful(LocalRunner):
        """Writes claim success but the file keeps its old content (like a read-only bind mount)."""

        def write_file(self, path: str, content: bytes, **kw: object) -> None:
            if path.endswith("app.conf"):
                return
            super().write_file(path, content, **kw)  # type: ignore[arg-type]

    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "app.conf").write_text("old\n")
    result = make_plan(tmp_path).apply(Forgetful("h1"))
    assert not result.ok and result.failure is not None
    assert result.failure.message == "applied, but the host does not show the change"
    assert (tmp_path / "etc" / "app.conf").read_text() == "old\n"


def _two_plans(tmp: Path) -> tuple[LocalRunner, Path]:
    runner, state = LocalRunner("h1"), tmp / "state"
    for name in ("unit", "other"):
        conf = tmp / f"{name}.conf"
        conf.write_text("old\n")
        assert SetupPlan(name, [FileStep(str(conf), "new\n")], state_dir=str(state)).apply(runner).ok
    assert sorted(p.name for p in (state / "backup").iterdir()) == ["other", "unit"]
    return runner, state


def test_undo_removes_its_backups_and_the_state_dir_only_when_empty(tmp_path: Path) -> None:
    runner, state = _two_plans(tmp_path)
    assert undo_journal(runner, "unit", state_dir=str(state)).ok
    assert sorted(p.name for p in (state / "backup").iterdir()) == ["other"]  # the other plan's stay
    assert read_journal(runner, "other", str(state)) != []
    assert undo_journal(runner, "other", state_dir=str(state)).ok
    assert not state.exists()
    assert (tmp_path / "unit.conf").read_text() == (tmp_path / "other.conf").read_text() == "old\n"


def test_a_backup_that_cannot_be_removed_is_reported(tmp_path: Path) -> None:
    runner, state = _two_plans(tmp_path)
    stuck = next((state / "backup" / "unit").rglob("*"))
    if subprocess.run(["chattr", "+i", str(stuck)], capture_output=True).returncode != 0:
        pytest.skip("this file system cannot make a file immutable (chattr +i)")
    try:
        with pytest.raises(RunnerError, match=r"^h1: cannot remove the backups in .*Operation not permitted"):
            undo_journal(runner, "unit", state_dir=str(state))
    finally:
        subprocess.run(["chattr", "-i", str(stuck)], check=True)
    assert (tmp_path / "unit.conf").read_text() == "old\n"  # the undo itself was done
    assert (state / "backup" / "other").is_dir()
