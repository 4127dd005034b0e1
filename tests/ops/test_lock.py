"""The operations' lock: a second operator is refused with who holds it; a dead holder leaves none."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from lvstui.ops.lock import Busy, config_lock_name, held

HOLDER = """
import sys, time
from lvstui.ops.lock import held
with held(sys.argv[1], "drain tcp:10.0.0.1:80 10.0.1.1:80"):
    print("held", flush=True)
    time.sleep(60)
"""


def _hold_in_child(name: str, state: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "LVSTUI_STATE_DIR": str(state), "SUDO_USER": "alice"}
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, name], env=env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_second_process_is_told_who_holds_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LVSTUI_STATE_DIR", str(tmp_path))
    proc = _hold_in_child("director", tmp_path)
    try:
        with pytest.raises(Busy) as caught, held("director", "weight"):
            pytest.fail("the lock was taken twice")
        message = str(caught.value)
        assert message.startswith("busy: drain tcp:10.0.0.1:80 10.0.1.1:80 by alice (pid ")
        assert f"(pid {proc.pid}) since " in message and "\n" not in message
    finally:
        proc.kill()
        proc.wait()
    # the kernel dropped the dead holder's lock: it is free at once
    with held("director", "weight"):
        pass


def test_waiting_gets_it_once_the_holder_exits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LVSTUI_STATE_DIR", str(tmp_path))
    proc = _hold_in_child("weights", tmp_path)
    threading.Timer(0.3, lambda: os.kill(proc.pid, signal.SIGTERM)).start()
    with held("weights", "remember", wait=10):
        assert proc.wait(timeout=10) != 0


def test_reentrant_in_one_thread_busy_for_another(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LVSTUI_STATE_DIR", str(tmp_path))
    seen: list[str] = []

    def other() -> None:
        try:
            with held("director", "restore"):
                seen.append("taken")
        except Busy as exc:
            seen.append(str(exc))

    with held("director", "drain A"), held("director", "drain A again"):
        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
    assert len(seen) == 1 and seen[0].startswith("busy: drain A by ")
    with held("director", "restore"):
        pass


def test_planted_symlink_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LVSTUI_STATE_DIR", str(tmp_path))
    victim = tmp_path / "victim"
    victim.write_text("keep me\n")
    (tmp_path / "locks").mkdir()
    (tmp_path / "locks" / "director.lock").symlink_to(victim)
    with pytest.raises(Busy, match="symbolic link"), held("director", "drain"):
        pass
    assert victim.read_text() == "keep me\n"


def test_config_lock_name_follows_links(tmp_path: Path) -> None:
    target = tmp_path / "keepalived.conf"
    target.write_text("")
    link = tmp_path / "link.conf"
    link.symlink_to(target)
    assert config_lock_name(link) == config_lock_name(target)
    assert config_lock_name(target) != config_lock_name(tmp_path / "other.conf")
