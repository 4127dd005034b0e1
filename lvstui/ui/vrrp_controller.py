"""Demote or promote this director (keepalived MASTER/BACKUP) from the dashboard.

A controller (a plain class) over the flow the CLI uses (:mod:`lvstui.ops.vrrp`,
as ``lvstui vrrp demote|promote``), reaching the screen only through
:class:`lvstui.ui.host.DashboardHost`:

1. ``prepare`` runs in a thread worker of group :data:`~lvstui.ui.host.VRRP` (it listens to
   VRRP adverts for a few seconds); its one-line error (keepalived not running, no track
   file: the advice) is notified;
2. :class:`lvstui.ui.confirm.ConfirmScreen` shows the plan and the problems, focus on "No";
   a problem refuses it unless the operator ticks Force;
3. on "Yes" ``execute`` runs in a thread worker of the same group: each change seen on the
   wire is notified, then the outcome (done, or not seen in time and put back).

The advert listener is closed whatever the outcome.  Hidden and refused in ``--readonly``;
offered only when the source declares VRRP (``Capabilities.vrrp``).
"""

from __future__ import annotations

from functools import partial

from lvstui.keepalived.toggle import ToggleError
from lvstui.ops import vrrp as toggle_flow
from lvstui.ops.vrrp import TogglePlan
from lvstui.ui.confirm import ConfirmScreen, Decision
from lvstui.ui.host import VRRP, DashboardHost
from lvstui.ui.op_runner import Preview

__all__ = ["VRRP_TIMEOUT", "VrrpController", "vrrp_preview"]

#: seconds to wait for the change to be seen on the wire before it is put back (the CLI's default)
VRRP_TIMEOUT = 20.0


def vrrp_preview(action: str, plan: TogglePlan, force: bool) -> Preview:
    """The confirmation's content for a :class:`lvstui.ops.vrrp.TogglePlan`."""
    warnings = list(plan.problems)
    if plan.listener_error:
        warnings.append(f"{plan.listener_error}: the change cannot be confirmed on the wire")
    lines = [plan.text] + ([plan.notice] if plan.notice else [])
    return Preview(f"VRRP {action} of this director", lines=lines, warnings=warnings,
                   error=plan.refusal(force), forceable=bool(warnings), force=force)


class VrrpController:
    def __init__(self, host: DashboardHost, *, readonly: bool, available: bool,
                 timeout: float = VRRP_TIMEOUT) -> None:
        """``available``: the source declares a keepalived view (``Capabilities.vrrp``)."""
        self.host = host
        self.readonly = readonly
        self.available = available
        self.timeout = timeout

    def toggle(self, action: str) -> None:
        """Plan in a thread (listening to adverts), then ask; nothing is written before "Yes"."""
        if self.readonly:
            self.host.tell(f"--readonly: VRRP {action} refused", severity="error")
            return
        if not self.available:
            self.host.tell(f"VRRP {action}: this source has no keepalived (nothing to demote or promote)",
                           title="not applied", severity="error", timeout=10)
            return
        if self.host.busy(VRRP):
            self.host.tell("a VRRP demote/promote is under way: wait for its result", severity="warning")
            return
        self.host.tell(f"VRRP {action}: listening to VRRP adverts before planning…", timeout=4)

        def work() -> None:
            try:
                plan = toggle_flow.prepare(action, actor="tui")
            except ToggleError as exc:
                self.host.from_thread(self._failed, f"VRRP {action}: {exc}")
                return
            except Exception as exc:  # noqa: BLE001 - a bug must still end as a message
                self.host.from_thread(self._failed, f"VRRP {action} failed: {type(exc).__name__}: {exc}")
                return
            self.host.from_thread(self._ask, action, plan)

        self.host.start_thread(work, name="vrrp-prepare", group=VRRP)

    def _failed(self, message: str) -> None:
        self.host.tell(message, title="not applied", severity="error", timeout=10)

    def _ask(self, action: str, plan: TogglePlan) -> None:
        def replan(force: bool, _runtime_only: bool) -> Preview:
            return vrrp_preview(action, plan, force)

        self.host.open_screen(ConfirmScreen(vrrp_preview(action, plan, plan.force), replan),
                              lambda decision: self._decided(action, plan, decision))

    def _decided(self, action: str, plan: TogglePlan, decision: Decision | None) -> None:
        if decision is None or plan.refusal(decision.force):
            try:
                toggle_flow.record_refusal(plan)  # journalled as the CLI does when it refuses
            finally:
                plan.close()
            self.host.tell("cancelled: nothing was changed", timeout=3)
            return
        plan.force = decision.force

        def progress(line: str) -> None:
            self.host.from_thread(partial(self.host.tell, line, title=f"VRRP {action}", timeout=4))

        def work() -> None:
            try:
                result = toggle_flow.execute(plan, self.timeout, progress=progress, actor="tui")
                ok, undone, message = result.done, result.undone, result.message
            except Exception as exc:  # noqa: BLE001 - a bug must still end as a message, not a dead worker
                ok, undone, message = False, False, f"VRRP {action} failed: {type(exc).__name__}: {exc}"
            finally:
                plan.close()
            self.host.from_thread(self._done, action, ok, undone, message)

        self.host.start_thread(work, name="vrrp-execute", group=VRRP)

    def _done(self, action: str, ok: bool, undone: bool, message: str) -> None:
        if ok:
            self.host.tell(message, title=f"VRRP {action}: done", timeout=8)
        else:
            self.host.tell(message, title=f"VRRP {action}: " + ("undone" if undone else "not applied"),
                           severity="error", timeout=12)
        self.host.changed()
