"""Changes that survive keepalived: plan, write and reload so keepalived keeps what lvstui did.

keepalived does not watch IPVS: a weight set over netlink lasts only until its next checker
transition or reload.  When keepalived (the one running in this network namespace) declares
a virtual service, lvstui's operations are also made in keepalived's terms, chosen per
operation:

* **drain / restore** write a per-real-server *track file* (``1`` drained, ``0`` in
  service) read by a ``FILE_CHECK`` (``weight 0``: non-zero is a failure) together with
  ``inhibit_on_failure`` (a failed real server stays in IPVS at weight 0 instead of being
  removed, so its connections finish).  keepalived's maintainer recommends this: once set up
  it needs no reload (keepalived watches the file), and it survives reloads and checker
  transitions because the failed FILE_CHECK keeps the weight at 0 whatever the other checkers
  say.  The first drain of a real server adds the ``track_file`` declaration (before the
  virtual server: keepalived resolves the name while it reads), the ``FILE_CHECK`` and
  ``inhibit_on_failure``, with one validated edit and a reload; measured in the lab, that
  reload keeps the real server and its established connections in IPVS.
* **weight, add-rs, remove-rs** edit keepalived.conf (there is no runtime interface for
  them): atomic replace (through a symbolic link to its target), the previous file kept in
  lvstui's state directory (``backups/``, never beside it: an include glob would load it), validated with
  ``keepalived -t`` on the edited text before anything is replaced, then a reload.  A
  reload that removes a real server drops its connections, so remove-rs is refused until
  the real server is drained (weight 0 and no active connections) unless forced.

Nothing here touches the kernel; :mod:`lvstui.ops.engine` orders the steps: plan (with
``keepalived -t`` on the file as it will be), refuse a reload that would also apply edits keepalived
has not loaded (:mod:`lvstui.keepalived.pending`), keep a real server failing its other checkers at
weight 0 on restore/weight, change the kernel, write (refusing a file changed on disk since it was
read) and reload, and roll the kernel back when the durable part cannot be written.

Measured in the lab (UML, so slow syscalls): a drain through an existing track file takes about
0.33 s of lvstui's time (keepalived -t alone is about 0.23 s of it), one with an edit and a reload
about 2.6 s (2 s of it waiting for keepalived to settle before reading IPVS back); sampled
continuously, the weight never went back up during the reload that sets up the FILE_CHECK.
"""

from __future__ import annotations

import difflib
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from lvstui.keepalived import edit
from lvstui.keepalived.errors import ConfigChangedError, KeepalivedConfigError
from lvstui.keepalived.loader import KeepalivedConfig, load
from lvstui.keepalived.processes import signal_number
from lvstui.keepalived.site import KeepalivedSite, managed_server, managed_service, our_file_check, track_name
from lvstui.keepalived.validate import keepalived_test
from lvstui.keepalived.view import ConfigView, ConfRealServer, VirtualServer, build_view
from lvstui.model import RealServer, Snapshot, VirtualService, format_endpoint
from lvstui.ops import faults
from lvstui.ops.changes import (
    TABLE_WIDE,
    AddServer,
    AddService,
    Change,
    Drain,
    DrainHost,
    EditService,
    RemoveServer,
    RemoveService,
    Restore,
    RestoreHost,
    SetWeight,
    Step,
)
from lvstui.ops.files import Written, write_atomic, write_config

__all__ = ["DurablePlan", "DurableRefused", "ReloadFailed", "TrackWrite", "apply_durable", "changed_since",
           "plan_durable", "reload_keepalived", "validate_plan"]

class DurableRefused(Exception):
    """The keepalived side cannot be made durable (invalid file, changed on disk, not editable)."""


class ReloadFailed(Exception):
    """The files were written but keepalived could not be told to reload."""


# -- the plan --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TrackWrite:
    path: Path
    value: str  # "1": drained, "0": in service
    before: str | None  # the content it replaces (None: no file)


