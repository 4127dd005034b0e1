"""``lvstui serve`` in the lab's director, read by a real headless Chromium in the same director.

The cluster is ``lvstui lab``'s (lvstui/lab/scenario.py): keepalived in lb1 (MASTER) and lb2, DR
services :80 and :9000 over rs1..rs3, the client's traffic running.  The guest has no network
link to the host, so the browser runs in the guest too: Debian's chromium from the host's file
system (the guest's root is an overlay of it), on lb1's 127.0.0.1, driven over its DevTools pipe
by tests/serve/page_text.py, which reads the text of the page's xterm.js terminal.

Checked: the page shows every virtual service the kernel has (``snapshot --json``) and their
counts change while traffic runs; and in the served dashboard process a write typed in the
browser (the lab panel's "stop rs1 HTTP", a panel offered read-only because its requests go
through the policy) is refused by the read-only policy of the operations layer, journaled as
refused, and rs1's HTTP service stays up.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lvstui.lab import LabProcess
from lvstui.lab.lab import REPO_DIR
from lvstui.lab.scenario import CONTROL_ENV, GUEST_SOCKET, Cluster, bring_up, lab_spec
from tests.lab.cluster import boot
from tests.lab.keepalived_pair import snapshot
from tests.serve.support import CHROMIUM, NO_CHROMIUM, Page, page_argv

pytestmark = pytest.mark.lab

PORT = 10561
URL = f"http://127.0.0.1:{PORT}/"
STATE = "/tmp/lvstui-serve-state"  # in lb1's own file system
VS80, VS9000 = "tcp:192.168.1.100:80", "tcp:192.168.1.100:9000"
MEM = "1024M"  # chromium, the served dashboard, keepalived pair and traffic in one guest (2048M also passed)
REFUSAL = "lab ctl refused: lvstui is running read-only (--readonly)"
COUNTS = ("Active", "InAct", "CPS", "InPPS", "In B/s")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    if not Path(CHROMIUM).exists():
        pytest.fail(NO_CHROMIUM, pytrace=False)
    lab = boot(lab_spec(), tmp_path_factory.mktemp("serve"), mem=MEM)
    try:
        yield bring_up(lab, lambda _line: None)
    finally:
        lab.close()


@pytest.fixture(scope="module")
def served(cluster: Cluster) -> Iterator[LabProcess]:
    lab = cluster.lab
    env = {"PYTHONPATH": str(REPO_DIR), "LVSTUI_STATE_DIR": STATE, "HOME": "/root",
           CONTROL_ENV: GUEST_SOCKET}  # as `lvstui lab` runs the dashboard: the lab panel is offered
    # a poll every 2 s, as a wall screen would: the guest's one CPU also runs Chromium and the traffic
    proc = lab.spawn("lb1", [lab.venv_python, "-m", "lvstui", "--interval", "2", "serve"], env=env)
    fetch = f"import urllib.request; urllib.request.urlopen({URL!r}, timeout=10).read()"
    lab.wait_for(lambda: lab.run("lb1", [lab.python, "-c", fetch]).ok or lab.poll(proc) is not None,
                 timeout=90, what=f"lvstui serve to answer on {URL}")
    assert lab.poll(proc) is None, lab.poll(proc)
    yield proc
    result = lab.stop(proc, grace=10)
    # its one line: the URL and read-only (the default address: this machine only)
    assert result.stderr.splitlines()[0] == f"lvstui serve: {URL} (read-only dashboard, kernel source)", \
        result.stderr


@pytest.fixture(scope="module")
def page(cluster: Cluster, served: LabProcess) -> Page:
    """One browser session in lb1: the page until both services show, three screens 6 s apart
    while traffic runs, then the lab panel (L) and Enter on its first action, "stop rs1 http"."""
    lab = cluster.lab
    started = time.monotonic()
    argv = page_argv(lab.python, URL, wait_for=(VS80, VS9000), samples=3, gap=6.0, timeout=240,
                     keys=(("L", "rs1: stop HTTP (port 80)"), ("\\r", REFUSAL)))
    r = lab.run("lb1", argv, timeout=540)
    page = Page.parse(r.stdout, r.stderr)
    print(f"browser in lb1: {page.report.get('version')}, first screen with both services after "
          f"{page.report.get('first_screen_seconds')} s, whole session {time.monotonic() - started:.0f} s")
    return page


def test_page_shows_the_services_and_their_counts_change(cluster: Cluster, page: Page) -> None:
    kernel = {vs["id"] for vs in snapshot(cluster.lab, "lb1")["virtual_services"]}
    assert kernel == {VS80, VS9000}, kernel
    assert page.report["waited"], f"the page never showed {VS80} and {VS9000}:\n{page.describe()}"
    assert "READ-ONLY" in page.samples[0], page.describe()
    shown = page.service_rows("tcp:")
    assert all(set(s) == kernel for s in shown), \
        f"the page's services {[sorted(s) for s in shown]} != the kernel's {sorted(kernel)}"
    counts = [tuple(s[VS80][c] for c in COUNTS) for s in shown]
    assert len(set(counts)) > 1, f"{VS80}'s counts {COUNTS} did not change while traffic ran: {counts}"
    assert any(c != ("0",) * len(COUNTS) for c in counts), counts


def test_a_write_typed_in_the_browser_is_refused_by_the_policy(cluster: Cluster, page: Page) -> None:
    lab = cluster.lab
    opened, pressed = page.report["after"]
    assert opened["found"], f"the lab panel did not open on L:\n{opened['screen']}"
    assert pressed["found"], f"Enter on 'stop rs1 http' was not refused:\n{pressed['screen']}"
    journal = [json.loads(line) for line in lab.read_file("lb1", f"{STATE}/journal.jsonl").splitlines()]
    refused = [e for e in journal if e.get("verb") == "lab ctl" and e.get("result") == "refused"]
    assert refused and refused[-1]["action"] == "stop rs1 http" and refused[-1]["actor"] == "tui", journal
    assert not [e for e in journal if e.get("result") != "refused"], journal
    ok, status = cluster.ctl("status")
    assert ok, status
    assert any(x.startswith("rs1 (") and "http up" in x for x in status.splitlines()), status
