"""`lvstui conns` on the lab capture (the table is read from a file instead of /proc)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lvstui import cli
from lvstui.backend import conns as conns_backend
from lvstui.backend.conns import ServiceIndex
from lvstui.commands import conns as conns_command
from tests.conns.lab_table import lab_services

CAPTURE = Path(__file__).resolve().parents[2] / "tests" / "data" / "ip_vs_conn_lab.txt"


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conns_backend, "CONN_FILE", str(CAPTURE))
    monkeypatch.setattr(conns_command, "_service_index", lambda: ServiceIndex(lab_services()))


def test_json_has_every_entry_with_the_fields(table: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["conns", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out) == len(CAPTURE.read_text().splitlines()) - 1
    for e in out:
        assert {"protocol", "expires", "state", "source", "virtual", "destination", "template", "service"} <= set(e)
        assert isinstance(e["expires"], int) and isinstance(e["template"], bool) and e["service"]
    tpl = [e for e in out if e["template"] and e["service"] == "fwmark:8:inet6"]
    assert tpl == [{"protocol": "IP", "expires": 237, "state": "NONE", "source": "[2001:db8:1::]:0",
                    "virtual": "[0:8::]:0", "destination": "[2001:db8:1::22]:0", "template": True,
                    "service": "fwmark:8:inet6", "family": "inet6"}]


def test_table_in_ipvsadm_columns_filtered(table: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["conns", "tcp:192.168.1.100:9100", "--state", "time_wait"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:2] == ["IPVS connection entries",
                         "pro expire state       source             virtual            destination"]
    assert sorted(lines[2:]) == [
        "TCP 01:57  TIME_WAIT   192.168.1.50:40011 192.168.1.100:9100 192.168.1.250:9100",
        "TCP 01:57  TIME_WAIT   192.168.1.50:40012 192.168.1.100:9100 192.168.1.250:9100",
    ]


def test_empty_json_is_an_empty_list(table: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["conns", "--json", "--client", "10.0.0.0/8"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_bad_arguments_are_one_line_and_exit_2(table: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["conns", "tcp:192.168.1.100"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("lvstui: ")