@dataclass
class DurablePlan:
    """What lvstui will write for keepalived, shown before and journaled after."""

    site: KeepalivedSite
    config: KeepalivedConfig  # as read (its digests guard against a change on disk)
    edited: KeepalivedConfig
    track_writes: list[TrackWrite] = field(default_factory=list)
    track_removals: list[Path] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)  # "keepalived.conf:42: + inhibit_on_failure"
    warnings: list[str] = field(default_factory=list)
    blockers: list[str] = field(default_factory=list)  # need --force: quorum, sorry server, last healthy
    managed: list[str] = field(default_factory=list)  # "tcp:...:80 -> 192.168.1.21:80 (keepalived.conf:31)"
    reverts: list[str] = field(default_factory=list)  # what keepalived would put back (runtime-only)
    backups: dict[str, str] = field(default_factory=dict)  # file written -> its previous content (after apply)

    @property
    def reload(self) -> bool:
        return any(True for _ in self.edited.modified_files())

    def describe(self) -> list[str]:
        out = [f"write {w.path} = {w.value} (was {w.before.strip() if w.before is not None else 'absent'})"
               for w in self.track_writes]
        out += self.lines
        out += [f"remove {p}" for p in self.track_removals]
        if self.reload:
            out.append(f"reload keepalived (pid {self.site.parent_pid})")
        return out

    def to_dict(self) -> dict[str, object]:
        return {"config": str(self.site.config_path), "managed": self.managed,
                "track_files": {str(w.path): w.value for w in self.track_writes},
                "edits": self.lines, "reload": self.reload,
                **({"backups": self.backups} if self.backups else {})}


def _diff_lines(before: KeepalivedConfig, after: KeepalivedConfig) -> list[str]:
    out = []
    for cfile in after.modified_files():
        old = before.files[cfile.path].lines
        new = cfile.lines
        matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                continue
            # slide a pure insertion or deletion down past lines equal to its first one, as diff
            # tools do, so a block inserted before "}" reads as the block, not as "}" and the rest
            while tag == "insert" and j2 < len(new) and new[j1] == new[j2] and i1 < len(old) \
                    and old[i1] == new[j2]:
                i1, i2, j1, j2 = i1 + 1, i2 + 1, j1 + 1, j2 + 1
            while tag == "delete" and i2 < len(old) and old[i1] == old[i2] and j1 < len(new) \
                    and new[j1] == old[i2]:
                i1, i2, j1, j2 = i1 + 1, i2 + 1, j1 + 1, j2 + 1
            for i in range(i1, i2):
                out.append(f"{cfile.path.name}:{i + 1}: - {old[i].strip()}")
            for j in range(j1, j2):
                out.append(f"{cfile.path.name}:{j + 1}: + {new[j].strip()}")
    return out


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise DurableRefused(f"cannot read track file {path}: {exc.strerror or exc}") from None


class _Planner:
    def __init__(self, site: KeepalivedSite, config: KeepalivedConfig, track_dir: Path) -> None:
        self.site = site
        self.config = config
        self.edited = config
        self.track_dir = track_dir
        self.plan = DurablePlan(site, config, config)

    def view(self) -> ConfigView:
        return build_view(self.edited, self.site.config_id)

    def find(self, vs_key: VirtualServer, address: str, port: int) -> tuple[VirtualServer, ConfRealServer | None]:
        """Re-find a virtual/real server in the edited configuration (line numbers move after edits)."""
        for vs in self.view().virtual_servers:
            if vs.source == vs_key.source or (vs.key == vs_key.key and vs.kind == vs_key.kind):
                return vs, managed_server(vs, address, port)
        raise DurableRefused(f"{vs_key.key} vanished from the configuration while editing it")

    def track_path(self, name: str) -> Path:
        for tf in self.view().track_files:
            if tf.name == name and tf.file:
                return Path(tf.file.strip('"'))
        return self.track_dir / name

    def write_track(self, path: Path, value: str) -> None:
        path = self.site.local(path)
        before = _read(path)
        if before is not None and before.strip() == value:
            return
        self.plan.track_writes.append(TrackWrite(path, value, before))

    def ensure_drain_setup(self, vs: VirtualServer, rs: ConfRealServer, vs_id: str, rs_id: str,
                           address: str, port: int) -> Path:
        if (name := our_file_check(rs)) is not None:
            path = self.track_path(name)
        else:
            name = track_name(vs_id, rs_id)
            path = self.track_dir / name
            if not any(tf.name == name for tf in self.view().track_files):
                self.edited = edit.append_block(
                    self.edited, vs.source.path if vs.source else self.edited.main,
                    f'track_file {name} {{\n    file "{path}"\n    weight 0\n}}', before=vs)
                vs, rs2 = self.find(vs, address, port)
                assert rs2 is not None
                rs = rs2
            else:
                path = self.track_path(name)
            self.edited = edit.insert_block(self.edited, rs,
                                            f"FILE_CHECK {{\n    track_file {name}\n    weight 0\n}}")
            vs, rs2 = self.find(vs, address, port)
            assert rs2 is not None
            rs = rs2
        if not rs.inhibit_on_failure:
            self.edited = edit.set_option(self.edited, rs, "inhibit_on_failure", [])
        return path


