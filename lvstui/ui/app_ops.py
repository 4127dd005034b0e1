"""The dashboard's operations: drain, restore, weights, add/remove, tags, from the keyboard.

A mixin of :class:`lvstui.ui.app.DashboardApp`.  Every change follows one path:

1. the action (or a form, :mod:`lvstui.ui.op_forms`) builds change objects of
   :mod:`lvstui.ops.changes`, one per target (the real server under the cursor, or every
   tagged one);
2. a thread worker previews them through :class:`lvstui.ui.op_runner.OpRunner` (which calls
   ``Operations.plan``: validation, keepalived's refusals, warnings);
3. :class:`lvstui.ui.confirm.ConfirmScreen` shows exactly what will change, focus on "No";
4. on "Yes" a thread worker applies them (``Operations.apply``: re-planned on a fresh read,
   written, read back, journalled); the outcome is notified and a poll is triggered.

Nothing here talks to netlink; in ``--readonly`` the actions are hidden (check_action) and
the operations layer refuses anyway.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from lvstui.model import Snapshot
from lvstui.ops import changes as c
from lvstui.ops.changes import Change
from lvstui.ops.targets import ServerKey, ServiceKey, parse_server_id, parse_service_id
from lvstui.ui.confirm import ConfirmScreen, Decision
from lvstui.ui.op_runner import OpRunner, Preview, Result, make_operations

if TYPE_CHECKING:
    from lvstui.ui.app import DashboardApp

    _Base = DashboardApp
else:
    _Base = object

__all__ = ["OpsMixin", "describe_change"]

Target = tuple[str, str]  # (service id, real-server id)


def describe_change(change: Change) -> str:
    """``drain 10.1.0.11:80 in tcp:192.0.2.10:80``, ``weight +1 of ...``, ``drain-host 10.1.0.11``."""
    server = getattr(change, "server", None)
    service = getattr(change, "service", None)
    address = getattr(change, "address", None)
    verb = change.verb
    if isinstance(change, c.SetWeight):
        amount = str(change.weight) if change.weight is not None else f"{change.delta:+d}"
        return f"weight {amount} for {server.id} in {service.id}"  # type: ignore[union-attr]
    if isinstance(change, c.AddServer):
        return (f"add {change.server.id} to {change.service.id} "
                f"({change.forward.value}, weight {change.weight})")
    if server is not None and service is not None:
        return f"{verb} {server.id} in {service.id}"
    if service is not None:
        return f"{verb} {service.id}"
    if address is not None:
        return f"{verb}: every real server on {address}"
    return verb


def _keys(vs_id: str, rs_id: str) -> tuple[ServiceKey, ServerKey]:
    service = parse_service_id(vs_id)
    return service, parse_server_id(rs_id, allow_port_zero=service.fwmark is not None)


class OpsMixin(_Base):
    runner: OpRunner | None
    tags: set[Target]
    last_result: Result | None

    def setup_operations(self, director: Any, operations: Any) -> None:
        """``director``: what Operations writes to (None: the source itself if it can be written)."""
        self.tags = set()
        self.last_result = None
        self._op_running = False
        self._previewing = False
        self._draining: set[Target] = set()
        if operations is None:
            if director is None and callable(getattr(self.source, "add_dest", None)):
                director = self.source
            if director is not None:
                operations = make_operations(director, readonly=self.readonly,
                                             demo=getattr(self.source, "name", "") == "demo")
        self.runner = OpRunner(operations) if operations is not None else None

    # --- targets ------------------------------------------------------------------------

    def _rs_targets(self) -> list[Target]:
        if self.tags:
            return sorted(self.tags)
        row = self.real_servers.cursor_item
        if row is None or getattr(row, "gone", False):
            return []
        return [(row.vs_id, row.rs.id)]

    def _snapshot(self) -> Snapshot | None:
        return self.frame.snapshot if self.frame is not None else None

    def _on_targets(self, verb: str, make: Callable[[ServiceKey, ServerKey], Change]) -> None:
        targets = self._rs_targets()
        if not targets:
            return
        changes = [make(*_keys(vs_id, rs_id)) for vs_id, rs_id in targets]
        title = (describe_change(changes[0]) if len(changes) == 1
                 else f"{verb} {len(changes)} tagged real servers")
        self.propose(changes, title, tagged=bool(self.tags))

    # --- actions --------------------------------------------------------------------------

    def action_drain(self) -> None:
        self._on_targets("drain", c.Drain)

    def action_restore(self) -> None:
        self._on_targets("restore", c.Restore)

    def action_weight_up(self) -> None:
        self._on_targets("weight +1 for", lambda s, r: c.SetWeight(s, r, delta=1))

    def action_weight_down(self) -> None:
        self._on_targets("weight -1 for", lambda s, r: c.SetWeight(s, r, delta=-1))

    def action_set_weight(self) -> None:
        from lvstui.ui.op_forms import WeightScreen

        targets = self._rs_targets()
        if not targets:
            return
        row = self.real_servers.cursor_item
        current = row.rs.weight if row is not None and len(targets) == 1 else None
        screen = WeightScreen([_keys(*t) for t in targets], current)
        tagged = bool(self.tags)
        self.push_screen(screen, lambda changes: self._from_form(changes, tagged))

    def action_tag(self) -> None:
        row = self.real_servers.cursor_item
        if row is None or getattr(row, "gone", False):
            return
        key = (row.vs_id, row.rs.id)
        if key in self.tags:
            self.tags.discard(key)
        else:
            self.tags.add(key)
        self.real_servers.move_cursor(self.real_servers.cursor_index + 1)  # as htop: tag and move on
        self.real_servers.refresh()
        self._refresh_titles()

    def clear_tags(self) -> bool:
        if not self.tags:
            return False
        self.tags.clear()
        self.real_servers.refresh()
        self._refresh_titles()
        return True

    def _host_addresses(self) -> list[str]:
        return sorted({self._address_of(vs_id, rs_id) for vs_id, rs_id in self._rs_targets()})

    def _address_of(self, vs_id: str, rs_id: str) -> str:
        return _keys(vs_id, rs_id)[1].address

    def action_drain_host(self) -> None:
        self._on_hosts("drain-host", c.DrainHost)

    def action_restore_host(self) -> None:
        self._on_hosts("restore-host", c.RestoreHost)

    def _on_hosts(self, verb: str, make: Callable[[str], Change]) -> None:
        addresses = self._host_addresses()
        if not addresses:
            return
        changes = [make(a) for a in addresses]
        title = describe_change(changes[0]) if len(changes) == 1 else f"{verb}: {', '.join(addresses)}"
        self.propose(changes, title, tagged=bool(self.tags))

    def action_remove_rs(self) -> None:
        row = self.real_servers.cursor_item
        if row is None or getattr(row, "gone", False):
            return
        change = c.RemoveServer(*_keys(row.vs_id, row.rs.id))
        self.propose([change], describe_change(change))

    def _selected_service(self) -> Any:
        row = self.services.cursor_item
        return row.vs if row is not None else None

    def action_add_rs(self) -> None:
        from lvstui.ui.op_forms import AddServerScreen

        vs, snap = self._selected_service(), self._snapshot()
        if vs is None or snap is None:
            return
        self.push_screen(AddServerScreen(vs, snap), lambda changes: self._from_form(changes, False))

    def action_add_vs(self) -> None:
        from lvstui.ui.op_forms import ServiceFormScreen

        snap = self._snapshot()
        if snap is None:
            self.notify("no data from the director yet", severity="warning")
            return
        self.push_screen(ServiceFormScreen(snap), lambda changes: self._from_form(changes, False))

    def action_edit_vs(self) -> None:
        from lvstui.ui.op_forms import ServiceFormScreen

        vs, snap = self._selected_service(), self._snapshot()
        if vs is None or snap is None:
            return
        self.push_screen(ServiceFormScreen(snap, vs), lambda changes: self._from_form(changes, False))

    def action_remove_vs(self) -> None:
        vs = self._selected_service()
        if vs is None:
            return
        change = c.RemoveService(parse_service_id(vs.id))
        self.propose([change], f"remove virtual service {vs.id} and its {len(vs.real_servers)} real servers")

    def action_setup(self) -> None:
        from lvstui.ui.setup_forms import SetupChooserScreen

        self.push_screen(SetupChooserScreen())

    def _from_form(self, changes: list[Change] | None, tagged: bool) -> None:
        if not changes:
            return
        title = describe_change(changes[0]) if len(changes) == 1 else \
            f"{describe_change(changes[0]).split(' for ')[0]} for {len(changes)} tagged real servers"
        self.propose(changes, title, tagged=tagged)

    # --- preview, confirm, apply ------------------------------------------------------------

    def propose(self, changes: Sequence[Change], title: str, *, tagged: bool = False) -> None:
        """Preview in a thread, then ask; nothing is written before the operator says yes."""
        runner = self.runner
        if runner is None:
            self.notify("this source cannot be changed (no director to write to)", severity="error")
            return
        if self._op_running:
            self.notify("an operation is still being applied: wait for its result", severity="warning")
            return
        if self._previewing:
            return  # a key pressed twice: one confirmation is enough
        self._previewing = True

        def work() -> None:
            try:
                preview = runner.preview(changes, title)
            except Exception as exc:  # noqa: BLE001 - a bug must still end as a message
                preview = Preview(title, error=f"{type(exc).__name__}: {exc}")
            self.call_from_thread(self._ask, list(changes), title, preview, tagged)

        self.run_worker(work, name="preview", group="ops-preview", thread=True, exit_on_error=False)

    def _ask(self, changes: list[Change], title: str, preview: Preview, tagged: bool) -> None:
        self._previewing = False
        runner = self.runner
        assert runner is not None

        def replan(force: bool, runtime_only: bool) -> Preview:
            return runner.preview(changes, title, force=force, runtime_only=runtime_only)

        self.push_screen(ConfirmScreen(preview, replan),
                         lambda decision: self._decided(changes, decision, tagged))

    def _decided(self, changes: list[Change], decision: Decision | None, tagged: bool) -> None:
        if decision is None:
            self.notify("cancelled: nothing was changed", timeout=3)
            return
        runner = self.runner
        assert runner is not None
        self._op_running = True
        snap = self._snapshot()

        def work() -> None:
            try:
                result = runner.apply(changes, force=decision.force, runtime_only=decision.runtime_only)
            except Exception as exc:  # noqa: BLE001 - a bug must still end as a message, not a dead worker
                result = Result(False, f"{changes[0].verb} failed: {type(exc).__name__}: {exc}")
            self.call_from_thread(self._applied, changes, result, tagged, snap)

        self.run_worker(work, name="apply", group="ops", thread=True, exit_on_error=False)

    def _applied(self, changes: list[Change], result: Result, tagged: bool, snap: Snapshot | None) -> None:
        self._op_running = False
        self.last_result = result
        if result.ok:
            detail = result.lines[:6] if len(result.lines) > 1 else []
            more = [f"… and {len(result.lines) - 6} more"] if len(result.lines) > 6 else []
            self.notify("\n".join([result.message, *detail, *more]), title="applied", timeout=6)
            self._track_drains(changes[: result.applied], snap)
            if tagged:
                self.clear_tags()
        else:
            self.notify(result.message, title="not applied" if not result.applied else "partly applied",
                        severity="error", timeout=10)
        if self.autopoll:
            self.poller.poll_now()
        else:
            self.ingest()

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
        """Say when a real server drained from this screen has no connections left."""
        for key in list(self._draining):
            vs = snap.service(key[0])
            rs = vs.real_server(key[1]) if vs is not None else None
            if rs is None or rs.weight > 0:
                self._draining.discard(key)
                continue
            if rs.active_conns == 0 and rs.inactive_conns == 0:
                self._draining.discard(key)
                templates = (f" ({rs.persistent_conns} persistence templates remain until they expire)"
                             if rs.persistent_conns else "")
                self.notify(f"{rs.id} in {vs.id} is drained: no connections left{templates}", timeout=8)

    def drain_note(self) -> str:
        """For the real-servers title: the drained server under the cursor, its counts falling."""
        row = self.real_servers.cursor_item
        if row is None or getattr(row, "gone", False) or row.rs.weight != 0:
            return ""
        rs = row.rs
        snap = self._snapshot()
        vs = snap.service(row.vs_id) if snap is not None else None
        text = f" · {rs.id} drained: {rs.active_conns} active, {rs.inactive_conns} inactive"
        if vs is not None and vs.persistent:
            text += f", {rs.persistent_conns} persistent (templates keep their clients until they expire)"
        return text

    def tags_note(self) -> str:
        return f" · {len(self.tags)} tagged (Esc clears)" if getattr(self, "tags", None) else ""

