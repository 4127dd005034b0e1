"""The dashboard's operations: drain, restore, weights, add/remove, tags, from the keyboard.

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
   (``Operations.apply``: re-planned on a fresh read, written, read back, journalled); the
   outcome is notified and the director read again.

Nothing here talks to netlink; in ``--readonly`` the actions are hidden (the screen's
``check_action``) and the operations layer refuses anyway.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from lvstui.model import Snapshot, VirtualService
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
        """A refusal that advises another operation names its key on this screen, not a CLI command."""
        action = _ACTION_OF.get(preview.instead or "")
        if action is None or preview.error is None:
            return preview
        return dataclasses.replace(preview, error=f"{preview.error}: press {self.key_of(action)} to set a weight")

    def _ask(self, runner: OpRunner, changes: list[Change], title: str, preview: Preview, tagged: bool) -> None:
        preview = self._pointed(preview)

        def replan(force: bool, runtime_only: bool) -> Preview:
            return self._pointed(runner.preview(changes, title, force=force, runtime_only=runtime_only))

        self.host.open_screen(ConfirmScreen(preview, replan),
                              lambda decision: self._decided(runner, changes, decision, tagged))

    def _decided(self, runner: OpRunner, changes: list[Change], decision: Decision | None, tagged: bool) -> None:
        if decision is None:
            self.host.tell("cancelled: nothing was changed", timeout=3)
            return
        snap = self.host.current_snapshot()

        def work() -> None:
            try:
                result = runner.apply(changes, force=decision.force, runtime_only=decision.runtime_only)
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

    def watch_drains(self, snap: Snapshot) -> None:
        """Say when a real server drained from this screen carries no more client traffic: by the
        connection table where there is one here (as ``drain --wait``), else by its counts."""
        for key in list(self._draining):
            vs = snap.service(key[0])
            rs = vs.real_server(key[1]) if vs is not None else None
            if vs is None or rs is None or rs.weight > 0:
                self._draining.discard(key)
                continue
            if self.traffic.judged():
                if self.traffic.done(key, vs):
                    self._draining.discard(key)
                    self.host.tell(self.traffic.finished(key, vs, rs), timeout=8)
            elif rs.active_conns == 0 and rs.inactive_conns == 0:
                self._draining.discard(key)
                templates = (f" ({rs.persistent_conns} persistence templates remain until they expire)"
                             if rs.persistent_conns else "")
                self.host.tell(f"{rs.id} in {vs.id} is drained: no connections left{templates}", timeout=8)
        self.traffic.refresh(snap, self._draining, then=self.redraw)

    def drain_note(self, row: RsRow | None) -> str:
        """For the real-servers title: the drained server under the cursor, its counts falling (by the
        connection table while its drain is in progress here, else by the kernel's counters)."""
        if row is None or row.gone or row.rs.weight != 0:
            return ""
        rs = row.rs
        snap = self.host.current_snapshot()
        vs = snap.service(row.vs_id) if snap is not None else None
        if (row.vs_id, rs.id) in self._draining and (by_table := self.traffic.note((row.vs_id, rs.id), vs, rs)):
            return by_table
        text = f" · {rs.id} drained: {rs.active_conns} active, {rs.inactive_conns} inactive"
        if vs is not None and vs.persistent:
            text += f", {rs.persistent_conns} persistent (templates keep their clients until they expire)"
        return text

    def tags_note(self) -> str:
        return f" · {len(self.tags)} tagged (Esc clears)" if self.tags else ""
