"""The IPVS table as ``ipvsadm -S -n`` writes it (rules ``ipvsadm -R`` reads back).

ipvsadm's lines (1.31, checked line for line in the lab, tests/lab/test_ipvsadm_verbs.py):
``-A`` per service then ``-a`` per real server, in the kernel-listing order ipvsadm uses.
Like ipvsadm, no connection thresholds (``-x``/``-y``), timeouts or sync daemons.
"""

from __future__ import annotations

from collections.abc import Iterator

from lvstui.model import Forward, RealServer, Snapshot, VirtualService, format_endpoint

__all__ = ["save_lines"]

_PROTOCOL_FLAG = {"tcp": "-t", "udp": "-u", "sctp": "--sctp-service"}
_FORWARD_FLAG = {Forward.DR: "-g", Forward.LOCAL: "-g", Forward.NAT: "-m", Forward.TUN: "-i"}


def _service_key(vs: VirtualService) -> str:
    if vs.fwmark:
        return f"-f {vs.fwmark}" + (" -6" if vs.family == "inet6" else "")
    assert vs.protocol is not None and vs.address is not None and vs.port is not None
    return f"{_PROTOCOL_FLAG[vs.protocol]} {format_endpoint(vs.address, vs.port)}"


def _service_line(vs: VirtualService) -> str:
    parts = [f"-A {_service_key(vs)} -s {vs.scheduler}"]
    if vs.persistence_timeout:
        parts.append(f"-p {vs.persistence_timeout}")
        default = "128" if vs.family == "inet6" else "255.255.255.255"
        if vs.netmask != default:
            parts.append(f"-M {vs.netmask}")
    if "ops" in vs.flags:
        parts.append("-o")
    sched_flags = [f for f in vs.flags if f not in ("persistent", "ops", "hashed")]
    if sched_flags:
        parts.append("-b " + ",".join(sched_flags))
    if vs.persistence_engine:
        parts.append(f"--pe {vs.persistence_engine}")
    return " ".join(parts)


def _server_line(vs: VirtualService, rs: RealServer, thresholds: bool) -> str:
    parts = [f"-a {_service_key(vs)} -r {rs.id} {_FORWARD_FLAG[rs.forward]} -w {rs.weight}"]
    if thresholds and (rs.upper_threshold or rs.lower_threshold):
        parts.append(f"-x {rs.upper_threshold} -y {rs.lower_threshold}")
    if rs.forward is Forward.TUN:
        parts.append(f"--tun-type {rs.tun_type or 'ipip'}")
        if rs.tun_type == "gue":
            parts.append(f"--tun-port {rs.tun_port}")
        parts += [f"--tun-{flag}" for flag in rs.tun_flags]
    return " ".join(parts)


def save_lines(snap: Snapshot, thresholds: bool = False) -> Iterator[str]:
    """The table's ``ipvsadm -S -n`` lines (the snapshot's services are in ipvsadm's order).

    ``thresholds``: also each real server's ``-x``/``-y`` (ipvsadm -R reads them; -S leaves
    them out), for a saved table that loses nothing (what ``lvstui load``'s undo restores)."""
    for vs in snap.virtual_services:
        yield _service_line(vs)
        for rs in vs.real_servers:
            yield _server_line(vs, rs, thresholds)
