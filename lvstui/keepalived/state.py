"""keepalived's view merged into a kernel snapshot: check states, removed servers, drift, health.

Pure functions (no I/O) except :func:`process_health` (pids) and :func:`recent_log_lines`
(journald or a syslog file).  :mod:`lvstui.backend.director` decides when to ask keepalived
for its dumps and calls :func:`merge`.

Rules, per real server configured under a virtual server keepalived manages:

* in the kernel: ``check`` from the DATA dump (alive, the failing checker, failed count);
  ``inhibited`` when keepalived keeps it with weight 0 after a failed check
  (``inhibit_on_failure``);
* not in the kernel, checker down: keepalived removed it; it is shown (from the
  configuration) with ``in_kernel=False`` and state ``down``, not dropped;
* not in the kernel, checker up: someone else removed it (drift: keepalived will not put
  it back before its next transition or reload);
* in the kernel with a weight other than keepalived's: a runtime-only change (drift);
* in the kernel under a managed service but not configured: added outside keepalived (drift).
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from lvstui.keepalived.join import ipvs_port
from lvstui.keepalived.runtime import RealServerState, RuntimeState, VirtualServerState, VrrpState
from lvstui.keepalived.site import our_file_check
from lvstui.keepalived.view import ConfigView, ConfRealServer
from lvstui.keepalived.vrrp_adverts import PeerRouter
from lvstui.model import (
    CheckState,
    ConfiguredServer,
    ConfiguredService,
    Forward,
    KeepalivedProcessState,
    RealServer,
    Snapshot,
    VirtualService,
    VrrpInstance,
    VrrpPeer,
    format_endpoint,
    normalize_address,
)

__all__ = [
    "alive",
    "check_state",
    "configured_services",
    "health_status",
    "merge",
    "process_health",
    "recent_log_lines",
    "rs_drift",
    "vrrp_instances",
    "vrrp_peers",
]

_KIND = {"DR": Forward.DR, "NAT": Forward.NAT, "TUN": Forward.TUN}


@functools.lru_cache(maxsize=1 << 16)
def _norm(address: str | None) -> str:
    # cached: a large table repeats the same few thousand addresses, and ipaddress is slow
    try:
        return normalize_address(address or "")
    except ValueError:
        return address or ""


def check_state(conf: ConfRealServer, state: RealServerState | None) -> CheckState | None:
    """keepalived's opinion of one real server as the model holds it (None: keepalived did not say)."""
    if state is None:
        return None
    failed = [c for c in state.checkers if not c.up]
    if state.checkers:
        shown = failed[0] if failed and not state.alive else state.checkers[0]
        checker, detail = shown.type, shown.detail
    else:
        checker = conf.checkers[0].type if conf.checkers else "none"
        detail = ""
    drained = False
    if not state.alive and failed:
        # A drain made durable by lvstui fails only the FILE_CHECK reading lvstui's track file:
        # that real server is drained by an operator, not inhibited by a failed health check.
        drained = all(c.type == "FILE_CHECK" for c in failed) and _has_lvstui_drain_check(conf)
        detail = f"{', '.join(c.type for c in failed)} failed" + (f" ({detail})" if detail else "")
        if drained:
            detail = "drained by lvstui (track file)"
    return CheckState(
        checker=checker, alive=state.alive, failed_checkers=state.failed_checkers, detail=detail,
        drained=drained,
    )


def _has_lvstui_drain_check(conf: ConfRealServer) -> bool:
    return our_file_check(conf) is not None


def vrrp_instances(states: Iterable[VrrpState]) -> tuple[VrrpInstance, ...]:
    return tuple(
        VrrpInstance(
            name=s.name,
            state=s.state,
            priority=s.priority,
            effective_priority=s.effective_priority,
            vips=s.vips,
            interface=s.interface,
            virtual_router_id=s.virtual_router_id,
            last_transition=s.last_transition,
            master_priority=s.master_priority or None,
        )
        for s in states
    )


def vrrp_peers(routers: Iterable[PeerRouter], now: float) -> tuple[VrrpPeer, ...]:
    """The routers heard advertising (:class:`~lvstui.keepalived.vrrp_adverts.AdvertListener`), as
    the snapshot's frozen :class:`~lvstui.model.VrrpPeer` (ages as of ``now``, ``time.monotonic()``)."""
    return tuple(
        VrrpPeer(vrid=p.vrid, source=p.source, priority=p.priority, interface=p.interface, version=p.version,
                 advert_interval=p.advert_interval, age=round(p.age(now), 2), current=p.current(now),
                 local=p.local)
        for p in routers
    )


