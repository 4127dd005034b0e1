"""Lab fixtures: one booted User-Mode Linux guest per session and topology.

A missing lab is a failure, never a skip: CI must install it (scripts/setup.sh), and a
lab that silently does not run would hide every IPVS test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lvstui.lab import Lab, LabError, LabSpec
from tests.lab.cluster import boot, cluster_spec

DR_SPEC = cluster_spec(("http", "tcp"))

# Between tests: empty IPVS and stop ipvsadm's sync daemons, unless keepalived runs in that
# host (a module that starts keepalived once owns that host's table).
FLUSH = (
    '[ -e /run/keepalived.pid ] && kill -0 "$(cat /run/keepalived.pid)" 2>/dev/null && exit 0; '
    "ipvsadm -C; ipvsadm --stop-daemon master 2>/dev/null; ipvsadm --stop-daemon backup 2>/dev/null; true"
)


def _flush(lab: Lab, hosts: list[str | None]) -> None:
    if not lab.alive:
        return
    for host in hosts:
        try:
            lab.sh(host, FLUSH, timeout=30)
        except LabError:
            pass


@pytest.fixture(scope="session")
def lab_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """A guest with no topology: IPVS in the guest's root namespace (host ``None``).

    Session-scoped; its IPVS table is emptied after every test that uses it.
    """
    lab = boot(LabSpec(), tmp_path_factory.mktemp("lab-root"))
    try:
        yield lab
    finally:
        lab.close()


@pytest.fixture(scope="session")
def dr_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """lb1, lb2, rs1-rs3 (HTTP on 80, TCP echo on 9000) and client on br0; no keepalived.

    Session-scoped; tests that use it get the directors' IPVS emptied afterwards by the
    autouse fixture below.
    """
    lab = boot(DR_SPEC, tmp_path_factory.mktemp("dr-lab"))
    try:
        yield lab
    finally:
        lab.close()


@pytest.fixture(autouse=True)
def _flush_ipvs_after_test(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "lab_root" in request.fixturenames:
        _flush(request.getfixturevalue("lab_root"), [None])
    if "dr_lab" in request.fixturenames:
        lab: Lab = request.getfixturevalue("dr_lab")
        _flush(lab, [h.name for h in lab.spec.directors])
        if lab.alive:  # forget where the VIP was: the next test may put it elsewhere
            for client in lab.spec.by_role("client"):
                lab.run(client.name, ["ip", "neigh", "flush", "to", lab.spec.vip])