def _after_weights(vs_id: str, steps: list[Step], before: dict[str, int]) -> dict[str, int]:
    after = dict(before)
    for step in steps:
        if step.vs.id != vs_id or step.rs is None:
            continue
        if step.action == "delete":
            after.pop(step.rs.id, None)
        else:
            after[step.rs.id] = step.rs.weight
    return after


def capacity_warnings(kvs: VirtualServer, kernel_vs: VirtualService, steps: list[Step]) -> list[str]:
    """Quorum, sorry server and last healthy real server, comparing the kernel before and after."""
    vs_id = kernel_vs.id
    before = {rs.id: rs.weight for rs in kernel_vs.real_servers}
    after = _after_weights(vs_id, steps, before)

    def alive_weight(weights: dict[str, int]) -> int:
        total = 0
        for rs_id, weight in weights.items():
            if weight <= 0:
                continue
            host, _, port = rs_id.rpartition(":")
            conf = managed_server(kvs, host.strip("[]"), int(port))
            total += conf.weight if conf is not None else weight
        return total

    out = []
    healthy_before = [k for k, w in before.items() if w > 0]
    healthy_after = [k for k, w in after.items() if w > 0]
    threshold = kvs.quorum - kvs.hysteresis
    explicit_quorum = any(k == "quorum" for k, _ in kvs.params)
    if alive_weight(before) >= threshold > alive_weight(after):
        if explicit_quorum:
            out.append(f"{vs_id} would drop below its quorum {kvs.quorum} (alive weight "
                       f"{alive_weight(before)} -> {alive_weight(after)})")
        if kvs.sorry_server:
            out.append(f"{vs_id} would bring in its sorry server {kvs.sorry_server}")
    if healthy_before and not healthy_after:
        out.append(f"this takes the last healthy real server out of {vs_id} ({', '.join(healthy_before)})")
    return out


_TAKES_CAPACITY = (Drain, DrainHost, SetWeight, RemoveServer)


