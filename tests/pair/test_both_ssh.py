"""A change made on both directors (lvstui.pair.both) over a real sshd on 127.0.0.1: here an
in-memory director under the real operations layer, there a stand-in for the peer's lvstui
(fake_peer_lvstui.py, which logs what it was asked); the lab test runs the real one on lb2.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from lvstui.model import Forward, RealServer, VirtualService
from lvstui.ops import changes as c
from lvstui.ops.engine import OperationFailed, Operations
from lvstui.ops.journal import Journal, WeightMemory
from lvstui.ops.targets import parse_server_id, parse_service_id
from lvstui.pair.both import PeerError, PeerOps, apply_both
from lvstui.setup.ssh import SshOptions
from tests.ops.test_durable_plan import MemoryDirector
from tests.setup.sshd_support import Sshd, keygen

VS, RS1 = "tcp:192.168.1.100:80", "192.168.1.21:80"
FAKE = Path(__file__).with_name("fake_peer_lvstui.py")


def options(sshd: Sshd, **kw: Any) -> SshOptions:
    base: dict[str, Any] = dict(user="root", port=sshd.port, identity=str(sshd.client_key), allow_agent=False,
                                known_hosts=str(sshd.dir / "known_hosts"), config_file=str(sshd.dir / "no_config"),
                                timeout=5.0)
    return SshOptions(**(base | kw))


class Side:
    def __init__(self, tmp: Path, sshd: Sshd, mode: str = "ok", known: bool = True, **ssh: Any) -> None:
        if known:
            (sshd.dir / "known_hosts").write_text(sshd.known_hosts_line())
        self.log = sshd.dir / "peer.log"
        (sshd.dir / "mode").write_text(mode)
        vs = VirtualService(protocol="tcp", family="inet", address="192.168.1.100", port=80, scheduler="wrr",
                            real_servers=(RealServer(address="192.168.1.21", port=80, forward=Forward.DR, weight=3),
                                          RealServer(address="192.168.1.22", port=80, forward=Forward.DR, weight=2)))
        self.director = MemoryDirector([vs])
        self.ops = Operations(self.director, journal=Journal(tmp / "journal.jsonl"), memory=WeightMemory(tmp / "w.json"),
                              keepalived=None, track_dir=tmp / "track", settle_seconds=0, eqt=lambda: 1)
        self.peer = PeerOps("127.0.0.1", options(sshd, **ssh), (sys.executable, str(FAKE), str(self.log)))
        self.journal = tmp / "journal.jsonl"

    def asked(self) -> list[list[str]]:
        return [json.loads(line) for line in self.log.read_text().splitlines()] if self.log.exists() else []

    def entries(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.journal.read_text().splitlines()] if self.journal.exists() else []


def drain(rs: str = RS1) -> c.Drain:
    return c.Drain(parse_service_id(VS), parse_server_id(rs))


def test_made_on_the_peer_then_here_and_journaled_with_the_peers_entry(tmp_path: Path, sshd: Sshd) -> None:
    side = Side(tmp_path, sshd)
    both = apply_both(side.ops, drain(), side.peer, ["drain", VS, RS1])
    assert side.asked() == [["--peer", "none", "drain", VS, RS1, "--print-journal-id"]]
    assert side.director.weights()[RS1] == 0
    assert both.peer.entry_id == "0123abcd" and both.peer.lines == ("edit weight 0 (peer side)",)
    assert both.peer.warnings == ("warning: a warning of the peer's",)
    (applied,) = [e for e in side.entries() if e["result"] == "applied"]
    assert applied["peer"] == {"host": "127.0.0.1", "result": "applied", "status": 0, "entry": "0123abcd",
                               "error": None}
    assert both.outcome.entry_id == applied["id"]


def test_refused_on_the_peer_changes_nothing_here(tmp_path: Path, sshd: Sshd) -> None:
    side = Side(tmp_path, sshd, mode="refuse")
    with pytest.raises(PeerError) as caught:
        apply_both(side.ops, drain(), side.peer, ["drain", VS, RS1])
    assert str(caught.value) == ("peer 127.0.0.1: 192.168.1.21:80 is not in tcp:192.168.1.100:80: refused "
                                 "(nothing was changed on either director)")
    assert side.director.weights()[RS1] == 3 and side.director.calls == []
    assert [(e["result"], e["peer"]["result"]) for e in side.entries()] == [("refused", "failed")]


def test_refused_here_never_asks_the_peer(tmp_path: Path, sshd: Sshd) -> None:
    side = Side(tmp_path, sshd)
    with pytest.raises(c.Refused):
        apply_both(side.ops, drain("192.168.1.29:80"), side.peer, ["drain", VS, "192.168.1.29:80"])
    assert side.asked() == []


def test_failing_here_undoes_exactly_the_peers_entry(tmp_path: Path, sshd: Sshd, monkeypatch: pytest.MonkeyPatch) -> None:
    side = Side(tmp_path, sshd)

    def refuse(vs: object, rs: object) -> None:
        raise OSError(16, "Device or resource busy")

    monkeypatch.setattr(side.director, "edit_dest", refuse)
    with pytest.raises(OperationFailed) as caught:
        apply_both(side.ops, drain(), side.peer, ["drain", VS, RS1])
    assert side.asked() == [["--peer", "none", "drain", VS, RS1, "--print-journal-id"],
                            ["--peer", "none", "undo", "0123abcd", "--yes"]]
    assert str(caught.value).endswith("; undone on the peer 127.0.0.1 (its journal 0123abcd)"), caught.value
    results = [e["result"] for e in side.entries()]
    assert results[-2:] == ["failed", "peer-undone"], results


def test_a_peer_undo_that_fails_is_said(tmp_path: Path, sshd: Sshd, monkeypatch: pytest.MonkeyPatch) -> None:
    side = Side(tmp_path, sshd, mode="undo-fails")
    monkeypatch.setattr(side.director, "edit_dest", lambda vs, rs: (_ for _ in ()).throw(OSError(16, "busy")))
    with pytest.raises(OperationFailed) as caught:
        apply_both(side.ops, drain(), side.peer, ["drain", VS, RS1])
    assert "; PEER UNDO FAILED on 127.0.0.1 (its journal 0123abcd): refused: the peer moved on since" in str(
        caught.value)
    assert side.entries()[-1]["result"] == "peer-undo-failed"


def test_unknown_host_key_or_no_sshd_refuses_and_changes_nothing(tmp_path: Path, sshd: Sshd) -> None:
    side = Side(tmp_path, sshd, known=False)
    with pytest.raises(PeerError) as caught:
        apply_both(side.ops, drain(), side.peer, ["drain", VS, RS1])
    assert "unknown host key" in str(caught.value) and "nothing was changed on either director" in str(caught.value)
    sshd.stop()
    (sshd.dir / "known_hosts").write_text(sshd.known_hosts_line())
    with pytest.raises(PeerError) as caught:
        apply_both(side.ops, drain(), side.peer, ["drain", VS, RS1])
    assert "\n" not in str(caught.value) and "nothing was changed on either director" in str(caught.value)
    assert side.asked() == [] and side.director.calls == [] and side.director.weights()[RS1] == 3
    assert [(e["result"], e["peer"]["result"]) for e in side.entries()] == [("refused", "unreachable")] * 2


def test_a_changed_host_key_is_refused_even_when_new_keys_are_accepted(tmp_path: Path, sshd: Sshd) -> None:
    side = Side(tmp_path, sshd, known=False, accept_new_host_key=True)
    (sshd.dir / "known_hosts").write_text(sshd.known_hosts_line(keygen(sshd.dir / "other")))
    with pytest.raises(PeerError) as caught:
        apply_both(side.ops, drain(), side.peer, ["drain", VS, RS1])
    assert "host key CHANGED" in str(caught.value) and "nothing was changed on either director" in str(caught.value)
    assert side.asked() == [] and side.director.calls == []
