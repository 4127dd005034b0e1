"""keepalived's dumps live in /tmp, where anyone may plant a file or a link: request_state
refuses a planted one (one line in RuntimeState.errors) instead of showing forged state.

The "keepalived" here is a small process in its own mount namespace with a private tmpfs /tmp
(nothing is written to the machine's /tmp); like keepalived it writes its dumps when signalled
(real captured dumps from tests/keepalived/data), and then, as an attacker racing it would,
hands the file to another user or swaps in a link.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lvstui.keepalived.processes import find_keepalived, signal_number
from lvstui.keepalived.runtime import request_state

DATA = Path(__file__).parent / "data"

FAKE = r'''
import json, os, signal, sys, time
mode, data_sig, json_sig, src = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
def plant(name, text):
    path = "/tmp/" + name
    if os.path.lexists(path):
        os.unlink(path)
    if mode == "symlink":
        with open("/tmp/elsewhere-" + name, "w") as f:
            f.write(text)
        os.symlink("/tmp/elsewhere-" + name, path)
        return
    if mode == "fifo":
        os.mkfifo(path)
        return
    with open(path, "w") as f:
        f.write(text)
    if mode == "owner":
        os.chown(path, 4242, 4242)
def on_data(*_):
    plant("keepalived.data", open(src + "/lb1.keepalived.data").read())
    plant("keepalived_check.data", open(src + "/lb1.keepalived_check.data").read())
def on_json(*_):
    plant("keepalived.json", open(src + "/lb1.keepalived.json").read())
signal.signal(data_sig, on_data)
signal.signal(json_sig, on_json)
open("/tmp/ready", "w").close()
while True:
    time.sleep(1)
'''


def _fake_keepalived(tmp_path: Path, mode: str) -> Iterator[int]:
    if find_keepalived() is None:
        pytest.skip("keepalived is not installed (its signal numbers are needed)")
    # the script goes on the command line: pytest's tmp_path is under the /tmp the tmpfs hides
    argv = [sys.executable, "-c", FAKE, mode, str(signal_number("DATA")), str(signal_number("JSON")), str(DATA)]
    proc = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
                             'mount -t tmpfs -o mode=1777 tmpfs /tmp && exec "$@"', "sh", *argv])
    try:
        deadline = time.monotonic() + 10
        while not os.path.exists(f"/proc/{proc.pid}/root/tmp/ready"):
            assert proc.poll() is None and time.monotonic() < deadline, "the fake keepalived did not start"
            time.sleep(0.05)
        yield proc.pid
    finally:
        proc.kill()
        proc.wait(5)


@pytest.fixture
def genuine(tmp_path: Path) -> Iterator[int]:
    yield from _fake_keepalived(tmp_path, "genuine")


def test_dumps_written_by_keepalived_are_read(genuine: int) -> None:
    state = request_state(genuine, timeout=3.0)
    assert state.errors == ()
    assert [v.name for v in state.vrrp] == ["VI_1"] and state.vrrp_source == "json"
    assert state.servers


@pytest.mark.parametrize("mode", ["owner", "symlink", "fifo"])
def test_planted_dumps_are_refused_in_one_line(tmp_path: Path, mode: str) -> None:
    for pid in _fake_keepalived(tmp_path, mode):
        started = time.monotonic()
        state = request_state(pid, timeout=3.0)
        assert time.monotonic() - started < 6
        assert state.vrrp == () and state.servers == ()
        assert state.errors and all("refused: " in e and "\n" not in e for e in state.errors), state.errors
        reason = {"owner": "owned by uid 4242", "symlink": "symbolic link", "fifo": "not a regular file"}[mode]
        assert all(reason in e for e in state.errors), state.errors


def test_fifo_tail_refuses_what_is_not_keepalived_fifo(tmp_path: Path) -> None:
    from lvstui.keepalived.fifo import FifoTail

    link = tmp_path / "vrrp.fifo"
    link.symlink_to("/dev/zero")  # read as a FIFO it would never end
    with FifoTail(link) as tail:
        assert tail.poll(0.05) == [] and tail.error is not None and "symbolic link" in tail.error
    plain = tmp_path / "plain.fifo"
    plain.write_bytes(b'INSTANCE "VI_1" MASTER 100\n')  # a forged "event"
    with FifoTail(plain) as tail:
        assert tail.poll(0.05) == [] and tail.error is not None and "not a FIFO" in tail.error


def test_fifo_tail_drops_a_line_without_end(tmp_path: Path) -> None:
    from lvstui.keepalived.fifo import FifoTail

    path = tmp_path / "vrrp.fifo"
    os.mkfifo(path)
    with FifoTail(path) as tail:
        fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)
        try:
            for _ in range(40):
                os.write(fd, b"x" * 4096)
                tail.poll(0.01)
            assert len(tail._buf) <= FifoTail.MAX_LINE + 65536
            os.write(fd, b'\nINSTANCE "VI_1" MASTER 100\n')
            events = tail.poll(0.2) or tail.poll(0.2)
        finally:
            os.close(fd)
        assert [e.state for e in events] == ["MASTER"]  # type: ignore[union-attr]