def plan_durable(site: KeepalivedSite, change: Change, steps: list[Step], snap: Snapshot, *, track_dir: Path,
                 force: bool = False, config: KeepalivedConfig | None = None) -> DurablePlan | None:
    """What keepalived needs for ``change`` (whose kernel plan is ``steps``); None if nothing it manages.

    Raises :class:`DurableRefused` when the configuration cannot be read or edited, and
    :class:`KeepalivedConfigError` subclasses with file and line.  Never writes.
    """
    try:
        config = config or load(site.config_path)
    except KeepalivedConfigError as exc:
        raise DurableRefused(f"keepalived's configuration cannot be read: {exc}") from None
    p = _Planner(site, config, track_dir)
    view = p.view()
    targets: list[tuple[VirtualService, str, int]] = []  # (kernel vs, address, port)
    if isinstance(change, (DrainHost, RestoreHost)):
        targets = [(vs, rs.address, rs.port) for vs in snap.virtual_services for rs in vs.real_servers
                   if rs.address == change.address]
    elif isinstance(change, (AddService, EditService, RemoveService)):
        key = change.service
        conf_vs = managed_service(view, key.id, key.protocol, key.address, key.port, key.fwmark)
        if conf_vs is None or isinstance(change, AddService):
            return None
        where = f" ({conf_vs.source})" if conf_vs.source else ""
        raise DurableRefused(f"keepalived manages {key.id}{where}: change it in keepalived's configuration "
                             "(or use --runtime-only; keepalived puts it back at its next reload)")
    elif isinstance(change, TABLE_WIDE):  # IPVS-wide settings: nothing of keepalived's
        return None
    else:
        kvs = snap.service(change.service.id)
        if kvs is not None:
            targets = [(kvs, change.server.address, change.server.port)]
    touched: dict[str, tuple[VirtualServer, VirtualService]] = {}
    for kernel_vs, address, port in targets:
        vs_id = kernel_vs.id
        conf_vs = managed_service(view, vs_id, kernel_vs.protocol, kernel_vs.address, kernel_vs.port,
                                  kernel_vs.fwmark)
        if conf_vs is None:
            continue
        rs_id = format_endpoint(address, port)
        if conf_vs.kind == "group":
            raise DurableRefused(f"{vs_id} is managed by keepalived's virtual_server_group {conf_vs.group} "
                                 f"({conf_vs.source}): lvstui cannot make this change durable there; "
                                 "edit the file, or use --runtime-only")
        vs_now, rs = p.find(conf_vs, address, port)
        touched[vs_id] = (conf_vs, kernel_vs)
        orig = managed_server(conf_vs, address, port)  # line numbers as in the file on disk
        where = f" ({orig.source})" if orig is not None and orig.source else \
            f" (virtual server at {conf_vs.source})"
        p.plan.managed.append(f"{vs_id} -> {rs_id}{where}")
        target = _Target(kernel_vs, vs_now, rs, vs_id, rs_id, address, port)
        _plan_one(p, change, steps, target, force)
    if not touched:
        return None
    if isinstance(change, _TAKES_CAPACITY):
        for conf_vs, kernel_vs in touched.values():
            p.plan.blockers += capacity_warnings(conf_vs, kernel_vs, steps)
    p.plan.edited = p.edited
    p.plan.lines = _diff_lines(config, p.edited)
    return p.plan


@dataclass(frozen=True, slots=True)
class _Target:
    """One real server a change touches: the kernel's service, keepalived's blocks, its ids."""

    kernel_vs: VirtualService
    vs: VirtualServer
    rs: ConfRealServer | None
    vs_id: str
    rs_id: str
    address: str
    port: int

    def kernel_rs(self) -> RealServer | None:
        return next((r for r in self.kernel_vs.real_servers if r.id == self.rs_id), None)


def _plan_one(p: _Planner, change: Change, steps: list[Step], t: _Target, force: bool) -> None:
    if isinstance(change, AddServer):
        _plan_add(p, change, t)
        return
    rs = t.rs
    if rs is None:
        if isinstance(change, (Restore, RestoreHost, Drain, DrainHost, SetWeight)):
            p.plan.warnings.append(f"{t.rs_id} is in the kernel but not in keepalived's {t.vs.key} "
                                   f"({t.vs.source}): changed at run time only")
        return
    kernel_rs = t.kernel_rs()
    step = next((s for s in steps if s.vs.id == t.vs_id and s.rs is not None and s.rs.id == t.rs_id), None)
    if isinstance(change, (Drain, DrainHost)):
        path = p.ensure_drain_setup(t.vs, rs, t.vs_id, t.rs_id, t.address, t.port)
        p.write_track(path, "1")
        p.plan.reverts.append(f"keepalived puts {t.rs_id} in {t.vs_id} back to weight {rs.weight} at its next "
                              "checker transition or reload")
    elif isinstance(change, (Restore, RestoreHost)):
        name = our_file_check(rs)
        if name is not None:
            p.write_track(p.track_path(name), "0")
        if kernel_rs is not None and step is None and kernel_rs.weight != rs.weight and name is None:
            p.plan.warnings.append(f"{t.rs_id} in {t.vs_id} has weight {kernel_rs.weight}; "
                                   f"keepalived's is {rs.weight}")
    elif isinstance(change, SetWeight):
        _plan_weight(p, change, t, rs, step, kernel_rs)
    elif isinstance(change, RemoveServer):
        _plan_remove(p, t, rs, kernel_rs, force)


