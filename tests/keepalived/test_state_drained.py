"""A real server drained through lvstui's track file is 'drained', not 'inhibited' by a failed check."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from lvstui.keepalived.loader import load
from lvstui.keepalived.runtime import CheckerState, RealServerState
from lvstui.keepalived.state import check_state
from lvstui.keepalived.view import build_view
from lvstui.model import RealServer

CONF = """\
track_file lvstui_tcp_192.168.1.100_80_192.168.1.21_80 {
    file "/var/lib/lvstui/keepalived/drain-rs1"
}
virtual_server 192.168.1.100 80 {
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 192.168.1.21 80 {
        inhibit_on_failure
        TCP_CHECK {
            connect_timeout 1
        }
        FILE_CHECK {
            track_file lvstui_tcp_192.168.1.100_80_192.168.1.21_80
        }
    }
}
"""


def _rs(tmp_path: Path):  # type: ignore[no-untyped-def]
    path = tmp_path / "keepalived.conf"
    path.write_text(CONF)
    view = build_view(load(path))
    return view.virtual_servers[0].real_servers[0]


def _state(*checkers: CheckerState) -> RealServerState:
    alive = all(c.up for c in checkers)
    return RealServerState(address="192.168.1.21", port=80, weight=1, effective_weight=0 if not alive else 1,
                           alive=alive, failed_checkers=sum(not c.up for c in checkers), inhibit_on_failure=True,
                           in_ipvs=True, checkers=checkers)


def test_only_lvstui_file_check_failing_is_a_drain(tmp_path: Path) -> None:
    check = check_state(_rs(tmp_path), _state(CheckerState("TCP_CHECK", True), CheckerState("FILE_CHECK", False)))
    assert check is not None and check.drained and not check.alive
    rs = RealServer(address="192.168.1.21", port=80, weight=0, check=check)
    assert rs.state == "drained"


def test_a_failing_health_check_is_still_inhibited_or_down(tmp_path: Path) -> None:
    conf = _rs(tmp_path)
    for checkers in ((CheckerState("TCP_CHECK", False), CheckerState("FILE_CHECK", True)),
                     (CheckerState("TCP_CHECK", False), CheckerState("FILE_CHECK", False))):
        check = check_state(conf, _state(*checkers))
        assert check is not None and not check.drained
        rs = RealServer(address="192.168.1.21", port=80, weight=0, check=check)
        assert rs.state == "inhibited"
        assert dataclasses.replace(rs, in_kernel=False).state == "down"
