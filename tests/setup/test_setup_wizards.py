"""Real-server and director plans: validation of the forms, rendered files, keepalived -t on them."""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path

import pytest

from lvstui.setup import validate as v
from lvstui.setup.director import (
    HostFacts,
    director_plan,
    keepalived_conf,
    load_director_spec,
    parse_director_spec,
)
from lvstui.setup.plan import AddressStep, FileStep, SysctlStep
from lvstui.setup.realserver import RealServerSpec, realserver_plan

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "director.toml"


def example() -> dict:
    return tomllib.loads(EXAMPLE.read_text())


def test_realserver_spec_refuses_injection_before_anything() -> None:
    with pytest.raises(v.ValidationError, match="VIP"):
        RealServerSpec.parse(["192.168.1.100", "1.2.3.4; rm -rf /"])
    with pytest.raises(v.ValidationError):
        RealServerSpec.parse(["192.168.1.100"], port="80; reboot")
    with pytest.raises(v.ValidationError):
        RealServerSpec.parse([])


@pytest.mark.parametrize("how,path,needle", [
    ("unit", "/etc/systemd/system/lvstui-vip.service", "ExecStart=/sbin/ip addr replace 192.168.1.100/32 dev lo"),
    ("networkd", "/etc/systemd/network/90-lvstui-lo.network", "Address=2001:db8::64/128"),
    ("ifupdown", "/etc/network/interfaces.d/lvstui-vip", "iface lo inet6 static\n    address 2001:db8::64/128"),
])
def test_realserver_plan_persistence(how: str, path: str, needle: str) -> None:
    spec = RealServerSpec.parse(["192.168.1.100", "2001:db8::64", "192.168.1.100/32"], 80)
    assert spec.vips == ("192.168.1.100/32", "2001:db8::64/128")
    plan = realserver_plan(spec, how)
    files = {s.path: s.content for s in plan.steps if isinstance(s, FileStep)}
    assert needle in files[path]
    assert "net.ipv4.conf.all.arp_announce = 2" in files["/etc/sysctl.d/90-lvstui-dr.conf"]
    assert [(s.name, s.value) for s in plan.steps if isinstance(s, SysctlStep)] == [
        ("net.ipv4.conf.lo.arp_ignore", "1"), ("net.ipv4.conf.all.arp_ignore", "1"),
        ("net.ipv4.conf.lo.arp_announce", "2"), ("net.ipv4.conf.all.arp_announce", "2")]
    assert [s.cidr for s in plan.steps if isinstance(s, AddressStep)] == list(spec.vips)
    assert [s.kind for s in plan.steps][-3:] == ["verify"] * 3


def test_explicit_persistence_wins() -> None:
    plan = realserver_plan(RealServerSpec.parse(["10.0.0.1"], None, "ifupdown"), "unit")
    assert any(isinstance(s, FileStep) and s.path.endswith("lvstui-vip") for s in plan.steps)


def test_example_parses_and_keepalived_accepts_both_configs(tmp_path: Path) -> None:
    spec = load_director_spec(EXAMPLE)
    assert [d.state for d in spec.directors] == ["MASTER", "BACKUP"]
    for d in spec.directors:
        conf = keepalived_conf(spec, d)
        assert f"state {d.state}" in conf and f"priority {d.priority}" in conf
        path = tmp_path / f"{d.state}.conf"
        path.write_text(conf)
        done = subprocess.run(["keepalived", "-t", "-f", str(path)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr


def test_http_get_nat_persistence(tmp_path: Path) -> None:
    data = example()
    data["health_check"] = {"type": "HTTP_GET", "path": "/health", "status": 204, "connect_timeout": 2}
    data["virtual_server"].update(lb_kind="nat", lb_algo="WLC", persistence_timeout=300)
    data["real_server"][1]["weight"] = 3
    spec = parse_director_spec(data, ["root@lb1", "root@lb2:2222"])
    conf = keepalived_conf(spec, spec.directors[1])
    for needle in ("lb_kind NAT", "lb_algo wlc", "persistence_timeout 300", "path /health",
                   "status_code 204", "weight 3", "state BACKUP", "router_id lvstui_lb2_2222"):
        assert needle in conf
    (tmp_path / "k.conf").write_text(conf)
    assert subprocess.run(["keepalived", "-t", "-f", str(tmp_path / "k.conf")]).returncode == 0


@pytest.mark.parametrize("mutate,message", [
    (lambda d: d["virtual_server"].update(vip="1.2.3.4; rm -rf /"), "virtual_server.vip"),
    (lambda d: d["vrrp"].update(auth_pass="123456789"), "at most 8"),
    (lambda d: d["vrrp"].update(interface="eth0 up"), "vrrp.interface"),
    (lambda d: d["vrrp"].update(virtual_router_id=300), "virtual_router_id"),
    (lambda d: d["real_server"][0].update(weight=-1), "real_server 1.weight"),
    (lambda d: d["real_server"][1].update(address="192.168.1.21"), "listed twice"),
    (lambda d: d["director"][1].update(priority=200), "MASTER's priority"),
    (lambda d: d["director"][1].update(state="MASTER"), "one must be MASTER"),
    (lambda d: d["director"][0].update(host="lb1;reboot"), "director 1.host"),
    (lambda d: d["virtual_server"].update(lb_algo="roundrobin"), "lb_algo"),
    (lambda d: d["health_check"].update(type="PING"), "TCP_CHECK or HTTP_GET"),
    (lambda d: d["health_check"].update(path='/x" }'), "health_check.path"),
    (lambda d: d.update(extra=1), "unknown key 'extra'"),
    (lambda d: d["vrrp"].pop("auth_pass"), "needs auth_pass"),
])
def test_bad_forms_are_refused(mutate, message: str) -> None:  # type: ignore[no-untyped-def]
    data = example()
    mutate(data)
    with pytest.raises(v.ValidationError, match=message):
        parse_director_spec(data)


def test_host_count_must_match() -> None:
    with pytest.raises(v.ValidationError, match="1 host"):
        parse_director_spec(example(), ["lb1"])


def test_director_plan_shapes() -> None:
    spec = load_director_spec(EXAMPLE)
    bare = director_plan(spec, spec.directors[0], HostFacts("apt", ("keepalived",), False))
    titles = [s.title for s in bare.steps]
    assert titles[0] == "install keepalived (apt)"
    assert "start keepalived (no systemd on this host)" in titles
    assert titles[-1] == "VRRP instance VI_1 is MASTER"
    with_systemd = director_plan(spec, spec.directors[1], HostFacts("dnf", (), True))
    assert "enable and start keepalived" in [s.title for s in with_systemd.steps]
    conf = next(s for s in with_systemd.steps if isinstance(s, FileStep))
    assert conf.validate == ("keepalived", "-t", "-f", "{}") and "state BACKUP" in conf.content


def test_the_vip_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    """systemd's own checker reads the unit the 'unit' persistence writes (read-only, no systemd needed)."""
    plan = realserver_plan(RealServerSpec.parse(["192.168.1.100", "2001:db8::64"]), "unit")
    unit = next(s for s in plan.steps if isinstance(s, FileStep) and s.path.endswith(".service"))
    path = tmp_path / "lvstui-vip.service"
    path.write_text(unit.content)
    done = subprocess.run(["systemd-analyze", "verify", str(path)], capture_output=True, text=True)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    broken = tmp_path / "broken.service"
    broken.write_text(unit.content.replace("Type=oneshot", "Type=oneshoot"))
    assert subprocess.run(["systemd-analyze", "verify", str(broken)], capture_output=True).returncode != 0