def rs_drift(vs_id: str, rs_id: str, kernel: RealServer | None, state: RealServerState | None) -> str | None:
    """One line when the kernel differs from what keepalived intends for this real server."""
    where = f"{rs_id} in {vs_id}"
    if state is None:
        if kernel is None:
            return f"{where}: configured, not in the kernel, and keepalived did not report it"
        return None
    if kernel is None:
        if state.alive:
            return (
                f"{where}: keepalived's checker has it up but it is not in the kernel "
                f"(removed by an operator?); keepalived restores it at its next transition or reload"
            )
        return None  # removed by keepalived after a failed check: intended
    if not state.alive:
        if not state.in_ipvs:
            return f"{where}: keepalived's checker has it down and removed, but it is in the kernel"
        if kernel.weight != 0:
            return f"{where}: inhibited by keepalived (weight 0) but weight {kernel.weight} in the kernel"
        return None
    if kernel.weight != state.effective_weight:
        return (
            f"{where}: weight {kernel.weight} in the kernel, keepalived's is {state.effective_weight} "
            f"(a runtime-only change: keepalived restores {state.effective_weight} at its next "
            f"transition or reload)"
        )
    return None


def _state_index(vs_state: object) -> dict[tuple[str, int], RealServerState]:
    """One virtual server's real servers in keepalived's dump by (address, port); the first wins."""
    index: dict[tuple[str, int], RealServerState] = {}
    if isinstance(vs_state, VirtualServerState):
        for candidate in vs_state.real_servers:
            index.setdefault((_norm(candidate.address), candidate.port), candidate)
    return index


def merge(kernel: Snapshot, view: ConfigView | None, runtime: RuntimeState | None) -> Snapshot:
    """The kernel snapshot with keepalived's view: check states, removed servers, VRRP, drift.

    Does not set ``keepalived`` (health) or ``vrrp_peers``: the caller adds those.
    """
    drift: list[str] = []
    vs_states: dict[str, object] = {}
    # drift needs keepalived's checker state: without a fresh check dump, say nothing rather than guess
    checks_known = runtime is not None and not any("check" in e for e in runtime.errors)
    if runtime is not None:
        for s in runtime.servers:
            vs_states[s.key] = s
    configured = {vs.key: vs for vs in view.virtual_servers} if view is not None else {}
    kernel_ids = {vs.id for vs in kernel.virtual_services}
    services: list[VirtualService] = []
    for vs in kernel.virtual_services:
        conf = configured.get(vs.id)
        if conf is None:
            if configured:
                drift.append(f"{vs.id}: in the kernel but not in keepalived's configuration")
            services.append(vs)
            continue
        by_id = {rs.id: rs for rs in vs.real_servers}
        seen: set[str] = set()
        servers: list[RealServer] = []
        states = _state_index(vs_states.get(conf.key))
        for crs in conf.real_servers:
            address = _norm(crs.address)
            port = ipvs_port(conf, crs)
            if port is None:
                continue
            rs_id = format_endpoint(address, port)
            if rs_id in seen:
                continue
            seen.add(rs_id)
            state = states.get((address, port))
            check = check_state(crs, state)
            found = by_id.get(rs_id)
            line = rs_drift(vs.id, rs_id, found, state) if checks_known else None
            if line:
                drift.append(line)
            if found is not None:
                inhibited = state is not None and not state.alive and state.in_ipvs and found.weight == 0
                servers.append(replace(found, check=check, in_kernel=True, inhibited=inhibited))
            else:
                kind = (crs.lb_kind or conf.lb_kind or "DR").upper()
                servers.append(
                    RealServer(
                        address=address,
                        port=port,
                        family="inet6" if ":" in address else "inet",
                        forward=_KIND.get(kind, Forward.DR),
                        weight=crs.weight,
                        check=check,
                        in_kernel=False,
                    )
                )
        for rs in vs.real_servers:  # in the kernel, not in the configuration
            if rs.id not in seen:
                drift.append(
                    f"{rs.id} in {vs.id}: in the kernel but not in keepalived's configuration "
                    f"(added outside keepalived)"
                )
                servers.append(rs)
        services.append(replace(vs, real_servers=tuple(servers)))
    for key, conf in configured.items():
        if key not in kernel_ids and conf.kind != "group":
            drift.append(f"{key}: in keepalived's configuration but not in the kernel")
    vrrp = vrrp_instances(runtime.vrrp) if runtime is not None else kernel.vrrp
    return replace(kernel, virtual_services=tuple(services), vrrp=vrrp, drift=tuple(drift))


