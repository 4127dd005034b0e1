"""The dashboard's operations: drain, restore, weights, add/remove, tags, the sysctl that unpins
clients from drained servers, from the keyboard; and the watch of drains in progress.

A controller (a plain class), reached by the dashboard screen's key actions and reaching the
screen only through :class:`lvstui.ui.host.DashboardHost`.  Every change follows one path:

1. the action (or a form, :mod:`lvstui.ui.op_forms`) builds change objects of
   :mod:`lvstui.ops.changes`, one per target (the real server under the cursor, or every
   tagged one);
2. a thread worker (group :data:`~lvstui.ui.host.OPS_PREVIEW`) previews them through
   :class:`lvstui.ui.op_runner.OpRunner` (``Operations.plan``: validation, keepalived's
   refusals, warnings);
3. :class:`lvstui.ui.confirm.ConfirmScreen` shows exactly what will change, focus on "No";
4. on "Yes" a thread worker (group :data:`~lvstui.ui.host.OPS_APPLY`) applies them
   (``Operations.apply``: re-planned on a fresh read, written, read back, journalled; with a
   peer, a durable change on both directors, :mod:`lvstui.pair.both`, or on this one only if
   the operator ticked it); the outcome is notified and the director read again.

Nothing here talks to netlink; in ``--readonly`` the actions are hidden (the screen's
``check_action``) and the operations layer refuses anyway.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Sequence

from lvstui.model import RealServer, Snapshot, VirtualService
from lvstui.ops import changes as c
from lvstui.ops.changes import Change
from lvstui.ops.targets import ServerKey, ServiceKey, parse_server_id, parse_service_id
from lvstui.ops.undo import UndoPlan
from lvstui.ui.columns import RsRow
from lvstui.ui.confirm import ConfirmScreen, Decision
from lvstui.ui.drain_watch import DrainTraffic, Reader
from lvstui.ui.host import OPS_APPLY, OPS_PREVIEW, DashboardHost
from lvstui.ui.op_forms import AddServerScreen, ServiceFormScreen, WeightScreen
from lvstui.ui.op_runner import OpRunner, Preview, Result, UndoRunner

__all__ = ["OpsController", "Target", "describe_change"]

Target = tuple[str, str]  # (service id, real-server id)

#: in the persistence warning of a drain (lvstui.ops.changes.persistence_warning)
_PINNING_WARNING = "`lvstui expire-quiescent on` sets it to 1"

#: an operation a refusal advises (Refused.instead, the CLI's verb) -> the dashboard action doing it
_ACTION_OF = {"weight": "set_weight"}


def describe_change(change: Change) -> str:
    """``drain 10.1.0.11:80 in tcp:192.0.2.10:80``, ``weight +1 of ...``, ``drain-host 10.1.0.11``."""
    if isinstance(change, c.SetWeight):
        amount = str(change.weight) if change.weight is not None else f"{change.delta:+d}"
        return f"weight {amount} for {change.server.id} in {change.service.id}"
    if isinstance(change, c.AddServer):
        return (f"add {change.server.id} to {change.service.id} "
                f"({change.forward.value}, weight {change.weight})")
    if isinstance(change, (c.Drain, c.Restore, c.RemoveServer)):
        return f"{change.verb} {change.server.id} in {change.service.id}"
    if isinstance(change, (c.AddService, c.EditService, c.RemoveService)):
        return f"{change.verb} {change.service.id}"
    if isinstance(change, c.TABLE_WIDE):
        return change.verb
    return f"{change.verb}: every real server on {change.address}"


def _keys(vs_id: str, rs_id: str) -> tuple[ServiceKey, ServerKey]:
    service = parse_service_id(vs_id)
    return service, parse_server_id(rs_id, allow_port_zero=service.fwmark is not None)


class OpsController:
    """Builds batches of changes from the dashboard's selection, previews, confirms and applies them."""

    def __init__(self, host: DashboardHost, runner: OpRunner | None, *,
                 redraw: Callable[[], None] = lambda: None, key_of: Callable[[str], str] = lambda a: a,
                 read_traffic: Reader | None = None, pinning_sysctl: Callable[[], bool] = lambda: True) -> None:
        """``runner``: None when nothing can be written (no director); ``redraw``: the tags or the
        drained servers shown changed; ``key_of``: the key on screen for an action (``set_weight`` → w);
        ``read_traffic``: the connection table's reader for drains in progress (None: none here)."""
        self.host = host
        self.key_of = key_of
        self.runner = runner
        self.redraw = redraw
        self.tags: set[Target] = set()
        self.last_result: Result | None = None
        self._draining: set[Target] = set()
        #: drained elsewhere (another lvstui, an operator, ipvsadm) and not judged done yet -> seen
        #: carrying traffic (then its end is notified, as a drain of ours; one found already done is not)
        self._elsewhere: dict[Target, bool] = {}
        #: drained and judged done: the table is not read for them again while they stay at weight 0
        self._settled: set[Target] = set()
        #: net.ipv4.vs.expire_quiescent_template as the last poll read it (None: unknown, none here)
        self.eqt: int | None = None
        #: what the progress line names as the remedy for pinned clients (the screen's key where offered)
        self.pin_remedy = "lvstui expire-quiescent on"
        self.traffic = DrainTraffic(host, read_traffic, pinning_sysctl)

    # --- targets ------------------------------------------------------------------------

    def targets(self, row: RsRow | None) -> list[Target]:
        """The tagged real servers, else the one under the cursor (none if it is gone)."""
        if self.tags:
            return sorted(self.tags)
        if row is None or row.gone:
            return []
        return [(row.vs_id, row.rs.id)]

    def _on_targets(self, row: RsRow | None, verb: str, make: Callable[[ServiceKey, ServerKey], Change]) -> None:
        targets = self.targets(row)
        if not targets:
            return
        changes = [make(*_keys(vs_id, rs_id)) for vs_id, rs_id in targets]
        title = (describe_change(changes[0]) if len(changes) == 1
                 else f"{verb} {len(changes)} tagged real servers")
        self.propose(changes, title, tagged=bool(self.tags))

    # --- actions (the screen's key actions call these with its selection) ------------------

    def drain(self, row: RsRow | None) -> None:
        self._on_targets(row, "drain", c.Drain)

    def restore(self, row: RsRow | None) -> None:
        self._on_targets(row, "restore", c.Restore)

    def weight_up(self, row: RsRow | None) -> None:
        self._on_targets(row, "weight +1 for", lambda s, r: c.SetWeight(s, r, delta=1))

    def weight_down(self, row: RsRow | None) -> None:
        self._on_targets(row, "weight -1 for", lambda s, r: c.SetWeight(s, r, delta=-1))

    def set_weight(self, row: RsRow | None) -> None:
        targets = self.targets(row)
        if not targets:
            return
        current = row.rs.weight if row is not None and len(targets) == 1 else None
        tagged = bool(self.tags)
        self.host.open_screen(WeightScreen([_keys(*t) for t in targets], current),
                              lambda changes: self._from_form(changes, tagged))

    def toggle_tag(self, row: RsRow | None) -> bool:
        """Tag or untag the row; False when there is nothing to tag."""
        if row is None or row.gone:
            return False
        key = (row.vs_id, row.rs.id)
        if key in self.tags:
            self.tags.discard(key)
        else:
            self.tags.add(key)
        return True

    def clear_tags(self) -> bool:
        if not self.tags:
            return False
        self.tags.clear()
        self.redraw()
        return True

    def drain_host(self, row: RsRow | None) -> None:
        self._on_hosts(row, "drain-host", c.DrainHost)

    def restore_host(self, row: RsRow | None) -> None:
        self._on_hosts(row, "restore-host", c.RestoreHost)

    def _on_hosts(self, row: RsRow | None, verb: str, make: Callable[[str], Change]) -> None:
        addresses = sorted({_keys(vs_id, rs_id)[1].address for vs_id, rs_id in self.targets(row)})
        if not addresses:
            return
        changes = [make(a) for a in addresses]
        title = describe_change(changes[0]) if len(changes) == 1 else f"{verb}: {', '.join(addresses)}"
        self.propose(changes, title, tagged=bool(self.tags))

    def remove_rs(self, row: RsRow | None) -> None:
        if row is None or row.gone:
            return
        change = c.RemoveServer(*_keys(row.vs_id, row.rs.id))
        self.propose([change], describe_change(change))

    def add_rs(self, vs: VirtualService | None) -> None:
        snap = self.host.current_snapshot()
        if vs is None or snap is None:
            return
        self.host.open_screen(AddServerScreen(vs, snap), lambda changes: self._from_form(changes, False))

    def add_vs(self) -> None:
        snap = self.host.current_snapshot()
        if snap is None:
            self.host.tell("no data from the director yet", severity="warning")
            return
        self.host.open_screen(ServiceFormScreen(snap), lambda changes: self._from_form(changes, False))

    def edit_vs(self, vs: VirtualService | None) -> None:
        snap = self.host.current_snapshot()
        if vs is None or snap is None:
            return
        self.host.open_screen(ServiceFormScreen(snap, vs), lambda changes: self._from_form(changes, False))

    def remove_vs(self, vs: VirtualService | None) -> None:
        if vs is None:
            return
        change = c.RemoveService(parse_service_id(vs.id))
        self.propose([change], f"remove virtual service {vs.id} and its {len(vs.real_servers)} real servers")

    def _from_form(self, changes: list[Change] | None, tagged: bool) -> None:
        if not changes:
            return
        title = describe_change(changes[0]) if len(changes) == 1 else \
            f"{describe_change(changes[0]).split(' for ')[0]} for {len(changes)} tagged real servers"
        self.propose(changes, title, tagged=tagged)

    def _free_runner(self) -> OpRunner | None:
        """The runner, if a new preview may start now (else None, and the operator is told why;
        a key pressed twice while a preview runs gets one confirmation, silently)."""
        if self.runner is None:
            self.host.tell("this source cannot be changed (no director to write to)", severity="error")
            return None
        if self.host.busy(OPS_APPLY):
            self.host.tell("an operation is still being applied: wait for its result", severity="warning")
            return None
        if self.host.busy(OPS_PREVIEW):
            return None
        return self.runner

    def pins_drained(self, row: RsRow | None) -> bool:
        """The remedy applies to the row: a drained real server of a persistent service, while
        expire_quiescent_template is 0 (its pinned clients are still sent to it)."""
        if row is None or row.gone or row.rs.weight != 0 or self.eqt != 0:
            return False
        snap = self.host.current_snapshot()
        vs = snap.service(row.vs_id) if snap is not None else None
        return vs is not None and vs.persistent

    def expire_quiescent(self, row: RsRow | None) -> None:
        """Set expire_quiescent_template to 1, as ``lvstui expire-quiescent on``: previewed (0 -> 1),
        confirmed, journaled, undone by z."""
        if not self.pins_drained(row):
            return
        self.propose([c.SetExpireQuiescent(1)],
                     "expire quiescent templates: clients pinned to drained real servers go elsewhere")

    def undo(self) -> None:
        """Reverse the last change lvstui journaled (ops.undo): previewed, confirmed, applied."""
        runner = self._free_runner()
        if runner is None:
            return
        undoer = UndoRunner(runner)

        def work() -> None:
            try:
                undo, preview = undoer.preview()
            except Exception as exc:  # noqa: BLE001 - a bug must still end as a message
                undo, preview = None, Preview("undo", error=f"{type(exc).__name__}: {exc}")
            self.host.from_thread(self._ask_undo, undoer, undo, preview)

        self.host.start_thread(work, name="preview", group=OPS_PREVIEW)

    def _ask_undo(self, undoer: UndoRunner, undo: UndoPlan | None, preview: Preview) -> None:
        def decided(decision: Decision | None) -> None:
            if decision is None:
                self.host.tell("cancelled: nothing was changed", timeout=3)
                return
            if undo is None:  # a refusal was shown, with no Yes
                return
            plan = undo

            def work() -> None:
                try:
                    result = undoer.apply(plan)
                except Exception as exc:  # noqa: BLE001 - a bug must still end as a message
                    result = Result(False, f"undo failed: {type(exc).__name__}: {exc}")
                self.host.from_thread(self._applied, [], result, False, None)

            self.host.start_thread(work, name="apply", group=OPS_APPLY)

        self.host.open_screen(ConfirmScreen(preview), decided)

    # --- preview, confirm, apply ------------------------------------------------------------

    def propose(self, changes: Sequence[Change], title: str, *, tagged: bool = False) -> None:
        """Preview in a thread, then ask; nothing is written before the operator says yes."""
        runner = self._free_runner()
        if runner is None:
            return

        def work() -> None:
            try:
                preview = runner.preview(changes, title)
            except Exception as exc:  # noqa: BLE001 - a bug must still end as a message
                preview = Preview(title, error=f"{type(exc).__name__}: {exc}")
            # the worker (so the group) stays busy until the confirmation is on screen
            self.host.from_thread(self._ask, runner, list(changes), title, preview, tagged)

        self.host.start_thread(work, name="preview", group=OPS_PREVIEW)

    def _pointed(self, preview: Preview) -> Preview:
        """A refusal that advises another operation names its key on this screen, not a CLI command;
        a drain's persistence warning also names the remedy's key where this screen offers it."""
        preview = self._remedy_named(preview)
        action = _ACTION_OF.get(preview.instead or "")
        if action is None or preview.error is None:
            return preview
        return dataclasses.replace(preview, error=f"{preview.error}: press {self.key_of(action)} to set a weight")

    def _remedy_named(self, preview: Preview) -> Preview:
        if self.eqt != 0 or self.pin_remedy.startswith("lvstui ") \
                or not any(_PINNING_WARNING in w for w in preview.warnings):
            return preview
        here = (f"Here: {self.pin_remedy} on the drained real server sets it to 1 "
                "(previewed and confirmed like this).")
        return dataclasses.replace(preview, warnings=[*preview.warnings, here])

    def _paired(self, runner: OpRunner, changes: list[Change], preview: Preview) -> Preview:
        """With a peer, a durable change is made on both directors (OpRunner.apply): the confirmation
        names the peer, and says when its reader finds it unreachable (then only "This director
        only" can make it)."""
        peer = runner.paired(changes)
        if peer is None:
            return preview
        snap = self.host.current_snapshot()
        view = snap.peer if snap is not None else None
        down = None
        if view is not None and not view.connecting and (not view.reachable or view.stale):
            down = view.error or "its last snapshot is stale"
        return dataclasses.replace(preview, peer=peer, peer_down=down)

    def _ask(self, runner: OpRunner, changes: list[Change], title: str, preview: Preview, tagged: bool) -> None:
        preview = self._paired(runner, changes, self._pointed(preview))

        def replan(force: bool, runtime_only: bool) -> Preview:
            return self._paired(runner, changes,
                                self._pointed(runner.preview(changes, title, force=force, runtime_only=runtime_only)))

        self.host.open_screen(ConfirmScreen(preview, replan),
                              lambda decision: self._decided(runner, changes, decision, tagged))

    def _decided(self, runner: OpRunner, changes: list[Change], decision: Decision | None, tagged: bool) -> None:
        if decision is None:
            self.host.tell("cancelled: nothing was changed", timeout=3)
            return
        snap = self.host.current_snapshot()

        def work() -> None:
            try:
                result = runner.apply(changes, force=decision.force, runtime_only=decision.runtime_only,
                                      local_only=decision.local_only)
            except Exception as exc:  # noqa: BLE001 - a bug must still end as a message, not a dead worker
                result = Result(False, f"{changes[0].verb} failed: {type(exc).__name__}: {exc}")
            self.host.from_thread(self._applied, changes, result, tagged, snap)

        self.host.start_thread(work, name="apply", group=OPS_APPLY)

    def _applied(self, changes: list[Change], result: Result, tagged: bool, snap: Snapshot | None) -> None:
        self.last_result = result
        if result.ok:
            detail = result.lines[:6] if len(result.lines) > 1 else []
            more = [f"… and {len(result.lines) - 6} more"] if len(result.lines) > 6 else []
            self.host.tell("\n".join([result.message, *detail, *more]), title="applied", timeout=6)
            self._track_drains(changes[: result.applied], snap)
            if tagged:
                self.clear_tags()
        else:
            self.host.tell(result.message, title="not applied" if not result.applied else "partly applied",
                           severity="error", timeout=10)
        self.host.changed()

    # --- drain feedback ------------------------------------------------------------------------

    def _track_drains(self, changes: Sequence[Change], snap: Snapshot | None) -> None:
        for change in changes:
            if isinstance(change, c.Drain):
                self._draining.add((change.service.id, change.server.id))
            elif isinstance(change, c.DrainHost) and snap is not None:
                self._draining |= {(vs.id, rs.id) for vs in snap.virtual_services for rs in vs.real_servers
                                   if rs.address == change.address}
            elif isinstance(change, (c.Restore, c.SetWeight)):
                self._draining.discard((change.service.id, change.server.id))
        for key in self._draining:  # drained (again) from here: judged as ours from now on
            self._elsewhere.pop(key, None)
            self._settled.discard(key)

    def watch_drains(self, snap: Snapshot, drained: Collection[Target] = frozenset(),
                     eqt: int | None = None) -> None:
        """Say when a drained real server carries no more client traffic: by the connection table
        where there is one here (as ``drain --wait``), else by its counts.  ``drained``: every real
        server at weight 0 in ``snap`` (counted in the poller thread), whoever drained it: those not
        drained from here are judged alike until they are done; ``eqt``: the poll's sysctl."""
        self.eqt = eqt
        self._settled.intersection_update(drained)
        for key in list(self._elsewhere):
            if key not in drained:
                del self._elsewhere[key]
        for key in drained:
            if key not in self._draining and key not in self._settled and key not in self._elsewhere:
                self._elsewhere[key] = False
        services = {vs.id: vs for vs in snap.virtual_services} if self._draining or self._elsewhere else {}
        for key in list(self._draining):
            vs = services.get(key[0])
            rs = vs.real_server(key[1]) if vs is not None else None
            if vs is None or rs is None or rs.weight > 0:
                self._draining.discard(key)
                continue
            if self._done(key, vs, rs):
                self._draining.discard(key)
                self._settled.add(key)
                self.host.tell(self._finished(key, vs, rs), timeout=8)
        for key, seen in list(self._elsewhere.items()):
            vs = services.get(key[0])
            rs = vs.real_server(key[1]) if vs is not None else None
            if vs is None or rs is None:
                del self._elsewhere[key]
                continue
            done = self._done(key, vs, rs)
            if done:
                del self._elsewhere[key]
                self._settled.add(key)
                if seen:
                    self.host.tell(self._finished(key, vs, rs), timeout=8)
            elif done is not None and not seen:
                self._elsewhere[key] = True
        self.traffic.refresh(snap, self._draining | self._elsewhere.keys(), then=self.redraw)

    def _done(self, key: Target, vs: VirtualService, rs: RealServer) -> bool | None:
        """By the table where it judges (None until it has been read for ``key``), else by the counts."""
        if self.traffic.judged():
            return self.traffic.done(key, vs)
        return rs.active_conns == 0 and rs.inactive_conns == 0

    def _finished(self, key: Target, vs: VirtualService, rs: RealServer) -> str:
        if self.traffic.judged():
            return self.traffic.finished(key, vs, rs)
        templates = (f" ({rs.persistent_conns} persistence templates remain until they expire)"
                     if rs.persistent_conns else "")
        return f"{rs.id} in {vs.id} is drained: no connections left{templates}"

    def watched(self) -> set[Target]:
        """The drains in progress, judged by the table (ours and those found drained elsewhere)."""
        return self._draining | self._elsewhere.keys()

    def drain_note(self, row: RsRow | None) -> str:
        """For the real-servers title: the drained server under the cursor, its counts falling (by the
        connection table while its drain is in progress, whoever drained it, else by the kernel's counters)."""
        if row is None or row.gone or row.rs.weight != 0:
            return ""
        rs = row.rs
        snap = self.host.current_snapshot()
        vs = snap.service(row.vs_id) if snap is not None else None
        key = (row.vs_id, rs.id)
        if (key in self._draining or key in self._elsewhere) and \
                (by_table := self.traffic.note(key, vs, rs, self.pin_remedy)):
            return by_table
        text = f" · {rs.id} drained: {rs.active_conns} active, {rs.inactive_conns} inactive"
        if vs is not None and vs.persistent:
            text += f", {rs.persistent_conns} persistent (templates keep their clients until they expire"
            text += f"; still sent here: {self.pin_remedy})" if self.eqt == 0 else ")"
        return text

    def tags_note(self) -> str:
        return f" · {len(self.tags)} tagged (Esc clears)" if self.tags else ""
