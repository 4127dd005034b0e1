"""Demote or promote this director (keepalived MASTER/BACKUP) from the dashboard.

A mixin of :class:`lvstui.ui.app.DashboardApp`, over the flow the CLI uses
(:mod:`lvstui.ops.vrrp`, as ``lvstui vrrp demote|promote``):

1. ``prepare`` runs in a thread worker (it listens to VRRP adverts for a few seconds);
   its one-line error (keepalived not running, no track file: the advice) is notified;
2. :class:`lvstui.ui.confirm.ConfirmScreen` shows the plan and the problems, focus on "No";
   a problem refuses it unless the operator ticks Force;
3. on "Yes" ``execute`` runs in a thread worker: each change seen on the wire is notified,
   then the outcome (done, or not seen in time and put back).

The advert listener is closed whatever the outcome.  Hidden and refused in ``--readonly``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lvstui.ui.confirm import ConfirmScreen, Decision
from lvstui.ui.op_runner import Preview

if TYPE_CHECKING:
    from lvstui.ui.app import DashboardApp

    _Base = DashboardApp
else:
    _Base = object

__all__ = ["VRRP_TIMEOUT", "VrrpMixin", "vrrp_preview"]

#: seconds to wait for the change to be seen on the wire before it is put back (the CLI's default)
VRRP_TIMEOUT = 20.0


def vrrp_preview(action: str, plan: Any, force: bool) -> Preview:
    """The confirmation's content for a :class:`lvstui.ops.vrrp.TogglePlan`."""
    warnings = list(plan.problems)
    if plan.listener_error:
        warnings.append(f"{plan.listener_error}: the change cannot be confirmed on the wire")
    lines = [plan.text] + ([plan.notice] if plan.notice else [])
    return Preview(f"VRRP {action} of this director", lines=lines, warnings=warnings,
                   error=plan.refusal(force), forceable=bool(warnings), force=force)


class VrrpMixin(_Base):
    _vrrp_busy: bool = False

    def action_vrrp_demote(self) -> None:
        self.vrrp_toggle("demote")

    def action_vrrp_promote(self) -> None:
        self.vrrp_toggle("promote")

    def vrrp_toggle(self, action: str) -> None:
        """Plan in a thread (listening to adverts), then ask; nothing is written before "Yes"."""
        if self.readonly:
            self.notify(f"--readonly: VRRP {action} refused", severity="error")
            return
        if self._vrrp_busy:
            self.notify("a VRRP demote/promote is under way: wait for its result", severity="warning")
            return
        self._vrrp_busy = True
        self.notify(f"VRRP {action}: listening to VRRP adverts before planning…", timeout=4)

        def work() -> None:
            from lvstui.ops import vrrp as toggle_flow
            from lvstui.keepalived.toggle import ToggleError

            try:
                plan = toggle_flow.prepare(action)
            except ToggleError as exc:
                self.call_from_thread(self._vrrp_failed, f"VRRP {action}: {exc}")
                return
            except Exception as exc:  # noqa: BLE001 - a bug must still end as a message
                self.call_from_thread(self._vrrp_failed, f"VRRP {action} failed: {type(exc).__name__}: {exc}")
                return
            self.call_from_thread(self._vrrp_ask, action, plan)

        self.run_worker(work, name="vrrp-prepare", group="vrrp", thread=True, exit_on_error=False)

    def _vrrp_failed(self, message: str) -> None:
        self._vrrp_busy = False
        self.notify(message, title="not applied", severity="error", timeout=10)

    def _vrrp_ask(self, action: str, plan: Any) -> None:
        def replan(force: bool, _runtime_only: bool) -> Preview:
            return vrrp_preview(action, plan, force)

        self.push_screen(ConfirmScreen(vrrp_preview(action, plan, plan.force), replan),
                         lambda decision: self._vrrp_decided(action, plan, decision))

    def _vrrp_decided(self, action: str, plan: Any, decision: Decision | None) -> None:
        from lvstui.ops import vrrp as toggle_flow

        if decision is None or plan.refusal(decision.force):
            try:
                toggle_flow.record_refusal(plan)  # journalled as the CLI does when it refuses
            finally:
                plan.close()
                self._vrrp_busy = False
            self.notify("cancelled: nothing was changed", timeout=3)
            return
        plan.force = decision.force

        def progress(line: str) -> None:
            self.call_from_thread(self.notify, line, title=f"VRRP {action}", timeout=4)

        def work() -> None:
            try:
                result = toggle_flow.execute(plan, VRRP_TIMEOUT, progress=progress)
                ok, undone, message = result.done, result.undone, result.message
            except Exception as exc:  # noqa: BLE001 - a bug must still end as a message, not a dead worker
                ok, undone, message = False, False, f"VRRP {action} failed: {type(exc).__name__}: {exc}"
            finally:
                plan.close()
            self.call_from_thread(self._vrrp_done, action, ok, undone, message)

        self.run_worker(work, name="vrrp-execute", group="vrrp", thread=True, exit_on_error=False)

    def _vrrp_done(self, action: str, ok: bool, undone: bool, message: str) -> None:
        self._vrrp_busy = False
        if ok:
            self.notify(message, title=f"VRRP {action}: done", timeout=8)
        else:
            self.notify(message, title=f"VRRP {action}: " + ("undone" if undone else "not applied"),
                        severity="error", timeout=12)
        if self.autopoll:
            self.poller.poll_now()
        else:
            self.ingest()
