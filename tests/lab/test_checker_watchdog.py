"""The checker watchdog on the real keepalived pair (issue 15, item 6): lb1's checker process
stopped (SIGSTOP: a hung checker, which keeps its real servers' last states in IPVS) is an alarm
in ``snapshot --json``'s ``keepalived.alarms``: at once for a fresh process that never heard it,
after the stale limit for a process that did; gone once the checker runs again."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from lvstui.lab import Lab
from lvstui.lab.lab import KEEPALIVED_PIDS, REPO_DIR
from tests.lab.cluster import module_cluster
from tests.lab.keepalived_pair import snapshot, start_pair

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    yield from module_cluster(tmp_path_factory, "watchdog", ("http",), start=start_pair)


def test_a_hung_checker_raises_the_alarm(lab: Lab) -> None:
    ok = snapshot(lab, "lb1")["keepalived"]
    assert ok["alarms"] == [] and ok["checker_reported_at"] is not None, ok
    checker = lab.read_file("lb1", KEEPALIVED_PIDS[2]).strip()
    # a process that heard the checker, then stops hearing it: 35 snapshots 1 s apart, the
    # checker stopped after the first few (the alarm comes 15 s after its last answer)
    watch = lab.spawn("lb1", [lab.venv_python, "-m", "lvstui", "snapshot", "--json", "--repeat", "35",
                              "--interval", "1"], env={"PYTHONPATH": str(REPO_DIR)})
    time.sleep(6)
    lab.sh("lb1", f"kill -STOP {checker}").check()
    try:
        result = lab.wait(watch, timeout=120)
        docs = [json.loads(line) for line in result.stdout.splitlines()]
        assert docs[0]["keepalived"]["alarms"] == [], docs[0]["keepalived"]
        last = docs[-1]["keepalived"]
        assert any("keepalived's checker last reported" in a and "is the checker hung?" in a
                   for a in last["alarms"]), last
        # a fresh process never hears it at all
        fresh = snapshot(lab, "lb1")["keepalived"]
        assert any("has not answered a dump since lvstui started" in a for a in fresh["alarms"]), fresh
    finally:
        lab.sh("lb1", f"kill -CONT {checker}")
    lab.wait_for(lambda: snapshot(lab, "lb1")["keepalived"]["alarms"] == [], timeout=30,
                 what="the alarm to clear once the checker runs again")
