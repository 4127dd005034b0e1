"""Wizard run screen: connect, preview the plan (diffs), apply with progress, show the result.

Work runs in a thread worker; every question to the operator (an unknown host
key) is a modal answered on the UI thread while the worker waits.  Nothing is
applied until the operator presses Apply.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Footer, Label, ProgressBar, Static
from textual.worker import get_current_worker

from lvstui.ops.policy import ReadOnly
from lvstui.safeio import escape_control
from lvstui.setup import session
from lvstui.setup.plan import Status, StepEvent
from lvstui.setup.render import render_result
from lvstui.setup.runner import RunnerError
from lvstui.setup.validate import ValidationError
from lvstui.ui.setup_render import render_rich

__all__ = ["ConnectorFactory", "HostKeyScreen", "Prepare", "SetupRunScreen"]

#: confirm_host_key -> connector
ConnectorFactory = Callable[[Callable[[str, str, str], bool]], session.Connector]
#: connector -> host plans (or undo targets)
Prepare = Callable[[session.Connector], list[Any]]


def _close_in_background(items: list[Any]) -> None:
    """Hang up the hosts' SSH connections off the UI thread (a dead link can stall a close),
    in a thread of its own: the screen that owned them is going away."""
    if items:
        threading.Thread(target=session.close_all, args=(list(items),), name="lvstui-setup-close",
                         daemon=True).start()


class HostKeyScreen(ModalScreen[bool]):
    """An unknown host key: accept (and remember) it, or refuse. Focus starts on Refuse."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("y", "answer(True)", "Accept", id="setup.hostkey.accept"),
                Binding("n,escape", "answer(False)", "Refuse", id="setup.hostkey.refuse")]
    DEFAULT_CSS = """
    HostKeyScreen { align: center middle; }
    HostKeyScreen > Vertical {
        width: 76; height: auto; border: thick $warning; padding: 1 2; background: $surface;
    }
    HostKeyScreen Horizontal { height: auto; margin-top: 1; }
    """

    def __init__(self, host: str, kind: str, fingerprint: str) -> None:
        super().__init__()
        self.host, self.kind, self.fingerprint = host, kind, fingerprint

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"The host key of {self.host} is not known.")
            yield Static(Text(f"{self.kind} key fingerprint is\n{self.fingerprint}", style="bold"),
                         id="fingerprint")
            yield Label("Accept it and remember it in known_hosts?")
            with Horizontal():
                yield Button("Refuse", id="refuse", variant="primary")
                yield Button("Accept", id="accept", variant="warning")

    def on_mount(self) -> None:
        self.query_one("#refuse", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "accept")

    def action_answer(self, accept: bool) -> None:
        self.dismiss(accept)


