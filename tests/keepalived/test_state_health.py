"""keepalived's own health (processes, log lines), the watcher's failures as data, the toggle's advice."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lvstui.keepalived.loader import load
from lvstui.keepalived.state import health_status, process_health, recent_log_lines
from lvstui.keepalived.toggle import _usable, advice, read_track_value
from lvstui.keepalived.view import build_view
from lvstui.keepalived.watcher import KeepalivedWatcher, _log_opts
from lvstui.model import Snapshot
from lvstui.ops.vrrp import write_track_value


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_process_health() -> None:
    me, gone = __import__("os").getpid(), dead_pid()
    procs = process_health({"parent": me, "vrrp": me, "checker": gone}, need_vrrp=True, need_checker=True)
    assert [(p.role, p.alive, p.expected) for p in procs] == [
        ("parent", True, True),
        ("vrrp", True, True),
        ("checker", False, True),
    ]
    assert health_status(procs) == "degraded"
    procs = process_health({"parent": me, "vrrp": me, "checker": None}, need_vrrp=True, need_checker=False)
    assert health_status(procs) == "running"  # no virtual_server: no checker process expected
    procs = process_health({"parent": gone, "vrrp": None, "checker": None}, need_vrrp=True, need_checker=True)
    assert health_status(procs) == "not running"
    bfd = process_health({"parent": me, "bfd": gone}, need_vrrp=False, need_checker=False, need_bfd=True)
    assert [p.role for p in bfd] == ["parent", "vrrp", "checker", "bfd"] and health_status(bfd) == "degraded"


def test_zombie_is_not_alive() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        import time

        time.sleep(0.5)  # exited, not reaped: a zombie
        (p,) = process_health({"parent": proc.pid}, need_vrrp=False, need_checker=False)[:1]
        assert not p.alive
    finally:
        proc.wait()


SYSLOG = """\
Nov 24 23:01:00 lb1 Keepalived[100]: Starting Keepalived v2.2.7
Nov 24 23:01:00 lb1 Keepalived[200]: Starting Keepalived v2.2.7
Nov 24 23:01:01 lb1 Keepalived_vrrp[101]: (VI_1) Entering MASTER STATE
Nov 24 23:01:01 lb1 Keepalived_vrrp[201]: (VI_1) Entering BACKUP STATE
Nov 24 23:01:02 lb1 sshd[5]: Accepted publickey
Nov 24 23:01:03 lb1 Keepalived_healthcheckers[102]: TCP connection to [192.168.1.21]:tcp:80 failed.
"""


def test_log_lines_of_our_keepalived_only(tmp_path: Path) -> None:
    (tmp_path / "var/log").mkdir(parents=True)
    (tmp_path / "var/log/messages").write_text(SYSLOG)
    source, lines, error = recent_log_lines([100, 101, 102, None], root=tmp_path, journal=False)
    assert (source, error) == ("/var/log/messages", None)
    assert [line.split()[4] for line in lines] == [
        "Keepalived[100]:",
        "Keepalived_vrrp[101]:",
        "Keepalived_healthcheckers[102]:",
    ]
    _, last, _ = recent_log_lines([200, 201], count=1, root=tmp_path, journal=False)
    assert last == ["Nov 24 23:01:01 lb1 Keepalived_vrrp[201]: (VI_1) Entering BACKUP STATE"]
    (tmp_path / "var/log/syslog").write_text(SYSLOG.replace("lb1", "other"))  # syslog comes first
    assert recent_log_lines([100], root=tmp_path, journal=False)[0] == "/var/log/syslog"


def test_log_file_option_and_missing_logs(tmp_path: Path) -> None:
    assert _log_opts(("keepalived", "-l", "-D", "-g/var/log/ka.log")) == [("log_file", "/var/log/ka.log")]
    assert _log_opts(("keepalived", "--log-file=/x")) == [("log_file", "/x")]
    assert _log_opts(("keepalived", "-D")) == []
    (tmp_path / "ka.log").write_text("one\ntwo\nthree\n")
    assert recent_log_lines([1], count=2, log_file="/ka.log", root=tmp_path) == (
        "/ka.log",
        ["two", "three"],
        None,
    )
    assert (
        recent_log_lines([1], root=tmp_path, journal=False)[2]
        == "no keepalived log found (no journald, /var/log/syslog or /var/log/messages)"
    )
    src, lines, error = recent_log_lines([1], log_file="/nope.log", root=tmp_path)
    assert (src, lines) == ("/nope.log", []) and error is not None and "No such file" in error


def kernel() -> Snapshot:
    return Snapshot(director="d", taken_at=datetime.now(UTC))


def test_watcher_failures_are_data(monkeypatch: pytest.MonkeyPatch) -> None:
    watcher = KeepalivedWatcher(adverts=False)

    def broken(*_a: object) -> Snapshot:
        raise RuntimeError("dump exploded")

    monkeypatch.setattr(watcher, "_apply", broken)
    snap = watcher.apply(kernel())
    assert snap.keepalived is not None and snap.keepalived.status == "unknown"
    assert snap.keepalived.errors == ("reading keepalived failed: dump exploded",)


def test_watcher_without_keepalived(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from lvstui.keepalived import watcher as director

    monkeypatch.setattr(director, "local_keepalived", list)
    monkeypatch.setattr(director, "DEFAULT_CONF", str(tmp_path / "none.conf"))
    watcher = KeepalivedWatcher(adverts=False)
    assert watcher.apply(kernel()).keepalived is None  # neither running nor configured
    (tmp_path / "none.conf").write_text("global_defs {\n}\n")
    watcher = KeepalivedWatcher(adverts=False)
    snap = watcher.apply(kernel())
    assert snap.keepalived is not None and snap.keepalived.status == "not running"
    assert snap.keepalived.errors == ("keepalived: not running",) and watcher.dumps == 0


CONF = """\
track_file old {
    file "/run/a"
    weight 10
}
vrrp_track_file legacy {
    file /run/b
    weight -100
}
track_file maint {
    file "/run/maint"
    weight -60
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 150
    track_file {
        old
        legacy
    }
}
vrrp_instance VI_2 {
    interface eth0
    virtual_router_id 52
    priority 150
    track_file {
        old
        maint weight -80
    }
}
"""


def test_track_file_choice_and_advice(tmp_path: Path) -> None:
    path = tmp_path / "keepalived.conf"
    path.write_text(CONF)
    view = build_view(load(path))
    vi1, vi2 = view.vrrp_instances
    # positive weights and the deprecated vrrp_track_file (150 -> 151 in the lab) are not usable
    assert _usable(view, vi1) == []
    ((track, weight),) = _usable(view, vi2)
    assert (track.name, track.file, weight) == ("maint", "/run/maint", -80)  # the reference's weight wins
    text = advice(view, vi1, peer_priority=100)
    assert 'track_file lvstui_maint {\n    file "/etc/keepalived/lvstui-maint"\n    weight -60\n' in text
    assert "init_file 0 overwrite\n}" in text and "inside vrrp_instance VI_1" in text
    assert f"({path}:13)" in text or "keepalived.conf:13" in text
    assert "weight -60" in advice(view, vi1, peer_priority=140)  # 150 - 140 + 10 = 20: at least 60
    assert "weight -70" in advice(view, vi1, peer_priority=90)  # 150 - 90 + 10: 10 below the peer


def test_track_value_file(tmp_path: Path) -> None:
    f = tmp_path / "sub" / "maint"
    assert read_track_value(f) == 0  # missing counts as 0, as for keepalived
    write_track_value(f, 1)
    assert f.read_text() == "1\n" and read_track_value(f) == 1
    f.write_text("garbage\n")
    assert read_track_value(f) == 0
