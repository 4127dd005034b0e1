"""What the operation verbs ask the peer's lvstui to run: the same verb, from the arguments
validated here (lvstui.pair.argv.peer_argv), against the real operations layer on an
in-memory director."""

from __future__ import annotations

from pathlib import Path

import pytest

from lvstui.cli import build_parser, main
from lvstui.commands.ops import build_change
from lvstui.model import Forward, RealServer, VirtualService
from lvstui.ops import changes as c
from lvstui.ops.engine import Operations
from lvstui.ops.journal import Journal, WeightMemory
from lvstui.ops.targets import parse_server_id, parse_service_id
from lvstui.pair.argv import asking_record, parse_asker, peer_argv
from tests.ops.test_durable_plan import MemoryDirector

VS, RS1 = "tcp:192.168.1.100:80", "192.168.1.21:80"


def argv_for(tmp_path: Path, *cli: str) -> list[str]:
    args = build_parser().parse_args(list(cli))
    vs = VirtualService(protocol="tcp", family="inet", address="192.168.1.100", port=80, scheduler="wrr",
                        real_servers=(RealServer(address="192.168.1.21", port=80, forward=Forward.DR, weight=3),))
    ops = Operations(MemoryDirector([vs]), journal=Journal(tmp_path / "j"), memory=WeightMemory(tmp_path / "w"),
                     keepalived=None, eqt=lambda: 1)
    change = build_change(args)
    return peer_argv(change, ops, force=bool(getattr(args, "force", False)), runtime_only=args.runtime_only)


@pytest.mark.parametrize(("cli", "expected"), [
    (("drain", VS, RS1, "--force", "--wait"), ["drain", VS, RS1, "--force"]),
    (("restore", VS, RS1, "--runtime-only"), ["restore", VS, RS1, "--runtime-only"]),
    (("weight", VS, RS1, "+2"), ["weight", VS, RS1, "5"]),  # the weight it gives here, not relative
    (("weight", VS, RS1, "7"), ["weight", VS, RS1, "7"]),
    (("add-rs", VS, "192.168.1.22:80", "--weight", "4", "--forward", "TUN"),
     ["add-rs", VS, "192.168.1.22:80", "--weight", "4", "--forward", "TUN", "--upper", "0", "--lower", "0"]),
    (("remove-rs", VS, RS1), ["remove-rs", VS, RS1]),
    (("drain-host", "192.168.1.21"), ["drain-host", "192.168.1.21"]),
    (("edit-vs", VS, "--scheduler", "rr"), ["edit-vs", VS, "--scheduler", "rr"]),
    (("--peer", "lb2", "remove-vs", VS, "--force"), ["remove-vs", VS, "--force"]),
])
def test_the_same_verb_for_the_peer(tmp_path: Path, cli: tuple[str, ...], expected: list[str]) -> None:
    assert argv_for(tmp_path, *cli) == expected


def test_peer_after_the_verb_and_local_only_parse() -> None:
    args = build_parser().parse_args(["drain", VS, RS1, "--peer", "lb2:2222", "--local-only"])
    assert args.peer == "lb2:2222" and args.local_only is True


@pytest.mark.parametrize("change", [
    c.EditService(parse_service_id(VS), c.ServiceSettings(scheduler="sh", persistence_timeout=300,
                                                          netmask="255.255.255.0", flags="sh-port")),
    c.AddService(parse_service_id("udp:192.168.1.100:5060"), c.ServiceSettings(persistence_engine="sip")),
    c.AddServer(parse_service_id(VS), parse_server_id("192.168.1.22:80"), weight=4, forward=Forward.NAT, upper=9),
    c.SetWeight(parse_service_id(VS), parse_server_id(RS1), weight=0),
    c.RemoveServer(parse_service_id(VS), parse_server_id(RS1), force=True),
    c.RestoreHost("192.168.1.21"),
])
def test_the_peers_argv_parses_back_to_the_same_change(tmp_path: Path, change: c.Change) -> None:
    """What the dashboard sends (a change object, no CLI arguments) is that change on the peer."""
    ops = Operations(MemoryDirector([]), journal=Journal(tmp_path / "j"), memory=WeightMemory(tmp_path / "w"),
                     keepalived=None, eqt=lambda: 1)
    argv = peer_argv(change, ops)
    assert build_change(build_parser().parse_args(argv)) == change, argv


def test_a_setting_of_the_whole_table_is_not_sent(tmp_path: Path) -> None:
    ops = Operations(MemoryDirector([]), journal=Journal(tmp_path / "j"), memory=WeightMemory(tmp_path / "w"),
                     keepalived=None, eqt=lambda: 1)
    with pytest.raises(TypeError, match="made per director"):
        peer_argv(c.SetExpireQuiescent(1), ops)


@pytest.mark.parametrize("cli", [
    ("drain", VS, RS1, "--on-behalf-of", "lb1;reboot"),
    ("drain", VS, RS1, "--on-behalf-of", ""),
    ("drain", VS, RS1, "--on-behalf-of", "lb1", "--peer", "lb2"),  # asked by the peer: never forwarded
    ("drain", VS, RS1, "--on-behalf-of", "lb1", "--local-only"),
    ("undo", "0123abcd", "--yes", "--on-behalf-of=-lb1"),
])
def test_a_bad_on_behalf_of_is_refused_before_anything(cli: tuple[str, ...], tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("LVSTUI_STATE_DIR", str(tmp_path / "state"))
    assert main(list(cli)) == 2
    err = capsys.readouterr().err
    assert err.startswith("lvstui: --on-behalf-of") and err.count("\n") == 1, err
    assert not (tmp_path / "state").exists()  # nothing journaled, nothing locked: nothing was touched


def test_on_behalf_of_is_the_peers_record_with_the_address_ssh_came_from() -> None:
    assert parse_asker("LB1.example.net.") == "LB1.example.net"
    assert parse_asker("[2001:db8::1]") == "2001:db8::1"
    assert asking_record("lb1", {"SSH_CLIENT": "192.168.1.11 50122 22"}) == {
        "host": "lb1", "role": "asking", "address": "192.168.1.11"}
    assert asking_record("lb1", {"SSH_CLIENT": "not-an-address 1 22"}) == {"host": "lb1", "role": "asking"}
    assert asking_record("lb1", {}) == {"host": "lb1", "role": "asking"}
