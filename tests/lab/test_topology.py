"""The lab's spec and what the guest root runs to build it (no guest booted): the management
network (``LabSpec(mgmt=...)``), its addresses, /etc/hosts names and the setup script."""

from __future__ import annotations

import pytest

from lvstui.lab import HostSpec, LabSpec
from lvstui.lab.topology import host_setup, hosts_file, setup_script

PAIR = LabSpec.dr_cluster(directors=2, real_servers=1, client=False, mgmt=("lb1", "lb2"))


def batch(script: str, command: str) -> list[str]:
    """The lines of the here-document fed to *command* in the setup script."""
    head = f"{command} <<'EOF'\n"
    assert head in script, script
    return script.split(head, 1)[1].split("\nEOF", 1)[0].splitlines()


def test_mgmt_addresses_and_names() -> None:
    assert (PAIR.mgmt_ipv4("lb1"), PAIR.mgmt_ipv4("lb2")) == ("10.0.0.11", "10.0.0.12")
    assert PAIR.mgmt_ipv6("lb2") == "2001:db8:2::12"
    lines = hosts_file(PAIR).splitlines()
    assert lines[-4:] == ["10.0.0.11 lb1-mgmt", "2001:db8:2::11 lb1-mgmt",
                          "10.0.0.12 lb2-mgmt", "2001:db8:2::12 lb2-mgmt"]
    assert "192.168.1.12 lb2" in lines  # the LAN names stay as they were
    assert host_setup(PAIR, PAIR.host("rs1"))["files"]["/etc/hosts"] == hosts_file(PAIR)
    with pytest.raises(KeyError, match="'rs1' is not on the management network"):
        PAIR.mgmt_ipv4("rs1")


def test_setup_script_gives_the_mgmt_hosts_eth1_on_their_own_bridge() -> None:
    script = setup_script(PAIR)
    root = batch(script, "ip -batch -")
    assert root[root.index("link add br1 type bridge forward_delay 0") + 1] == "link set br1 up"
    assert not [line for line in root if "dev br1" in line], "the management bridge has no address in the guest root"
    for name in ("lb1", "lb2"):
        i = root.index(f"link add m-{name} type veth peer name eth1 netns {name}")
        assert root[i + 1] == f"link set m-{name} master br1 up"
        assert root.index(f"netns add {name}") < i
    assert not [line for line in root if "m-rs1" in line]
    assert batch(script, "ip -n lb2 -batch -")[4:] == [
        "link set eth1 up", "addr add 10.0.0.12/24 dev eth1", "addr add 2001:db8:2::12/64 dev eth1 nodad"]
    assert not [line for line in batch(script, "ip -n rs1 -batch -") if "eth1" in line]


def test_without_mgmt_nothing_changes() -> None:
    spec = LabSpec.dr_cluster(directors=2, real_servers=1, client=False)
    script = setup_script(spec)
    assert "br1" not in script and "eth1" not in script and "-mgmt" not in hosts_file(spec)
    assert batch(script, "ip -batch -")[:4] == [
        "link add br0 type bridge forward_delay 0", "link set br0 up",
        "addr add 192.168.1.1/24 dev br0", "addr add 2001:db8:1::1/64 dev br0 nodad"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mgmt": ("lb1", "lb9")}, r"management network: no lab host named 'lb9' \(hosts: lb1, lb2\)"),
        ({"mgmt": ("lb1", "lb1")}, "each host once"),
        ({"mgmt": ("lb1",), "mgmt_bridge": "br0"}, r"must differ from the LAN's \(br0\)"),
    ],
)
def test_bad_mgmt_is_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LabSpec(hosts=(HostSpec("lb1", 11), HostSpec("lb2", 12)), **kwargs)  # type: ignore[arg-type]


def test_a_string_for_mgmt_is_refused() -> None:
    with pytest.raises(TypeError, match=r"not the string 'lb1' \(for one host: mgmt=\('lb1',\)\)"):
        LabSpec(hosts=(HostSpec("lb1", 11),), mgmt="lb1")  # type: ignore[arg-type]


def test_a_systemd_host_cannot_be_on_the_mgmt_network() -> None:
    with pytest.raises(ValueError, match=r"sd1 boot.*only eth0"):
        LabSpec(hosts=(HostSpec("sd1", 31, init="systemd"),), mgmt=("sd1",))
