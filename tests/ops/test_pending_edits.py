"""pending_edits: the file on disk against what the running keepalived says it loaded (its DATA dump)."""

from __future__ import annotations

from pathlib import Path

from lvstui.keepalived.loader import load
from lvstui.keepalived.pending import pending_edits
from lvstui.keepalived.runtime import RealServerState, VirtualServerState
from lvstui.keepalived.view import build_view

CONF = """\
virtual_server 192.168.1.100 80 {
    lb_algo wrr
    lb_kind DR
    protocol TCP
    real_server 192.168.1.21 8080 {
        weight 3
    }
    real_server 192.168.1.22 80 {
        weight 2
    }
}
"""


def rs(address: str, weight: int, port: int = 80) -> RealServerState:
    return RealServerState(address=address, port=port, weight=weight, effective_weight=weight, alive=True,
                           failed_checkers=0, inhibit_on_failure=False, in_ipvs=True)


def vs(*servers: RealServerState, port: int = 80) -> VirtualServerState:
    return VirtualServerState(address="192.168.1.100", port=port, protocol="TCP", fwmark=None, alive=True,
                              quorum_up=True, real_servers=servers)


def view(tmp_path: Path, text: str = CONF):  # type: ignore[no-untyped-def]
    path = tmp_path / "keepalived.conf"
    path.write_text(text)
    return build_view(load(path))


def test_agreeing_file_and_keepalived(tmp_path: Path) -> None:
    # DR: keepalived runs the real server on the virtual port whatever the file says (8080 -> 80)
    assert pending_edits(view(tmp_path), (vs(rs("192.168.1.21", 3), rs("192.168.1.22", 2)),)) == []


def test_weight_membership_and_services_differ(tmp_path: Path) -> None:
    running = (vs(rs("192.168.1.21", 5), rs("192.168.1.23", 1)), vs(rs("192.168.1.21", 1), port=443))
    assert pending_edits(view(tmp_path), running) == [
        ("tcp:192.168.1.100:80: real server 192.168.1.21:80 weight 5 in keepalived, 3 in the file "
         "(keepalived.conf:5)"),
        "tcp:192.168.1.100:80: real server 192.168.1.22:80 (keepalived.conf:8) is in the file, not in keepalived",
        "tcp:192.168.1.100:80: real server 192.168.1.23:80 runs in keepalived, not in the file",
        "virtual server tcp:192.168.1.100:443 runs in keepalived, not in the file",
    ]
    assert pending_edits(view(tmp_path), ()) == [
        "virtual server tcp:192.168.1.100:80 (keepalived.conf:1) is in the file, not in keepalived"]
