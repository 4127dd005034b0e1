"""examples/: the Grafana dashboard and the alert rules name only metrics a scrape really has.

The scrape is of ``lvstui exporter``'s HTTP server over the demo director; label matchers
(``metric{label=...}``) must name labels that metric carries in that scrape.
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lvstui.demo import DemoSource
from lvstui.exporter.server import Exporter
from tests.exporter.support import Clock, parse

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NAME = re.compile(r"\b((?:lvstui|process)_[a-z0-9_]+)\b(\{[^}]*\})?")
MATCHER = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)\s*\"")


@pytest.fixture(scope="module")
def scrape() -> tuple[set[str], dict[str, set[str]]]:
    """(every family and sample name, labels seen per sample name) of a demo scrape over HTTP."""
    exporter = Exporter(DemoSource(clock=Clock(40.0)), interval=3600.0, listen=("127.0.0.1", 0)).start()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{exporter.listen[1]}/metrics", timeout=10) as r:
            types, samples = parse(r.read())
    finally:
        exporter.close()
    labels: dict[str, set[str]] = {}
    for name, pairs in samples:
        labels.setdefault(name, set()).update(k for k, _ in pairs)
    return set(types) | {name for name, _ in samples}, labels


def _exprs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("expr", "query", "definition") and isinstance(value, str):
                yield value
            else:
                yield from _exprs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _exprs(item)


def dashboard_exprs() -> list[str]:
    return list(_exprs(json.loads((EXAMPLES / "grafana-lvstui.json").read_text())))


def rule_exprs() -> list[str]:
    """The rules file's ``expr:`` lines (each rule's expression is kept on one line)."""
    text = (EXAMPLES / "prometheus-alerts.yml").read_text()
    alerts = re.findall(r"^\s+- alert: (\w+)$", text, re.MULTILINE)
    exprs = re.findall(r"^\s+expr: (.+)$", text, re.MULTILINE)
    assert len(alerts) == len(exprs) >= 8, (alerts, exprs)
    return exprs


def check(exprs: list[str], scrape: tuple[set[str], dict[str, set[str]]]) -> set[str]:
    names, labels = scrape
    used: set[str] = set()
    for expr in exprs:
        for name, matchers in NAME.findall(expr):
            used.add(name)
            assert name in names, f"{name} (in {expr!r}) is not in a scrape of the demo"
            for label in MATCHER.findall(matchers or ""):
                if label == "instance" or name not in labels:  # the target's label; a family with no samples
                    continue
                assert label in labels[name], f"{name} has no label {label!r} (in {expr!r})"
    return used


def test_dashboard_metrics_exist(scrape: tuple[set[str], dict[str, set[str]]]) -> None:
    used = check(dashboard_exprs(), scrape)
    assert {"lvstui_up", "lvstui_virtual_service_connections_total", "lvstui_real_server_state",
            "lvstui_vrrp_split_brain"} <= used


def test_alert_rules_metrics_exist(scrape: tuple[set[str], dict[str, set[str]]]) -> None:
    used = check(rule_exprs(), scrape)
    assert {"lvstui_real_server_state", "lvstui_vrrp_split_brain", "lvstui_real_server_connections_active",
            "lvstui_keepalived_state_timestamp_seconds", "lvstui_poll_errors_total"} <= used


def test_the_check_can_fail(scrape: tuple[set[str], dict[str, set[str]]]) -> None:
    with pytest.raises(AssertionError, match="not in a scrape"):
        check(['rate(lvstui_real_server_conections_total[5m])'], scrape)
    with pytest.raises(AssertionError, match="no label 'state'"):
        check(['lvstui_real_server_weight{state="up"}'], scrape)
