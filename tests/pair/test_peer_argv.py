"""What the operation verbs ask the peer's lvstui to run: the same verb, from the arguments
validated here (lvstui.commands.ops._peer_argv), against the real operations layer on an
in-memory director."""

from __future__ import annotations

from pathlib import Path

import pytest

from lvstui.cli import build_parser
from lvstui.commands.ops import _peer_argv, build_change
from lvstui.model import Forward, RealServer, VirtualService
from lvstui.ops.engine import Operations
from lvstui.ops.journal import Journal, WeightMemory
from tests.ops.test_durable_plan import MemoryDirector

VS, RS1 = "tcp:192.168.1.100:80", "192.168.1.21:80"


def argv_for(tmp_path: Path, *cli: str) -> list[str]:
    args = build_parser().parse_args(list(cli))
    vs = VirtualService(protocol="tcp", family="inet", address="192.168.1.100", port=80, scheduler="wrr",
                        real_servers=(RealServer(address="192.168.1.21", port=80, forward=Forward.DR, weight=3),))
    ops = Operations(MemoryDirector([vs]), journal=Journal(tmp_path / "j"), memory=WeightMemory(tmp_path / "w"),
                     keepalived=None, eqt=lambda: 1)
    return _peer_argv(args, ops, build_change(args))


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