def _plan_add(p: _Planner, change: AddServer, t: _Target) -> None:
    vs = t.vs
    if t.rs is not None:
        raise DurableRefused(f"{t.rs_id} is already in keepalived's {vs.key} ({t.rs.source}) but not in the "
                             "kernel (keepalived's checker took it out?): let keepalived manage it")
    forward = change.forward.value.upper()
    kind = {"ROUTE": "DR", "MASQ": "NAT", "TUNNEL": "TUN"}.get(forward, forward)
    if kind != vs.lb_kind:
        raise DurableRefused(f"keepalived's {vs.key} uses lb_kind {vs.lb_kind} ({vs.source}); "
                             f"add {t.rs_id} with --forward {vs.lb_kind}, or edit the file")
    template = next((r for r in vs.real_servers if r.source and r.source.exact), None)
    try:
        p.edited = edit.add_real_server(p.edited, vs, t.address, t.port, change.weight, template)
    except KeepalivedConfigError:
        p.edited = edit.add_real_server(p.edited, vs, t.address, t.port, change.weight)
    vs2, new = p.find(vs, t.address, t.port)
    assert new is not None
    if (ours := our_file_check(new)) is not None:  # copied from the template: not this server's switch
        checker = next(c for c in new.checkers if c.get("track_file") == ours)
        p.edited = edit.remove_item(p.edited, checker)
        vs2, new = p.find(vs2, t.address, t.port)
        assert new is not None
    for keyword, value in (("uthreshold", change.upper), ("lthreshold", change.lower)):
        if value:
            p.edited = edit.set_option(p.edited, new, keyword, [str(value)])
            vs2, new = p.find(vs2, t.address, t.port)
            assert new is not None


def _plan_weight(p: _Planner, change: SetWeight, t: _Target, rs: ConfRealServer, step: Step | None,
                 kernel_rs: RealServer | None) -> None:
    if step is not None and step.rs is not None:
        target = step.rs.weight
    elif kernel_rs is not None:
        target = kernel_rs.weight
    else:  # keepalived took it out of IPVS: the file still gets the weight
        target = change.weight if change.weight is not None else max(0, rs.weight + change.delta)
    if target != rs.weight:
        p.edited = edit.set_weight(p.edited, rs, target)
    name = our_file_check(rs)
    if name is not None and target > 0:
        path = p.track_path(name)
        current = _read(p.site.local(path))
        if current is not None and current.strip() not in ("", "0"):
            p.write_track(path, "0")
            p.plan.warnings.append(f"{t.rs_id} in {t.vs_id} was drained through its track file: "
                                   "now back in service")
    p.plan.reverts.append(f"keepalived puts {t.rs_id} in {t.vs_id} back to weight {rs.weight} at its next "
                          "checker transition or reload")


def _plan_remove(p: _Planner, t: _Target, rs: ConfRealServer, kernel_rs: RealServer | None, force: bool) -> None:
    if kernel_rs is not None and (kernel_rs.weight > 0 or kernel_rs.active_conns) and not force:
        raise DurableRefused(
            f"{t.rs_id} in {t.vs_id} is not drained (weight {kernel_rs.weight}, "
            f"{kernel_rs.active_conns} active connections): reloading keepalived without it would drop "
            f"them. Drain it first (lvstui drain {t.vs_id} {t.rs_id} --wait), or --force")
    name = our_file_check(rs)
    p.edited = edit.remove_real_server(p.edited, t.vs, rs)
    if name is not None:
        still = [r for v in p.view().virtual_servers for r in v.real_servers if our_file_check(r) == name]
        tf = next((tr for tr in p.view().track_files if tr.name == name), None)
        if not still and tf is not None:
            p.plan.track_removals.append(p.site.local(p.track_path(name)))
            p.edited = edit.remove_item(p.edited, tf)
    p.plan.reverts.append(f"keepalived adds {t.rs_id} back to {t.vs_id} at its next reload")


