"""The dashboard's operations against the real IPVS kernel (User-Mode Linux lab).

The guest builds a table, runs the dashboard as ``lvstui`` builds it (composed source, its
own kernel client for writes), presses the keys, and saves ``ipvsadm -S -n`` around each
operation: each must change exactly the intended lines and nothing else.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lvstui.lab import Lab, LabSpec, LabUnavailable, require_uml

pytestmark = pytest.mark.lab

REPO = str(Path(__file__).resolve().parents[2])
VIP = "10.200.0.1"


@pytest.fixture(scope="module")
def guest(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    try:
        require_uml()
        lab = Lab(LabSpec(), workdir=tmp_path_factory.mktemp("ops-lab")).start()
    except LabUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        r = lab.run(None, [lab.venv_python, str(Path(__file__).with_name("guest_ops.py"))],
                    env={"PYTHONPATH": REPO, "TEXTUAL_ANIMATIONS": "none"}, timeout=600)
        r.check()
        yield json.loads(r.stdout.strip().splitlines()[-1])
    finally:
        lab.close()


def diff(step: dict[str, Any]) -> tuple[set[str], set[str]]:
    before, after = set(step["before"]), set(step["after"])
    return before - after, after - before


def rs(port: int, last: int, weight: int) -> str:
    return f"-a -t {VIP}:{port} -r 10.200.1.{last}:{port} -g -w {weight}"


def test_the_dashboard_writes_through_its_own_kernel_client(guest: dict[str, Any]) -> None:
    assert guest["source"] == "DirectorSource" and guest["director"] == "IpvsClient"


@pytest.mark.parametrize("name, removed, added", [
    ("drain", {rs(80, 12, 10)}, {rs(80, 12, 0)}),
    ("restore", {rs(80, 12, 0)}, {rs(80, 12, 10)}),
    ("weight_up", {rs(80, 12, 10)}, {rs(80, 12, 11)}),
    ("set_weight", {rs(80, 13, 10)}, {rs(80, 13, 7)}),
    ("drain_host", {rs(80, 13, 7), rs(443, 13, 10)}, {rs(80, 13, 0), rs(443, 13, 0)}),
    ("tagged_drain", {rs(80, 11, 10), rs(80, 12, 11)}, {rs(80, 11, 0), rs(80, 12, 0)}),
    ("add_rs", set(), {f"-a -t {VIP}:80 -r 10.200.1.20:80 -g -w 3"}),
])
def test_each_operation_changes_exactly_what_it_said(guest: dict[str, Any], name: str, removed: set[str],
                                                     added: set[str]) -> None:
    step = guest[name]
    assert step["confirmed"] and step["ok"], step["message"]
    assert diff(step) == (removed, added), step
