"""Hand VRRP mastership to the peer director and take it back, through a keepalived track file.

The method verified in the lab (../shared/LAB.md): a ``track_file`` with a negative
weight, referenced by the instance::

    track_file lvstui_maint {
        file "/etc/keepalived/lvstui-maint"
        weight -60
        init_file 0 overwrite
    }
    vrrp_instance VI_1 { ... track_file { lvstui_maint } }

Writing ``1`` lowers the effective priority by 60 (150 -> 90), below the backup's (100):
with preemption (the default) the backup takes over in about three advert intervals.
Writing ``0`` takes it back.  The file outlives a reload (``overwrite`` applies at start
only: checked in the lab), so a demotion survives ``kill -HUP``.

Nothing is assumed: the demotion is reported done only when keepalived says this
instance is BACKUP *and* another router is seen advertising the VRID above our
priority (:mod:`lvstui.keepalived.vrrp_adverts`); otherwise the file is put back.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lvstui.keepalived.errors import KeepalivedConfigError
from lvstui.keepalived.loader import load
from lvstui.keepalived.runtime import VrrpState, request_state
from lvstui.keepalived.site import local_keepalived, proc_path
from lvstui.keepalived.view import ConfigView, ConfVrrpInstance, TrackFile, build_view
from lvstui.keepalived.vrrp_adverts import AdvertListener, PeerRouter
from lvstui.safeio import FileRefused, read_regular

__all__ = [
    "SUGGESTED_FILE",
    "SUGGESTED_NAME",
    "KeepalivedNotRunning",
    "NoVrrpInstance",
    "Target",
    "ToggleError",
    "WaitOutcome",
    "advice",
    "current_state",
    "find_target",
    "read_track_value",
    "track_file_text",
    "wait_for",
]

SUGGESTED_NAME = "lvstui_maint"
SUGGESTED_FILE = "/etc/keepalived/lvstui-maint"


class ToggleError(Exception):
    """Why the toggle cannot proceed, one line (status 3: refused, 2: bad input, 1: failure)."""

    def __init__(self, message: str, status: int = 3) -> None:
        super().__init__(message)
        self.status = status


class KeepalivedNotRunning(ToggleError):
    """No keepalived runs in this network namespace."""


class NoVrrpInstance(ToggleError):
    """keepalived's configuration declares no vrrp_instance."""


@dataclass(frozen=True)
class Target:
    parent_pid: int
    config_file: str
    instance: ConfVrrpInstance
    track: TrackFile
    path: Path  # the track file as we reach it (through /proc/PID/root when keepalived's root differs)
    weight: int


def advice(view: ConfigView, instance: ConfVrrpInstance, peer_priority: int | None = None) -> str:
    """Exactly what to add to keepalived.conf for the toggle."""
    need = instance.priority - (peer_priority if peer_priority is not None else instance.priority - 50) + 10
    weight = -max(60, need)
    where = f" ({instance.source})" if instance.source else ""
    return (
        f"instance {instance.name}{where} has no track_file with a negative weight that lvstui can use. Add, "
        f"at top level:\n\n"
        f"track_file {SUGGESTED_NAME} {{\n"
        f'    file "{SUGGESTED_FILE}"\n'
        f"    weight {weight}\n"
        f"    init_file 0 overwrite\n"
        f"}}\n\n"
        f"and inside vrrp_instance {instance.name}:\n\n"
        f"    track_file {{\n"
        f"        {SUGGESTED_NAME}\n"
        f"    }}\n\n"
        f"then check it (lvstui keepalived check FILE) and reload keepalived, or let `lvstui vrrp setup` "
        f"do all that. The weight must take priority "
        f"{instance.priority} below the peer's"
        + (f" ({peer_priority})" if peer_priority is not None else "")
        + "."
    )


def _usable(view: ConfigView, instance: ConfVrrpInstance) -> list[tuple[TrackFile, int]]:
    refs = list(instance.track_files)
    for group in view.vrrp_sync_groups:
        if instance.name in group.members:
            refs += list(group.track_files)
    out = []
    for ref in refs:
        track = next((t for t in view.track_files if t.name == ref.name), None)
        if track is None or track.deprecated or not track.file:
            continue
        weight = ref.weight if ref.weight is not None else track.weight
        if weight is None or weight >= 0:
            continue
        out.append((track, weight))
    # prefer lvstui's own file, then the strongest weight
    out.sort(key=lambda tw: (tw[0].name != SUGGESTED_NAME, tw[1]))
    return out