# -- applying -----------------------------------------------------------------------------------


def validate_plan(plan: DurablePlan, keepalived: str | None = None) -> None:
    """``keepalived -t`` on the configuration as it will be; :class:`DurableRefused` naming file and line."""
    result = keepalived_test(plan.edited, config_id=plan.site.config_id, keepalived=keepalived)
    if result is None:
        raise DurableRefused("keepalived is running but its binary was not found: cannot validate the change "
                             "with keepalived -t")
    if not result.ok:
        which = "the edited configuration" if plan.reload else "keepalived's configuration"
        raise DurableRefused(f"keepalived -t rejects {which} ({plan.site.config_path}): {result.first_error}"
                             + (f" (and {len(result.messages) - 1} more)" if len(result.messages) > 1
                                else ""))


def changed_since(config: KeepalivedConfig) -> list[Path]:
    """The files of ``config`` whose bytes on disk are no longer the ones it was read from."""
    out = []
    for cfile in config.files.values():
        try:
            on_disk: str | None = hashlib.sha256(cfile.path.read_bytes()).hexdigest()
        except OSError:
            on_disk = None
        if on_disk != cfile.disk_digest:
            out.append(cfile.path)
    return out


def apply_durable(plan: DurablePlan) -> list[str]:
    """Write the track files, the configuration (checking it is unchanged on disk), then reload.

    On a failure before the reload, the track files written are put back and the error
    (:class:`KeepalivedConfigError` or :class:`OSError`) propagates: the caller rolls the kernel back.
    Returns what was done.
    """
    done: list[TrackWrite] = []
    try:
        if plan.reload:  # refuse a file changed on disk before touching anything else
            for cfile in plan.edited.modified_files():
                on_disk = cfile.path.read_bytes()
                if hashlib.sha256(on_disk).hexdigest() != cfile.disk_digest:
                    raise ConfigChangedError("changed on disk since lvstui read it: not overwriting",
                                             cfile.path)
        for write in plan.track_writes:
            write.path.parent.mkdir(parents=True, exist_ok=True)
            faults.point("track-file")
            write_atomic(write.path, (write.value + "\n").encode())
            done.append(write)
        written = write_config(plan.edited) if plan.reload else []
        plan.backups = {str(w.target): str(w.backup) for w in written if w.backup is not None}
    except BaseException:
        for write in reversed(done):
            try:
                if write.before is None:
                    write.path.unlink(missing_ok=True)
                else:
                    write_atomic(write.path, write.before.encode())
            except OSError:
                pass
        raise
    out = [f"{w.path} = {w.value}" for w in done] + [_wrote(w) for w in written]
    if plan.reload:
        try:
            reload_keepalived(plan.site)
        except (OSError, RuntimeError) as exc:
            raise ReloadFailed(f"wrote {', '.join(str(w.path) for w in written)} but could not reload keepalived "
                               f"({exc}): reload it by hand") from exc
        out.append(f"reloaded keepalived (pid {plan.site.parent_pid})")
    for path in plan.track_removals:
        path.unlink(missing_ok=True)
    return out


def _wrote(w: Written) -> str:
    through = f" (through the link to {w.target})" if w.target != w.path else ""
    kept = f", previous kept as {w.backup}" if w.backup is not None else ""
    return f"wrote {w.path}{through}{kept}"


def reload_keepalived(site: KeepalivedSite) -> None:
    if site.parent_pid is None:
        raise OSError("keepalived's parent pid is unknown: cannot reload it")
    os.kill(site.parent_pid, signal_number("RELOAD"))