class SetupRunScreen(Screen[None]):
    """preview -> (Apply) -> progress -> result; Undo restores what lvstui changed on the hosts."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("a", "apply", "Apply", id="setup.apply"),
                Binding("u", "undo", "Undo", id="setup.undo"),
                Binding("escape", "close", "Back", id="setup.back")]
    DEFAULT_CSS = """
    SetupRunScreen #status { height: auto; padding: 0 1; }
    SetupRunScreen #plan { height: 1fr; border: round $primary; }
    SetupRunScreen #progress { height: auto; padding: 0 1; }
    SetupRunScreen #buttons { height: auto; padding: 0 1; }
    SetupRunScreen .error { color: $error; }
    """

    def __init__(self, title: str, prepare: Prepare, connector: ConnectorFactory, *,
                 undo: bool = False) -> None:
        super().__init__()
        self.title_text = title
        self.prepare = prepare
        self.connector = connector
        self.undo_mode = undo
        self.items: list[Any] = []
        self.phase = "connecting"  # connecting, preview, applying, done, failed
        self.log_lines: list[Text] = []
        self.rolling_back: set[str] = set()  # hosts whose failed step is being rolled back

    def compose(self) -> ComposeResult:
        yield Static(Text(self.title_text, style="bold"), id="title")
        yield Static("Connecting...", id="status")
        with VerticalScroll(id="plan"):
            yield Static("", id="plan-text")
        yield ProgressBar(id="progress", show_eta=False)
        with Horizontal(id="buttons"):
            yield Button("Apply", id="apply", variant="warning", disabled=True)
            yield Button("Undo", id="undo", disabled=True, tooltip="undo what lvstui changed on these hosts")
            yield Button("Close", id="close")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(ProgressBar).display = False
        self._prepare()

    # -- status -------------------------------------------------------------
    def _status(self, text: str, error: bool = False) -> None:
        status = self.query_one("#status", Static)
        status.update(Text(escape_control(text, newlines=False)))  # may carry a host's output
        status.set_class(error, "error")

    def _show(self, renderable: Any) -> None:
        self.query_one("#plan-text", Static).update(renderable)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "apply":
            return self.phase == "preview"
        if action == "undo":
            return self.phase in ("done", "failed") and not self.undo_mode and self._has_undo()
        return True

    def _has_undo(self) -> bool:
        return any(i.result is not None and i.result.changed for i in self.items)

    def _set_phase(self, phase: str) -> None:
        self.phase = phase
        self.query_one("#apply", Button).disabled = phase != "preview"
        self.query_one("#undo", Button).disabled = not self.check_action("undo", ())
        self.refresh_bindings()

    # -- connect and preview ----------------------------------------------------
    def _confirm_host_key(self, host: str, kind: str, fingerprint: str) -> bool:
        answer = [False]
        event = threading.Event()

        def done(result: bool | None) -> None:
            answer[0] = bool(result)
            event.set()

        self.app.call_from_thread(self.app.push_screen, HostKeyScreen(host, kind, fingerprint), done)
        worker = get_current_worker()
        while not event.wait(0.2):
            if worker.is_cancelled:  # the app or the screen went away: no answer is a refusal
                return False
        return answer[0]

    @work(thread=True, exclusive=True, group="setup")
    def _prepare(self) -> None:
        try:
            items = self.prepare(self.connector(self._confirm_host_key))
        except (RunnerError, ValidationError) as exc:
            self.app.call_from_thread(self._failed_to_prepare, str(exc))
            return
        self.app.call_from_thread(self._previewed, items)

    def _failed_to_prepare(self, message: str) -> None:
        if not self.is_mounted:
            return
        self._status(message, error=True)
        self._set_phase("failed")

    def _previewed(self, items: list[Any]) -> None:
        if not self.is_mounted:  # closed while connecting
            _close_in_background(items)
            return
        self.items = items
        if self.undo_mode:
            text = Text()
            for item in items:
                titles = [e.get("title", "?") for e in reversed(item.entries)]
                text.append(f"{item.runner.host}: " + (f"undo {len(titles)} step(s)\n" if titles
                                                       else "nothing to undo\n"), style="bold")
                for t in titles:
                    text.append(f"    undo: {t}\n")
            self._show(text)
            total = sum(len(i.entries) for i in items)
            self._status(f"{total} step(s) to undo. Press Apply to undo them." if total
                         else "Nothing to undo.")
        else:
            renderables = Text()
            for item in items:
                renderables.append_text(render_rich(item.preview))
                renderables.append("\n")
            self._show(renderables)
            changes = sum(i.preview.changes for i in items)
            self._status(f"{changes} change(s) on {len(items)} host(s). Nothing has been changed yet: "
                         "press Apply to apply the plan." if changes else
                         "Nothing to change: Apply only runs the verifications.")
        self._set_phase("preview")

    # -- apply ----------------------------------------------------------------
    def on_button_pressed(self, event: Button.Pressed) -> None:
        actions = {"apply": self.action_apply, "undo": self.action_undo, "close": self.action_close}
        actions[event.button.id or "close"]()

    def action_apply(self) -> None:
        if self.phase != "preview":
            return
        self._set_phase("applying")
        bar = self.query_one(ProgressBar)
        total = sum(len(i.entries) for i in self.items) if self.undo_mode else sum(
            len(i.plan.steps) for i in self.items)
        bar.update(total=max(total, 1), progress=0)
        bar.display = True
        self.log_lines = []
        self.rolling_back = set()
        self._status("Applying..." if not self.undo_mode else "Undoing...")
        self._apply()

    def action_undo(self) -> None:
        if not self.check_action("undo", ()):
            return
        self._set_phase("applying")
        self.log_lines = []
        self.rolling_back = set()
        self._status("Undoing what lvstui changed on these hosts...")
        self._undo()

    def _progress(self, event: StepEvent) -> None:
        self.app.call_from_thread(self._on_step, event)

    @work(thread=True, exclusive=True, group="setup")
    def _apply(self) -> None:
        progress = self._progress
        try:
            if self.undo_mode:
                ok = session.undo_all(self.items, progress, actor="tui")
            else:
                ok = session.apply_all(self.items, progress, actor="tui")
        except (RunnerError, ReadOnly) as exc:
            self.app.call_from_thread(self._finished, False, str(exc))
            return
        self.app.call_from_thread(self._finished, ok, "")

    @work(thread=True, exclusive=True, group="setup")
    def _undo(self) -> None:
        try:  # through the session: the read-only policy, and one journal entry per host
            results = session.undo_applied(self.items, self._progress, actor="tui")
        except (RunnerError, ReadOnly) as exc:
            self.app.call_from_thread(self._finished, False, str(exc), True)
            return
        ok = all(r.ok for r in results)
        self.app.call_from_thread(self._undone, ok, results)

    def _on_step(self, event: StepEvent) -> None:
        if not self.is_mounted:
            return
        # after a failed change, the same host's events are its rollback: said so, and the bar
        # stays at the step that failed
        rollback = event.host in self.rolling_back
        if event.status is None:
            doing = "undoing this run's changes, " if rollback else ""
            self._status(f"{event.host}: {doing}{event.index + 1}/{event.total} {event.title}...")
            return
        style = {Status.FAILED: "bold red", Status.CHANGED: "yellow", Status.VERIFIED: "green",
                 Status.UNDONE: "cyan"}.get(event.status, "")
        line = Text(f"[{event.host}] {event.index + 1}/{event.total} ")
        line.append(f"{event.status.value:<9}", style=style)
        line.append(escape_control(f" {event.title}" + (f": {event.message}" if event.message else ""),
                                   newlines=False))
        self.log_lines.append(line)
        self._show(Text("\n").join(self.log_lines))
        if event.status is Status.FAILED and not self.undo_mode:
            self.rolling_back.add(event.host)
        if not rollback:
            self.query_one(ProgressBar).advance(1)

    def _finished(self, ok: bool, message: str, undo: bool = False) -> None:
        if not self.is_mounted:
            return
        text = Text("\n").join(self.log_lines)
        text.append("\n\n")
        for item in self.items:
            if item.result is not None:
                text.append(render_result(item.result, "Undo (u) reverts them") + "\n",
                            style="" if item.result.ok else "red")
        self._show(text)
        if message:
            self._status(message, error=True)
        elif ok:
            self._status("Done." if not self.undo_mode else "Undone.")
        else:
            failure = next((i.result.failure for i in self.items
                            if i.result is not None and not i.result.ok), None)
            self._status(f"FAILED at {failure.title}: {failure.message}" if failure else "FAILED", error=True)
        self._set_phase("done" if ok else "failed")

    def _undone(self, ok: bool, results: list[Any]) -> None:
        if not self.is_mounted:
            return
        text = Text("\n").join(self.log_lines)
        text.append("\n\n" + "\n".join(render_result(r) for r in results))
        self._show(text)
        self._status("Undone: the hosts are as before." if ok else "Undo failed: see the output",
                     error=not ok)
        for item in self.items:
            item.result = None
        self._set_phase("done" if ok else "failed")

    def action_close(self) -> None:
        if self.phase == "applying":
            self.notify("Wait for the steps to finish.", severity="warning")
            return
        self.workers.cancel_group(self, "setup")
        _close_in_background(self.items)
        self.items = []
        self.dismiss(None)