def find_target(instance_name: str | None = None) -> tuple[Target, ConfigView]:
    """The keepalived of our network namespace, its instance and the track file to write."""
    procs = local_keepalived()
    if not procs:
        raise KeepalivedNotRunning("keepalived is not running in this network namespace")
    proc = procs[0]
    pid = proc.parent_pid
    conf = proc.config_file
    try:
        view = build_view(load(proc_path(pid, conf)), proc.effective_config_id)
    except (KeepalivedConfigError, OSError) as exc:
        raise ToggleError(f"cannot read keepalived's configuration: {exc}", 1) from None
    if not view.vrrp_instances:
        raise NoVrrpInstance(f"{conf} has no vrrp_instance")
    if instance_name is None:
        if len(view.vrrp_instances) > 1:
            names = ", ".join(v.name for v in view.vrrp_instances)
            raise ToggleError(f"several VRRP instances ({names}): choose one with --instance", 2)
        instance = view.vrrp_instances[0]
    else:
        found = view.vrrp_instance(instance_name)
        if found is None:
            names = ", ".join(v.name for v in view.vrrp_instances)
            raise ToggleError(f"no VRRP instance {instance_name!r} in {conf} (there are: {names})", 2)
        instance = found
    usable = _usable(view, instance)
    if not usable:
        raise ToggleError(advice(view, instance), 3)
    track, weight = usable[0]
    assert track.file is not None
    return Target(pid, conf, instance, track, proc_path(pid, track.file), weight), view


def current_state(target: Target, timeout: float = 3.0) -> VrrpState:
    runtime = request_state(target.parent_pid, want_check=False, timeout=timeout)
    for state in runtime.vrrp:
        if state.name == target.instance.name:
            return state
    raise ToggleError(
        f"keepalived did not report instance {target.instance.name}: "
        + ("; ".join(runtime.errors) or "not in its dump"),
        1,
    )


def read_track_value(path: Path) -> int:
    """keepalived reads the file's first number; a missing or empty file counts as 0.

    Not a FIFO or a device (it would hang or never end) nor anything large: ToggleError.
    """
    try:
        raw = read_regular(path, 4096)
    except FileRefused as exc:
        raise ToggleError(f"track file {path}: {exc}", 1) from None
    text = (raw or b"").decode("ascii", "replace").split()
    try:
        return int(text[0]) if text else 0
    except ValueError:
        return 0


@dataclass
class WaitOutcome:
    done: bool
    state: VrrpState | None
    masters: list[PeerRouter]
    seconds: float
    seen: list[str]  # what happened, in order, for the operator


def wait_for(
    target: Target,
    listener: AdvertListener,
    want: str,
    since: float,
    timeout: float,
    progress: Callable[[str], None] = lambda _line: None,
    poll: float = 0.5,
) -> WaitOutcome:
    """Wait until this instance is ``want`` (BACKUP or MASTER), confirmed on the wire.

    BACKUP counts only when another router advertises the VRID above our effective
    priority after ``since``; MASTER when keepalived says MASTER and no other router
    has advertised above us for three intervals.
    """
    vrid = target.instance.virtual_router_id or 0
    start = time.monotonic()
    seen: list[str] = []
    last: tuple[object, ...] | None = None
    state: VrrpState | None = None
    others: list[PeerRouter] = []
    while True:
        now = time.monotonic()
        try:
            state = current_state(target)
        except ToggleError as exc:
            state = None
            line = str(exc)
            if line not in seen:
                seen.append(line)
        others = [
            p
            for p in listener.peers()
            if p.vrid == vrid and not p.local and p.last_seen > since and p.current(now)
        ]
        eff = state.effective_priority if state else None
        note = (state.state if state else None, eff, tuple((p.source, p.priority) for p in others))
        if note != last:
            last = note
            line = (
                f"{now - start:4.1f} s: {target.instance.name} "
                f"{state.state if state else '?'} (effective priority {eff}); advertising VRID {vrid}: "
                + (", ".join(f"{p.source} priority {p.priority}" for p in others) or "nobody else")
            )
            seen.append(line)
            progress(line)
        if state is not None and eff is not None:
            if want == "BACKUP" and state.state == "BACKUP" and any(p.priority > eff for p in others):
                return WaitOutcome(True, state, others, now - start, seen)
            if want == "MASTER" and state.state == "MASTER" and not any(p.priority > eff for p in others):
                return WaitOutcome(True, state, others, now - start, seen)
        if now - start >= timeout:
            return WaitOutcome(False, state, others, now - start, seen)
        time.sleep(poll)


def track_file_text(weight: int, name: str = SUGGESTED_NAME, path: str = SUGGESTED_FILE) -> str:
    return f'track_file {name} {{\n    file "{path}"\n    weight {weight}\n    init_file 0 overwrite\n}}\n'