def configured_services(view: ConfigView) -> tuple[ConfiguredService, ...]:
    """The configuration's virtual servers as the model has them, for comparing two directors'
    configurations (what each would set up after a restart or a failover of its own)."""
    out = []
    for vs in view.virtual_servers:
        persistence = "off"
        if vs.persistence_timeout:
            persistence = f"{vs.persistence_timeout} s"
            if vs.persistence_granularity:
                persistence += f", granularity {vs.persistence_granularity}"
        servers = []
        for crs in vs.real_servers:
            port = ipvs_port(vs, crs)
            servers.append(ConfiguredServer(
                id=format_endpoint(_norm(crs.address), port or 0), weight=crs.weight,
                forward=(crs.lb_kind or "").upper(), checks=tuple(c.summary for c in crs.checkers)))
        out.append(ConfiguredService(id=vs.key, scheduler=vs.lb_algo, forward=vs.lb_kind.upper(),
                                     persistence=persistence, real_servers=tuple(servers)))
    return tuple(out)


# ---- keepalived's own health ------------------------------------------------------------------------


def alive(pid: int | None) -> bool:
    """The pid runs and is not a zombie."""
    if not pid:
        return False
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            text = fh.read()
    except OSError:
        return False
    state = text.rsplit(")", 1)[-1].split()[:1]
    return state != ["Z"] and state != ["X"]


def process_health(
    roles: dict[str, int | None], need_vrrp: bool, need_checker: bool, need_bfd: bool = False
) -> tuple[KeepalivedProcessState, ...]:
    """parent, vrrp, checker (and bfd when used): alive or not, and whether the configuration needs it."""
    out = []
    for role, needed in (("parent", True), ("vrrp", need_vrrp), ("checker", need_checker), ("bfd", need_bfd)):
        pid = roles.get(role)
        if role == "bfd" and not needed and pid is None:
            continue
        out.append(KeepalivedProcessState(role=role, pid=pid, alive=alive(pid), expected=needed))
    return tuple(out)


def health_status(processes: tuple[KeepalivedProcessState, ...]) -> str:
    if not processes or not any(p.alive for p in processes if p.role == "parent"):
        return "not running"
    if any(p.expected and not p.alive for p in processes):
        return "degraded"
    return "running"


_TAIL_BYTES = 256 * 1024


def _tail(path: Path, limit: int = _TAIL_BYTES) -> list[str]:
    with open(path, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        fh.seek(max(0, size - limit))
        data = fh.read()
    lines = data.decode("utf-8", "replace").splitlines()
    return lines[1:] if size > limit else lines


def _is_ours(line: str, pids: set[int]) -> bool:
    m = re.search(r"[Kk]eepalived(?:_\w+)?\[(\d+)\]", line)
    if not m:
        return False
    return not pids or int(m.group(1)) in pids


def recent_log_lines(
    pids: Iterable[int | None],
    count: int = 20,
    log_file: str | None = None,
    root: Path = Path("/"),
    journal: bool = True,
) -> tuple[str, list[str], str | None]:
    """(source, lines, error): keepalived's recent log lines.

    keepalived logs through syslog (``Keepalived_vrrp[PID]: ...``): journald when it runs
    (``journalctl -u keepalived``, or by pid for a keepalived not started by systemd), else
    /var/log/syslog or /var/log/messages, filtered on our keepalived's pids so that several
    keepalived on one machine are told apart; a ``--log-file`` given to keepalived comes first.
    """
    wanted = {p for p in pids if p}
    if log_file:
        try:
            return log_file, _tail(root / log_file.lstrip("/"))[-count:], None
        except OSError as exc:
            return log_file, [], f"{log_file}: {exc.strerror or exc}"
    if journal and Path("/run/systemd/journal/socket").exists() and shutil.which("journalctl"):
        argv = ["journalctl", "--no-pager", "-q", "-o", "short-iso", "-n", str(count)]
        if wanted:
            for i, pid in enumerate(sorted(wanted)):
                argv += (["+"] if i else []) + [f"_PID={pid}"]
        else:
            argv += ["-u", "keepalived"]
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=5, check=False)
            if proc.returncode == 0 and proc.stdout.strip():
                return "journald", proc.stdout.splitlines()[-count:], None
        except (OSError, subprocess.TimeoutExpired):
            pass
    for name in ("/var/log/syslog", "/var/log/messages", "/var/log/keepalived.log"):
        path = root / name.lstrip("/")
        try:
            lines = [line for line in _tail(path) if _is_ours(line, wanted)]
        except FileNotFoundError:
            continue
        except OSError as exc:
            return name, [], f"{name}: {exc.strerror or exc}"
        return name, lines[-count:], None
    return "", [], "no keepalived log found (no journald, /var/log/syslog or /var/log/messages)"
