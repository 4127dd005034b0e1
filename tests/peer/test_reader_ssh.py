"""The peer reader over a real sshd on 127.0.0.1 (tests/setup/sshd_support.py): the stream of
snapshots, the host-key policy, and failures as data with the last snapshot kept, never a stall.

The peer's lvstui is played by tests/peer/fake_peer.py (the deterministic demo director's
snapshots as ``snapshot --json --repeat`` prints them); the lab test runs the real one.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from lvstui.peer.reader import PeerReader
from lvstui.setup.ssh import SshOptions
from tests.setup.sshd_support import Sshd, keygen

REPO = Path(__file__).resolve().parents[2]
FAKE = ["env", f"PYTHONPATH={REPO}", sys.executable, str(Path(__file__).with_name("fake_peer.py"))]


def options(sshd: Sshd, **kw: object) -> SshOptions:
    base = dict(user="root", port=sshd.port, identity=str(sshd.client_key), allow_agent=False,
                known_hosts=str(sshd.dir / "known_hosts"), config_file=str(sshd.dir / "no_config"), timeout=5.0)
    base.update(kw)
    return SshOptions(**base)  # type: ignore[arg-type]


def until(reader: PeerReader, test, timeout: float = 30.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        view = reader.view()
        if test(view):
            return view
        time.sleep(0.1)
    raise AssertionError(f"never: {reader.view()}")


def test_streams_the_peers_snapshots(sshd: Sshd) -> None:
    (sshd.dir / "known_hosts").write_text(sshd.known_hosts_line())
    with PeerReader("127.0.0.1", options(sshd), command=FAKE, interval=0.3) as reader:
        first = reader.wait(20)
        assert first.error is None and first.reachable and first.via == "lvstui", first
        assert first.snapshot is not None and first.snapshot.director == "demo-director"
        assert len(first.snapshot.virtual_services) > 1
        later = until(reader, lambda v: v.snapshot is not first.snapshot)
        assert later.snapshot is not None and later.snapshot.taken_at > first.snapshot.taken_at
        assert not later.stale and later.age is not None and later.age < 5


def test_unknown_host_key_is_refused_as_data_until_accepted(sshd: Sshd) -> None:
    with PeerReader("127.0.0.1", options(sshd), command=FAKE) as reader:
        view = reader.wait(20)
        assert not view.reachable and view.snapshot is None and view.stale
        assert view.error is not None and "unknown host key" in view.error and "SHA256:" in view.error
    assert not (sshd.dir / "known_hosts").exists()
    with PeerReader("127.0.0.1", options(sshd, accept_new_host_key=True), command=FAKE) as reader:
        assert reader.wait(20).error is None
    assert (sshd.dir / "known_hosts").read_text() == sshd.known_hosts_line()


def test_changed_host_key_is_refused_even_when_new_keys_are_accepted(sshd: Sshd) -> None:
    (sshd.dir / "known_hosts").write_text(sshd.known_hosts_line(keygen(sshd.dir / "other")))
    with PeerReader("127.0.0.1", options(sshd, accept_new_host_key=True), command=FAKE) as reader:
        view = reader.wait(20)
    assert view.error is not None and "host key CHANGED" in view.error and view.snapshot is None


def test_a_stream_that_stops_leaves_the_last_snapshot_stale_with_its_age(sshd: Sshd) -> None:
    (sshd.dir / "known_hosts").write_text(sshd.known_hosts_line())
    with PeerReader("127.0.0.1", options(sshd), command=["env", "FAKE_PEER_LINES=1", *FAKE],
                    interval=0.2) as reader:
        reader.stale_after = 1.0
        assert reader.wait(20).snapshot is not None
        view = until(reader, lambda v: v.stale)
        assert view.snapshot is not None and view.age is not None and view.age > 1.0
        assert view.error is not None and "no snapshot from 127.0.0.1 for" in view.error
        # and view() answers at once meanwhile: the reader thread waits on the network, not us
        started = time.monotonic()
        reader.view()
        assert time.monotonic() - started < 0.5


def test_the_first_document_may_take_longer_than_the_later_ones(sshd: Sshd) -> None:
    """A peer's lvstui reading a big table starts slowly: its first document is given
    ``first_wait``, the later ones only ``stall``; the same slow start with no longer first wait
    is an error naming the silence."""
    (sshd.dir / "known_hosts").write_text(sshd.known_hosts_line())
    slow = ["env", "FAKE_PEER_SLOW_START=3", *FAKE]
    with PeerReader("127.0.0.1", options(sshd), command=slow, interval=0.2, stall=1.0,
                    first_wait=30.0) as reader:
        view = reader.wait(40)
        assert view.snapshot is not None and view.error is None, view
    with PeerReader("127.0.0.1", options(sshd), command=slow, interval=0.2, stall=1.0,
                    first_wait=1.0) as reader:
        view = reader.wait(40)
    assert view.snapshot is None and view.error is not None and "nothing for 1 s from" in view.error, view


def test_a_document_that_does_not_parse_is_an_error_naming_the_peer(sshd: Sshd) -> None:
    (sshd.dir / "known_hosts").write_text(sshd.known_hosts_line())
    with PeerReader("127.0.0.1", options(sshd), command=["env", "FAKE_PEER_GARBAGE=1", *FAKE],
                    interval=0.2) as reader:
        view = until(reader, lambda v: v.error is not None and "unreadable" in v.error)
    assert view.error is not None and view.error.startswith("127.0.0.1: unreadable answer: not JSON")
    assert view.snapshot is not None  # the one before is kept


def test_neither_lvstui_nor_ipvsadm_answering_is_one_error_naming_both(sshd: Sshd) -> None:
    # this machine's kernel has no IPVS: ipvsadm fails here (the ipvsadm fallback's table is
    # read for real in tests/lab/test_peer_lab.py)
    (sshd.dir / "known_hosts").write_text(sshd.known_hosts_line())
    with PeerReader("127.0.0.1", options(sshd), command=["/nonexistent/lvstui"]) as reader:
        view = reader.wait(20)
    assert view.snapshot is None and view.error is not None
    assert "ipvsadm -S -n" in view.error and "neither lvstui nor ipvsadm answers there" in view.error


def test_unreachable_is_one_line_and_close_returns_quickly() -> None:
    reader = PeerReader("127.0.0.1:1", SshOptions(timeout=2, allow_agent=False), command=FAKE)
    before = reader.view()  # its first try not ended: connecting (what the pair panel says)
    assert before.connecting and before.snapshot is None and before.error == "not read yet"
    view = reader.start().wait(10)
    assert view.error is not None and "connection refused" in view.error and "\n" not in view.error
    assert not view.connecting
    started = time.monotonic()
    reader.close()
    assert time.monotonic() - started < 5
