"""``drain --wait``'s loop on lines captured in the lab (tests/data/ip_vs_conn_lab.txt), the table
file rewritten between polls as connections close; tests/lab/test_drain_done.py runs the same
verb against the real kernel under traffic."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import pytest

from lvstui.commands.drain_wait import wait_for_drain
from lvstui.model import Snapshot, VirtualService
from tests.conns.lab_table import VIP, lab_services

CAPTURE = Path(__file__).resolve().parents[2] / "tests" / "data" / "ip_vs_conn_lab.txt"
HEADER, *LINES = CAPTURE.read_text().splitlines()
ESTABLISHED = "TCP C0A80132 D00A C0A80164 2328 C0A80116 2328 ESTABLISHED     897"
FIN_WAIT = "TCP C0A80132 D02E C0A80164 2328 C0A80116 2328 FIN_WAIT        117"
TEMPLATE = "TCP C0A80100 0000 C0A80164 0050 C0A80116 0050 ASSURED         297"
HTTP_FIN_WAIT = "TCP C0A80132 B3E4 C0A80164 0050 C0A80116 0050 FIN_WAIT        117"
RS = "192.168.1.22"


def services(persistent_http: bool = False) -> list[VirtualService]:
    out = lab_services()
    if persistent_http:
        out = [dataclasses.replace(vs, persistence_timeout=300, flags=("persistent",))
               if vs.port == 80 and vs.family == "inet" else vs for vs in out]
    return out


class Table:
    """The table file, and the polls: each sleep moves to the next list of lines."""

    def __init__(self, path: Path, states: list[list[str]]) -> None:
        self.path, self.states, self.now, self.polls = path, states, 0.0, 0
        self.write()

    def write(self) -> None:
        self.path.write_text("\n".join([HEADER, *self.states[min(self.polls, len(self.states) - 1)]]) + "\n")

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.polls += 1
        self.write()


def run(tmp_path: Path, states: list[list[str]], vs_id: str, *, until: str = "done", eqt: int = 0,
        persistent_http: bool = False, timeout: float | None = None) -> tuple[int, str, Table]:
    for line in (x for s in states for x in s):
        assert line in LINES  # only lines the kernel wrote
    table = Table(tmp_path / "ip_vs_conn", states)
    snap = Snapshot(director="lab", taken_at=None, virtual_services=tuple(services(persistent_http)))  # type: ignore[arg-type]
    out = io.StringIO()
    rc = wait_for_drain(lambda: snap, [(vs_id, f"{RS}:{vs_id.rsplit(':', 1)[1]}")], until=until, timeout=timeout,
                        conn_path=str(table.path), eqt=lambda: eqt, out=out, clock=lambda: table.now,
                        sleep=table.sleep)
    return rc, out.getvalue(), table


def test_done_when_the_last_established_connection_closes_although_fin_wait_remains(tmp_path: Path) -> None:
    others = [x for x in LINES if RS not in x and "C0A80116" not in x]  # other servers' entries stay
    rc, out, table = run(tmp_path, [[ESTABLISHED, FIN_WAIT, *others], [ESTABLISHED, FIN_WAIT, *others],
                                    [FIN_WAIT, *others]], f"tcp:{VIP}:9000")
    assert rc == 0 and table.polls == 2
    assert "TCP 1 open; TCP 1 closed (timers, up to 01:57); ETA unknown" in out
    assert out.count("waiting:") == 1  # unchanged counts are not repeated each poll
    assert "left on 192.168.1.22:9000 in tcp:192.168.1.100:9000 (carrying no traffic): TCP 1 closed" in out
    assert out.rstrip().endswith("drained: no client traffic left")


def test_until_expired_waits_for_the_closed_entries_too(tmp_path: Path) -> None:
    rc, out, table = run(tmp_path, [[ESTABLISHED, FIN_WAIT], [FIN_WAIT], [FIN_WAIT], []], f"tcp:{VIP}:9000",
                         until="expired")
    assert rc == 0 and table.polls == 3
    assert "all expired in 14:57" in out and "all expired in 01:57" in out
    assert out.rstrip().endswith("expired: no entries left")


def test_udp_counts_down_to_its_expiry_with_an_eta(tmp_path: Path) -> None:
    udp = [x for x in LINES if x.startswith("UDP") and "C0A80116 14E9" in x]
    assert len(udp) == 1
    rc, out, _ = run(tmp_path, [udp, []], f"udp:{VIP}:5353")
    assert rc == 0 and "UDP 1 (expire within 04:57); ETA 04:57" in out


def test_timeout_is_124_and_says_what_remains(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, _ = run(tmp_path, [[ESTABLISHED, FIN_WAIT]], f"tcp:{VIP}:9000", timeout=3)
    assert rc == 124
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "timed out waiting for the drain (the weight stays 0): 192.168.1.22:9000" in err[0]


def test_pinned_clients_hold_the_drain_while_expire_quiescent_template_is_0(tmp_path: Path) -> None:
    states = [[TEMPLATE, HTTP_FIN_WAIT], [TEMPLATE, HTTP_FIN_WAIT], [HTTP_FIN_WAIT]]
    rc, out, table = run(tmp_path, states, f"tcp:{VIP}:80", persistent_http=True, eqt=0)
    assert rc == 0 and table.polls == 2  # done only once the template expired
    assert "1 clients pinned by persistence (up to 04:57): they can still open new connections here" in out
    assert "lvstui expire-quiescent on" in out and "ETA 04:57" in out
    rc, out, table = run(tmp_path, states, f"tcp:{VIP}:80", persistent_http=True, eqt=1)
    assert rc == 0 and table.polls == 0  # the kernel drops such templates: they only count as shown
    assert "1 clients pinned by persistence (up to 04:57)" in out and "can still open" not in out


def test_a_real_server_that_is_gone_is_done(tmp_path: Path) -> None:
    table = Table(tmp_path / "ip_vs_conn", [[ESTABLISHED]])
    snap = Snapshot(director="lab", taken_at=None, virtual_services=())  # type: ignore[arg-type]
    rc = wait_for_drain(lambda: snap, [(f"tcp:{VIP}:9000", f"{RS}:9000")], conn_path=str(table.path),
                        eqt=lambda: 0, out=io.StringIO(), clock=lambda: 0.0, sleep=table.sleep)
    assert rc == 0


def test_an_unreadable_table_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    snap = Snapshot(director="lab", taken_at=None, virtual_services=tuple(services()))  # type: ignore[arg-type]
    rc = wait_for_drain(lambda: snap, [(f"tcp:{VIP}:9000", f"{RS}:9000")], conn_path=str(tmp_path / "none"),
                        eqt=lambda: 0, out=io.StringIO())
    assert rc == 1 and capsys.readouterr().err.count("\n") == 1
