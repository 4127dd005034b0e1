"""``lvstui exporter`` in a director of the lab, scraped over HTTP and parsed with prometheus_client.

lb1 (MASTER) and lb2 run keepalived (tests/lab/keepalived_pair.py: a DR virtual_server
192.168.1.100:80 with TCP_CHECKs on rs1..rs3, rs2 with inhibit_on_failure); the client sends
HTTP through the VIP (lvstui/lab/traffic.py).  Checked: with traffic running, for every
service and real server, each counter of ``snapshot --json`` lies between the scrape before and
the scrape after it (and traffic did move them), gauges and states are equal; with traffic
stopped and the table settled, the scrape equals ``snapshot --json`` exactly; a real server
whose service stops is down (inhibited with inhibit_on_failure) by its TCP_CHECK in the metrics;
and a director with keepalived running polls and renders without loading a writer.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from lvstui.exporter import FORBIDDEN
from lvstui.lab import Lab, LabProcess, LabSpec, LabUnavailable, require_uml
from lvstui.lab.lab import REPO_DIR
from lvstui.lab.scenario import TRAFFIC_PY
from tests.exporter.support import CHECK, Samples, parse, value
from tests.lab.keepalived_pair import snapshot, start_pair

pytestmark = pytest.mark.lab

PORT = 10560
VS = "tcp:192.168.1.100:80"
RS_IDS = ("192.168.1.21:80", "192.168.1.22:80", "192.168.1.23:80")
COUNTERS = (("connections", "conns"), ("incoming_packets", "inpkts"), ("outgoing_packets", "outpkts"),
            ("incoming_bytes", "inbytes"), ("outgoing_bytes", "outbytes"))
FETCH = (
    "import sys, urllib.request\n"
    f"sys.stdout.write(urllib.request.urlopen('http://127.0.0.1:{PORT}/metrics', timeout=20).read().decode())\n"
)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    try:
        require_uml()
    except LabUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    spec = LabSpec.dr_cluster(directors=2, real_servers=3, client=True, services=("http",))
    with Lab(spec, workdir=tmp_path_factory.mktemp("exporter")) as lab:
        start_pair(lab)
        lab.run("lb1", ["ipvsadm", "--set", "900", "2", "300"]).check()  # FIN_WAIT entries go within 2 s
        yield lab


@pytest.fixture(scope="module")
def exporter(lab: Lab) -> Iterator[LabProcess]:
    proc = lab.spawn("lb1", [lab.venv_python, "-m", "lvstui", "exporter", "--poll-interval", "0.5"],
                     env={"PYTHONPATH": str(REPO_DIR)})
    lab.wait_for(lambda: lab.run("lb1", [lab.python, "-c", FETCH]).ok or lab.poll(proc) is not None,
                 timeout=60, what="the exporter to answer on 127.0.0.1:10560")
    assert lab.poll(proc) is None, lab.poll(proc).describe()  # type: ignore[union-attr]
    yield proc
    lab.stop(proc)


def scrape(lab: Lab) -> Samples:
    r = lab.run("lb1", [lab.python, "-c", FETCH], timeout=60)
    assert r.ok, r.describe()
    _, samples = parse(r.stdout)
    return samples


def after_next_poll(lab: Lab) -> Samples:
    """A scrape of a poll that started after this call: if the scrape now shows N polls, poll N+1 may
    be under way (it may have read the kernel already), poll N+2 starts after it."""
    polls = value(scrape(lab), "lvstui_polls_total")
    return lab.wait_for(lambda: (s := scrape(lab)) and value(s, "lvstui_polls_total") >= polls + 2 and s,
                        timeout=30, interval=0.2, what="two more polls")  # type: ignore[no-any-return]


def servers(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(vs["id"], rs["id"]): rs for vs in doc["virtual_services"] for rs in vs["real_servers"]}


def gauges(samples: Samples, vs: str, rs: str) -> dict[str, Any]:
    key = {"service": vs, "real_server": rs}
    states = {w: value(samples, "lvstui_real_server_state", state=w, **key)
              for w in ("up", "drained", "down", "inhibited")}
    checks = {dict(k[1])["checker"]: v for k, v in samples.items() if k[0] == "lvstui_real_server_check_up"
              and dict(k[1])["service"] == vs and dict(k[1])["real_server"] == rs}
    return {
        "active": value(samples, "lvstui_real_server_connections_active", **key),
        "persistent": value(samples, "lvstui_real_server_connections_persistent", **key),
        "weight": value(samples, "lvstui_real_server_weight", **key),
        "state": [w for w, v in states.items() if v == 1.0],
        "states_sum": sum(states.values()),
        "check": checks,
    }


def expected_gauges(rs: dict[str, Any]) -> dict[str, Any]:
    check = rs["check"]
    return {"active": rs["active_conns"], "persistent": rs["persistent_conns"], "weight": rs["weight"],
            "state": [rs["state"]], "states_sum": 1.0,
            "check": {check["checker"]: float(check["alive"])} if check else {}}


def counters(samples: Samples, vs: str, rs: str | None = None) -> dict[str, float]:
    if rs is None:
        return {f: value(samples, f"lvstui_virtual_service_{n}_total", service=vs) for n, f in COUNTERS}
    return {f: value(samples, f"lvstui_real_server_{n}_total", service=vs, real_server=rs) for n, f in COUNTERS}


def start_traffic(lab: Lab, rate: float) -> LabProcess:
    lab.write_file("client", "/tmp/exporter-traffic.json",
                   json.dumps({"vip": lab.spec.vip, "rate": rate, "hold": 0, "burst_until": 0}))
    return lab.spawn("client", [lab.python, str(TRAFFIC_PY), "/tmp/exporter-traffic.json", "/tmp/exporter-stats.json"])


def settled(lab: Lab) -> dict[str, Any]:
    def ok() -> dict[str, Any] | None:
        doc = snapshot(lab, "lb1")
        rs = servers(doc)
        states = [rs[(VS, r)]["state"] for r in RS_IDS]
        return doc if states == ["up"] * 3 and doc["vrrp"] and doc["vrrp"][0]["state"] == "MASTER" else None

    return lab.wait_for(ok, timeout=30, what="lb1 MASTER with rs1..rs3 up")  # type: ignore[no-any-return]


def test_scrape_equals_snapshot_json_with_traffic_then_settled(lab: Lab, exporter: LabProcess) -> None:
    settled(lab)
    traffic = start_traffic(lab, 8.0)
    try:
        first = scrape(lab)
        lab.wait_for(lambda: counters(scrape(lab), VS)["conns"] >= counters(first, VS)["conns"] + 20,
                     timeout=60, interval=0.5, what="traffic through the VIP in the exporter's counters")
        before = scrape(lab)
        doc = snapshot(lab, "lb1")
        after = after_next_poll(lab)  # read the kernel after the snapshot did
        table = servers(doc)
        assert {vs for vs, _ in table} == {VS} and len(table) == 3
        moved = 0
        for vs in doc["virtual_services"]:
            lo, hi = counters(before, vs["id"]), counters(after, vs["id"])
            for field in lo:
                assert lo[field] <= vs["stats"][field] <= hi[field], (vs["id"], field, lo, vs["stats"], hi)
            moved += hi["conns"] > lo["conns"]
        for (vs_id, rs_id), rs in table.items():
            lo, hi = counters(before, vs_id, rs_id), counters(after, vs_id, rs_id)
            for field in lo:
                assert lo[field] <= rs["stats"][field] <= hi[field], (rs_id, field, lo, rs["stats"], hi)
            got = gauges(after, vs_id, rs_id)
            want = expected_gauges(rs)
            assert (got["weight"], got["state"], got["states_sum"], got["check"]) == (
                want["weight"], want["state"], want["states_sum"], want["check"]), (rs_id, got, want)
        assert moved == 1, "the traffic did not move the counters between the two scrapes"
    finally:
        lab.stop(traffic)

    # stopped: wait for the table to settle (connections end, the estimator folds the per-CPU counters)
    def quiet() -> dict[str, Any] | None:
        a = snapshot(lab, "lb1")
        time.sleep(2.5)
        b = snapshot(lab, "lb1")
        strip = [(r["stats"], r["active_conns"], r["inactive_conns"]) for r in servers(a).values()]
        return b if strip == [(r["stats"], r["active_conns"], r["inactive_conns"]) for r in servers(b).values()] \
            and all(r["inactive_conns"] == 0 and r["active_conns"] == 0 for r in servers(b).values()) else None

    doc = lab.wait_for(quiet, timeout=150, interval=0.5, what="the IPVS table to settle after the traffic")
    samples = after_next_poll(lab)
    for vs in doc["virtual_services"]:
        assert counters(samples, vs["id"]) == {f: float(v) for f, v in vs["stats"].items()}
    for (vs_id, rs_id), rs in servers(doc).items():
        assert counters(samples, vs_id, rs_id) == {f: float(v) for f, v in rs["stats"].items()}, rs_id
        assert gauges(samples, vs_id, rs_id) == expected_gauges(rs), rs_id
        assert value(samples, "lvstui_real_server_connections_inactive", service=vs_id, real_server=rs_id) == \
            rs["inactive_conns"]
    (vi,) = doc["vrrp"]
    assert value(samples, "lvstui_vrrp_state", vrrp_instance=vi["name"], state="MASTER") == 1.0
    assert value(samples, "lvstui_vrrp_priority", vrrp_instance=vi["name"]) == vi["priority"] == 150
    assert value(samples, "lvstui_vrrp_effective_priority", vrrp_instance=vi["name"]) == vi["effective_priority"]
    assert value(samples, "lvstui_vrrp_split_brain", vrrp_instance=vi["name"]) == 0.0
    assert value(samples, "lvstui_keepalived_up") == 1.0 and value(samples, "lvstui_up") == 1.0
    assert value(samples, "lvstui_poll_errors_total") == 0.0


def test_stopped_real_server_is_down_by_its_checker(lab: Lab, exporter: LabProcess) -> None:
    settled(lab)
    lab.stop_services("rs1", "rs2")
    try:
        def down() -> Samples | None:
            s = scrape(lab)
            rs1, rs2 = gauges(s, VS, RS_IDS[0]), gauges(s, VS, RS_IDS[1])
            return s if rs1["state"] == ["down"] and rs2["state"] == ["inhibited"] else None

        samples = lab.wait_for(down, timeout=30, interval=0.5, what="rs1 down and rs2 inhibited in the metrics")
        rs1, rs2 = gauges(samples, VS, RS_IDS[0]), gauges(samples, VS, RS_IDS[1])
        assert rs1["check"] == {"TCP_CHECK": 0.0} and rs2["check"] == {"TCP_CHECK": 0.0}
        assert rs2["weight"] == 0.0  # inhibit_on_failure: kept in IPVS at weight 0
        assert value(samples, "lvstui_real_server_failed_checkers", service=VS, real_server=RS_IDS[0]) == 1.0
        assert gauges(samples, VS, RS_IDS[2])["state"] == ["up"]
        assert value(samples, "lvstui_virtual_service_real_servers", service=VS, state="up") == 1.0
        doc = snapshot(lab, "lb1")  # and snapshot --json agrees
        assert [servers(doc)[(VS, r)]["state"] for r in RS_IDS] == ["down", "inhibited", "up"]
    finally:
        lab.start_services("rs1", "rs2")
    lab.wait_for(lambda: all(gauges(scrape(lab), VS, r)["state"] == ["up"] for r in RS_IDS), timeout=30,
                 interval=0.5, what="rs1..rs3 up again in the metrics")


def test_director_with_keepalived_loads_no_writer(lab: Lab) -> None:
    r = lab.run("lb1", [lab.venv_python, "-c", CHECK % ""], env={"PYTHONPATH": str(REPO_DIR)}, timeout=120)
    assert r.ok, r.describe()
    out = json.loads(r.stdout.splitlines()[-1])
    assert out["error"] is None and out["vrrp"] == 1  # the real kernel and keepalived were read
    assert "lvstui.keepalived.state" in out["loaded"]
    assert out["bad"] == [], (out["bad"], FORBIDDEN)
