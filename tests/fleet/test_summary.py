"""One pair's directors' views into one row: who is MASTER, split brain, the counts and the alarms."""

from __future__ import annotations

from dataclasses import replace

from lvstui.demo import DemoSource
from lvstui.fleet.spec import DirectorSpec, PairSpec
from lvstui.fleet.summary import summarise
from lvstui.model import KeepalivedHealth, PeerView, Snapshot, VrrpInstance

PAIR = PairSpec("web", (DirectorSpec("lb1"), DirectorSpec("lb2")))


def table(t: float = 40.0) -> Snapshot:
    return DemoSource(seed=7, clock=lambda: 0.0).snapshot_at(t)


def vi(state: str, vrid: int = 51, vips: tuple[str, ...] = ("192.0.2.10",)) -> VrrpInstance:
    return VrrpInstance("VI_1", state, 100, 100, vips=vips, virtual_router_id=vrid)


def view(host: str, snap: Snapshot | None, *, stale: bool = False, error: str | None = None,
         age: float | None = 0.5, via: str = "lvstui") -> PeerView:
    return PeerView(host, snap is not None, error, snap, 1.0 if snap else None, age if snap else None, stale, via)


def test_master_backup_counts_from_the_master() -> None:
    snap = table()
    servers = [rs for vs in snap.virtual_services for rs in vs.real_servers]
    row = summarise(PAIR, (view("lb1", replace(snap, vrrp=(vi("BACKUP"),))),
                           view("lb2", replace(snap, vrrp=(vi("MASTER"),), virtual_services=snap.virtual_services[:1]))))
    assert [d.status for d in row.directors] == ["read", "read"] and row.stale == 0
    assert [(i.vrid, i.masters) for i in row.instances] == [(51, ("lb2",))]
    assert row.split_brain == () and row.alarms == ()
    assert row.table_from == "lb2" and not row.table_stale  # the director carrying the traffic
    first = snap.virtual_services[0].real_servers
    assert (row.up, row.total) == (sum(rs.state == "up" for rs in first), len(first))
    assert row.total < len(servers)
    assert row.vips == ("192.0.2.10",)


def test_both_master_is_split_brain_and_an_alarm() -> None:
    snap = table()
    row = summarise(PAIR, (view("lb1", replace(snap, vrrp=(vi("MASTER"),))),
                           view("lb2", replace(snap, vrrp=(vi("MASTER"),)))))
    assert row.split_brain == (51,) and row.instances[0].masters == ("lb1", "lb2")
    assert row.alarms == ("split brain on VRID 51",)


def test_a_stale_director_says_nothing_about_now() -> None:
    snap = table()
    row = summarise(PAIR, (view("lb1", replace(snap, vrrp=(vi("MASTER"),)), stale=True, age=42.0,
                                error="no snapshot from lb1 for 42 s"),
                           view("lb2", replace(snap, vrrp=(vi("BACKUP"),)))))
    a, b = row.directors
    assert (a.status, a.age, a.error) == ("stale", 42.0, "no snapshot from lb1 for 42 s")
    assert (b.status, b.error) == ("read", None)
    assert row.instances[0].masters == () and row.split_brain == ()  # the stale MASTER is not counted
    assert row.table_from == "lb2" and row.stale == 1
    assert row.alarms == ("lb1: no snapshot from lb1 for 42 s",)


def test_nothing_read_counts_nothing() -> None:
    row = summarise(PAIR, (view("lb1", None, stale=True, error="lb1:22: connection refused"),
                           view("lb2", None, stale=True, error="not read yet")))
    assert [d.status for d in row.directors] == ["unread", "connecting"]
    assert row.table_from == "" and (row.up, row.total, row.drained) == (0, 0, 0)
    assert row.alarms == ("lb1: lb1:22: connection refused",)  # still connecting is not an alarm
    assert row.instances == () and row.vips == ()


def test_only_stale_snapshots_give_the_freshest_table_marked_stale() -> None:
    snap = table()
    row = summarise(PAIR, (view("lb1", snap, stale=True, age=90.0, error="e1"),
                           view("lb2", replace(snap, virtual_services=()), stale=True, age=30.0, error="e2")))
    assert row.table_from == "lb2" and row.table_stale and row.total == 0


def test_ipvsadm_read_directors_give_the_service_addresses_as_vips() -> None:
    snap = replace(table(), vrrp=())
    row = summarise(PAIR, (view("lb1", snap, via="ipvsadm"), view("lb2", snap, via="ipvsadm")))
    assert row.vips == tuple(dict.fromkeys(vs.address or vs.id for vs in snap.virtual_services))
    assert row.instances == () and row.directors[0].via == "ipvsadm"


def test_keepalived_alarms_drift_and_drained_servers() -> None:
    snap = table()
    ka = KeepalivedHealth("degraded", alarms=("checker stopped reporting",), errors=("dump unreadable",))
    row = summarise(PAIR, (view("lb1", replace(snap, vrrp=(vi("MASTER"),), keepalived=ka, drift=("weight 0",))),
                           view("lb2", replace(snap, vrrp=(vi("BACKUP"),)))))
    assert row.alarms == ("lb1: checker stopped reporting", "lb1: dump unreadable", "lb1: drift: weight 0")
    drained = sum(rs.state == "drained" for vs in snap.virtual_services for rs in vs.real_servers)
    assert row.drained == drained and drained > 0  # the demo drains one at t=40
