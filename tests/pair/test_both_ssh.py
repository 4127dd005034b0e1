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
from lvstui.ops.engine import DirectorBusy, OperationFailed, Operations
from lvstui.ops.journal import Journal, WeightMemory
from lvstui.ops.lock import DIRECTOR, held
from lvstui.ops.targets import parse_server_id, parse_service_id
from lvstui.pair.both import PeerError, PeerOps, apply_both
from lvstui.setup.ssh import SshOptions
from tests.ops.test_durable_plan import MemoryDirector
from tests.setup.sshd_support import Sshd, keygen
from tests.support.locks import held_by_another_operator, try_as_another_operator

VS, RS1 = "tcp:192.168.1.100:80", "192.168.1.21:80"
FAKE = Path(__file__).with_name("fake_peer_lvstui.py")
ASKER = ["--on-behalf-of", "lb1"]  # this director, named in the peer's journal


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
        self.locks = tmp / "locks"
        self.ops = Operations(self.director, journal=Journal(tmp / "journal.jsonl"), memory=WeightMemory(tmp / "w.json"),
                              keepalived=None, track_dir=tmp / "track", settle_seconds=0, eqt=lambda: 1,
                              locks=self.locks)
        self.peer = PeerOps("127.0.0.1", options(sshd, **ssh), (sys.executable, str(FAKE), str(self.log)),
                            asker="lb1")
        self.peer_locks = sshd.dir / "peer-locks"  # the fake peer's own director lock
        self.journal = tmp / "journal.jsonl"

    def logged(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log.read_text().splitlines()] if self.log.exists() else []

    def asked(self) -> list[list[str]]:
        return [e["argv"] for e in self.logged()]

    def connections(self) -> list[str]:
        """The SSH connection each command came over, as the peer's sshd said (address and source port)."""
        return [" ".join(e["client"].split()[:2]) for e in self.logged()]

    def entries(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.journal.read_text().splitlines()] if self.journal.exists() else []


def drain(rs: str = RS1) -> c.Drain:
    return c.Drain(parse_service_id(VS), parse_server_id(rs))


def test_made_on_the_peer_then_here_and_journaled_with_the_peers_entry(tmp_path: Path, sshd: Sshd) -> None:
    side = Side(tmp_path, sshd)
    both = apply_both(side.ops, drain(), side.peer, ["drain", VS, RS1])
    assert side.asked() == [["--peer", "none", "drain", VS, RS1, "--print-journal-id", *ASKER]]
    assert side.director.weights()[RS1] == 0
    assert both.peer.entry_id == "0123abcd" and both.peer.lines == ("edit weight 0 (peer side)",)
    assert both.peer.warnings == ("warning: a warning of the peer's",)
    (applied,) = [e for e in side.entries() if e["result"] == "applied"]
    assert applied["peer"] == {"host": "127.0.0.1", "role": "asked", "result": "applied", "status": 0,
                               "entry": "0123abcd", "error": None}
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
    assert side.asked() == [["--peer", "none", "drain", VS, RS1, "--print-journal-id", *ASKER],
                            ["--peer", "none", "undo", "0123abcd", "--yes", *ASKER]]
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


def test_the_peer_locked_by_another_operator_refuses_and_nothing_changes(tmp_path: Path, sshd: Sshd) -> None:
    """Another operator holds the peer's director lock (this process, the fake peer another: a real
    flock): the peer refuses with lvstui's busy line; nothing is changed here (the peer goes first)."""
    side = Side(tmp_path, sshd)
    with held(DIRECTOR, "weight tcp:192.168.1.100:80 192.168.1.21:80", directory=side.peer_locks), \
            pytest.raises(PeerError) as caught:
        apply_both(side.ops, drain(), side.peer, ["drain", VS, RS1])
    message = str(caught.value)
    assert message.startswith("peer 127.0.0.1: busy: weight tcp:192.168.1.100:80 192.168.1.21:80 by "), message
    assert message.endswith(" (nothing was changed on either director)") and "\n" not in message, message
    assert side.director.weights()[RS1] == 3 and side.director.calls == []
    [entry] = side.entries()
    assert (entry["result"], entry["peer"]["result"], entry["peer"]["status"]) == ("refused", "failed", 3)
    both = apply_both(side.ops, drain(), side.peer, ["drain", VS, RS1])  # released: it goes through
    assert both.peer.entry_id == "0123abcd" and side.director.weights()[RS1] == 0


def test_locked_here_refuses_before_the_peer_is_asked(tmp_path: Path, sshd: Sshd) -> None:
    """Another operator holds this director's lock (another thread sees it busy, as another process
    would): refused at once, the peer neither connected to nor asked."""
    side = Side(tmp_path, sshd)
    with held_by_another_operator(DIRECTOR, "restore tcp:192.168.1.100:80 192.168.1.22:80", side.locks), \
            pytest.raises(DirectorBusy) as caught:
        apply_both(side.ops, drain(), side.peer, ["drain", VS, RS1])
    assert str(caught.value).startswith("busy: restore tcp:192.168.1.100:80 192.168.1.22:80 by ")
    assert str(caught.value).endswith("; nothing was changed on either director (the peer 127.0.0.1 was not asked)")
    assert side.asked() == [] and side.peer.connections == 0 and side.director.calls == []
    [entry] = side.entries()
    assert entry["result"] == "refused" and entry["peer"] == {"host": "127.0.0.1", "role": "asked",
                                                               "result": "not asked"}


def test_the_local_locks_are_held_while_the_peer_applies(tmp_path: Path, sshd: Sshd) -> None:
    """Between the peer's apply and this director's, nobody else here can take the director lock."""
    side = Side(tmp_path, sshd)
    seen: list[str] = []
    run = side.peer.run

    def run_and_try_the_lock(argv: Any) -> Any:
        seen.append(try_as_another_operator(DIRECTOR, side.locks))
        return run(argv)

    side.peer.run = run_and_try_the_lock  # type: ignore[method-assign]
    apply_both(side.ops, drain(), side.peer, ["drain", VS, RS1])
    assert len(seen) == 1 and seen[0].startswith("busy: drain tcp:192.168.1.100:80 192.168.1.21:80 by "), seen


def test_a_batch_holds_one_ssh_connection(tmp_path: Path, sshd: Sshd) -> None:
    """Two changes in one session: both commands over one SSH connection (one source port at the
    peer's sshd); without a session, one connection per change."""
    side = Side(tmp_path, sshd)
    with side.peer.session():
        apply_both(side.ops, drain(), side.peer, ["drain", VS, RS1])
        apply_both(side.ops, drain("192.168.1.22:80"), side.peer, ["drain", VS, "192.168.1.22:80"])
    first, second = side.connections()
    assert first == second and side.peer.connections == 1
    side.ops.apply(c.Restore(parse_service_id(VS), parse_server_id(RS1)))
    side.ops.apply(c.Restore(parse_service_id(VS), parse_server_id("192.168.1.22:80")))
    apply_both(side.ops, drain(), side.peer, ["drain", VS, RS1])
    apply_both(side.ops, drain("192.168.1.22:80"), side.peer, ["drain", VS, "192.168.1.22:80"])
    _, _, third, fourth = side.connections()
    assert len({second, third, fourth}) == 3 and side.peer.connections == 3
