"""The one way a lab test boots a guest: ``boot`` (a missing lab fails, never skips) and
``module_cluster``, the DR cluster a module owns for all of its tests (one boot per module).

A module that changes keepalived, VRRP or the real servers' services cannot share the
session's ``dr_lab`` (tests/lab/conftest.py) with the rest: it gets its own cluster::

    @pytest.fixture(scope="module")
    def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
        yield from module_cluster(tmp_path_factory, "kastate", ("http",), start=start_pair)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lvstui.lab import Lab, LabSpec, LabUnavailable, require_uml


def boot(spec: LabSpec, workdir: Path, mem: str | None = None) -> Lab:
    """A started lab of ``spec``; a host that cannot run the lab fails the test (CI must have it)."""
    try:
        require_uml()
        return Lab(spec, workdir=workdir, mem=mem).start()
    except LabUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)


def cluster_spec(services: tuple[str, ...], mgmt: tuple[str, ...] = ()) -> LabSpec:
    """lb1, lb2, rs1..rs3 serving ``services`` (``http`` on 80, ``tcp`` echo on 9000) and a client;
    ``mgmt``: the hosts on the management network too (``("lb1", "lb2")``: the pair's SSH link)."""
    return LabSpec.dr_cluster(directors=2, real_servers=3, client=True, services=services, mgmt=mgmt)


def module_cluster(
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    services: tuple[str, ...],
    start: Callable[[Lab], object] | None = None,
    mgmt: tuple[str, ...] = (),
) -> Iterator[Lab]:
    """Boots the cluster, runs ``start(lab)`` (keepalived, say), yields the lab, always closes it.

    For a module-scoped fixture: ``yield from module_cluster(...)``."""
    lab = boot(cluster_spec(services, mgmt), tmp_path_factory.mktemp(name))
    try:
        if start is not None:
            start(lab)
        yield lab
    finally:
        lab.close()
