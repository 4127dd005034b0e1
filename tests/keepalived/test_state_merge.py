"""Merging keepalived's view into a kernel snapshot: check states, removed servers, drift.

The keepalived side is real: the configuration capture_uml.sh ran and the DATA/JSON dumps
it captured (tests/keepalived/data: rs1 up, rs2 down with inhibit_on_failure, rs3 down).
The kernel side is the table ipvsadm printed at that moment (lb1-rsdown.ipvsadm.txt),
then variations of it (an operator's removal, a runtime weight, an extra server).
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lvstui.keepalived.loader import load
from lvstui.keepalived.runtime import RuntimeState, parse_check_data, parse_vrrp_json
from lvstui.keepalived.state import merge, rs_drift
from lvstui.keepalived.view import ConfigView, build_view
from lvstui.model import Forward, RealServer, Snapshot, VirtualService
from tests.keepalived.support import DATA

VS = "tcp:192.168.1.100:80"


@pytest.fixture(scope="module")
def view(tmp_path_factory: pytest.TempPathFactory) -> ConfigView:
    script = (DATA / "capture_uml.sh").read_text()
    body = script.split("cat > $d/keepalived.conf <<CONF\n", 1)[1].split("\nCONF\n", 1)[0]
    text = body.replace("$name", "lb1").replace("$prio", "150").replace("$d", "/run/ka/lb1")
    path = tmp_path_factory.mktemp("conf") / "keepalived.conf"
    path.write_text(text + "\n")
    return build_view(load(path))


def kernel_from_ipvsadm(text: str) -> Snapshot:
    """The one service of lb1-rsdown.ipvsadm.txt as the netlink reader would give it."""
    servers = []
    for line in text.splitlines():
        m = re.match(r"\s+-> (\S+):(\d+)\s+Route\s+(\d+)", line)
        if m:
            servers.append(
                RealServer(
                    address=m.group(1), port=int(m.group(2)), forward=Forward.DR, weight=int(m.group(3))
                )
            )
    vs = VirtualService(
        protocol="tcp",
        family="inet",
        address="192.168.1.100",
        port=80,
        scheduler="wrr",
        real_servers=tuple(servers),
    )
    return Snapshot(director="lb1", taken_at=datetime.now(UTC), virtual_services=(vs,))


@pytest.fixture(scope="module")
def runtime() -> RuntimeState:
    return RuntimeState(
        parent_pid=1,
        vrrp=parse_vrrp_json((DATA / "lb1-demoted.keepalived.json").read_text()),
        servers=parse_check_data((DATA / "lb1-rsdown.keepalived_check.data").read_text()),
    )


@pytest.fixture
def kernel() -> Snapshot:
    return kernel_from_ipvsadm((DATA / "lb1-rsdown.ipvsadm.txt").read_text())


def rows(snap: Snapshot) -> dict[str, RealServer]:
    vs = snap.service(VS)
    assert vs is not None
    return {rs.id: rs for rs in vs.real_servers}


def test_captured_state(view: ConfigView, runtime: RuntimeState, kernel: Snapshot) -> None:
    merged = merge(kernel, view, runtime)
    got = rows(merged)
    assert list(got) == ["192.168.1.21:80", "192.168.1.22:80", "192.168.1.23:80"]  # configuration order
    rs1, rs2, rs3 = got.values()
    assert (rs1.state, rs1.in_kernel, rs1.weight, rs1.check and rs1.check.alive) == ("up", True, 3, True)
    assert rs1.check is not None and rs1.check.checker == "TCP_CHECK" and rs1.check.failed_checkers == 0
    # inhibit_on_failure: in the kernel with weight 0
    assert (rs2.state, rs2.in_kernel, rs2.weight, rs2.inhibited) == ("inhibited", True, 0, True)
    # removed from IPVS by its failed TCP_CHECK: shown from the configuration, not dropped
    assert (rs3.state, rs3.in_kernel, rs3.weight) == ("down", False, 1)
    assert rs3.check is not None and (rs3.check.alive, rs3.check.checker, rs3.check.failed_checkers) == (
        False,
        "TCP_CHECK",
        1,
    )
    assert rs3.check.detail.startswith("TCP_CHECK failed")
    assert merged.drift == ()
    (vi,) = merged.vrrp
    assert (vi.name, vi.state, vi.priority, vi.effective_priority, vi.virtual_router_id, vi.vips) == (
        "VI_1",
        "BACKUP",
        150,
        90,
        51,
        ("192.168.1.100/24",),
    )
    assert vi.master_priority == 100


def test_operator_removal_is_drift_not_a_failed_check(
    view: ConfigView, runtime: RuntimeState, kernel: Snapshot
) -> None:
    (vs,) = kernel.virtual_services
    gone = replace(kernel, virtual_services=(replace(vs, real_servers=vs.real_servers[1:]),))  # rs1 deleted
    merged = merge(gone, view, runtime)
    rs1 = rows(merged)["192.168.1.21:80"]
    assert (rs1.state, rs1.in_kernel) == ("down", False)
    assert rs1.check is not None and rs1.check.alive  # its checker still has it up
    (line,) = merged.drift
    assert (
        line.startswith("192.168.1.21:80 in tcp:192.168.1.100:80: keepalived's checker has it up")
        and "removed by an operator" in line
    )


def test_runtime_weight_extra_server_and_unmanaged_service(
    view: ConfigView, runtime: RuntimeState, kernel: Snapshot
) -> None:
    (vs,) = kernel.virtual_services
    rs1, rs2 = vs.real_servers
    extra = RealServer(address="192.168.1.99", port=80, weight=1)
    other = VirtualService(protocol="udp", family="inet", address="192.168.1.100", port=53)
    changed = replace(
        kernel,
        virtual_services=(
            replace(vs, real_servers=(replace(rs1, weight=7), replace(rs2, weight=2), extra)),
            other,
        ),
    )
    merged = merge(changed, view, runtime)
    assert merged.drift == (
        (
            "192.168.1.21:80 in tcp:192.168.1.100:80: weight 7 in the kernel, keepalived's is 3 (a runtime-only "
            "change: keepalived restores 3 at its next transition or reload)"
        ),
        "192.168.1.22:80 in tcp:192.168.1.100:80: inhibited by keepalived (weight 0) but weight 2 in the kernel",
        (
            "192.168.1.99:80 in tcp:192.168.1.100:80: in the kernel but not in keepalived's configuration "
            "(added outside keepalived)"
        ),
        "udp:192.168.1.100:53: in the kernel but not in keepalived's configuration",
    )
    assert rows(merged)["192.168.1.99:80"].check is None  # not keepalived's: no check state
    assert merged.service("udp:192.168.1.100:53") == other


def test_configured_service_missing_from_the_kernel(
    view: ConfigView, runtime: RuntimeState, kernel: Snapshot
) -> None:
    merged = merge(replace(kernel, virtual_services=()), view, runtime)
    assert merged.drift == ("tcp:192.168.1.100:80: in keepalived's configuration but not in the kernel",)


def test_without_a_dump_nothing_is_guessed(view: ConfigView, kernel: Snapshot) -> None:
    failed = RuntimeState(parent_pid=1, errors=("no fresh keepalived_check.data within 3 s",))
    merged = merge(kernel, view, failed)
    rs1, rs2, rs3 = rows(merged).values()
    assert rs1.check is None and rs1.state == "up"
    assert rs2.check is None and rs2.state == "drained"  # weight 0 and nobody says why
    assert (rs3.in_kernel, rs3.check, rs3.state) == (False, None, "down")
    assert merged.drift == ()  # no checker state: no claim about who removed what


def test_kernel_snapshot_untouched_without_keepalived(kernel: Snapshot) -> None:
    merged = merge(kernel, None, None)
    assert merged.virtual_services == kernel.virtual_services and merged.drift == ()


def test_rs_drift_cases() -> None:
    from lvstui.keepalived.runtime import RealServerState

    def state(alive: bool, in_ipvs: bool, eff: int = 1) -> RealServerState:
        return RealServerState("10.0.0.1", 80, 1, eff, alive, 0 if alive else 1, False, in_ipvs)

    k = RealServer(address="10.0.0.1", port=80, weight=1)
    assert rs_drift("v", "r", k, state(True, True)) is None
    assert rs_drift("v", "r", None, state(False, False)) is None  # keepalived removed it
    assert "removed by an operator" in (rs_drift("v", "r", None, state(True, True)) or "")
    assert "down and removed, but it is in the kernel" in (rs_drift("v", "r", k, state(False, False)) or "")
    assert rs_drift("v", "r", replace(k, weight=0), state(False, True)) is None  # inhibited
    assert "did not report it" in (rs_drift("v", "r", None, None) or "")
    assert Path(DATA).is_dir()
