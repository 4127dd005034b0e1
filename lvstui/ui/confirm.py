"""The confirmation of every change to the director: exactly what will change, focus on "No".

``y`` applies (only when the preview holds something applicable), ``n`` or ``Esc`` cancels.
Where it makes sense the operator may choose *force* (a busy real server, keepalived's
quorum/sorry-server/last-healthy refusals) and *runtime only* (keepalived manages the
director: change the kernel only).  Either choice re-plans in a thread and shows the new
preview before anything can be applied.  With a peer (``Preview.peer``) the change is made on
both directors, which the title and the body say; *this director only* makes it here alone
(LOCAL ONLY), the one way left when the peer cannot be reached.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Static

from lvstui.ui.op_runner import Preview

__all__ = ["ConfirmScreen", "Decision"]


@dataclass(frozen=True)
class Decision:
    force: bool = False
    runtime_only: bool = False
    local_only: bool = False  # with a peer: this director only


Replan = Callable[[bool, bool], Preview]


def heading(preview: Preview, refusal: bool, local_only: bool = False) -> str:
    title = f"{preview.title[:1].upper()}{preview.title[1:]}"
    if refusal:
        return f"Not possible: {title}" if preview.error is not None else f"Nothing to do: {title}"
    if preview.peer is not None:
        return f"{title}, on this director only?" if local_only else \
            f"{title}, on both directors (here and {preview.peer})?"
    return f"{title}?"


def _pair_content(preview: Preview, local_only: bool) -> list[Content]:
    peer = preview.peer
    if local_only:
        return [Content.styled(f"LOCAL ONLY: the peer {peer} is not changed", "bold $text-warning"),
                Content(f"  • after a failover {peer} will not have this change (journaled here as local-only)")]
    parts = [Content.styled(f"On both directors: the peer {peer} first, then here", "bold"),
             Content(f"  • {peer}: the same change by its own lvstui over SSH (its keepalived -t, its refusals, "
                     "its journal); refused there, nothing is changed here")]
    if preview.peer_down:
        parts.append(Content.styled(f"  ! the peer looks unreachable now ({preview.peer_down}): the change will "
                                    "be refused unless This director only is ticked", "$text-warning"))
    return parts


def preview_content(preview: Preview, local_only: bool = False) -> Content:
    parts: list[Content] = []
    if preview.lines:
        parts.append(Content.styled("Will change:", "bold"))
        parts += [Content(f"  • {line}") for line in preview.lines]
    if preview.keepalived:
        parts.append(Content.styled("For keepalived:", "bold"))
        parts += [Content(f"  • {line}") for line in preview.keepalived]
    if preview.peer is not None and preview.error is None:
        parts += _pair_content(preview, local_only)
    if preview.warnings:
        parts.append(Content.styled("Warnings:", "bold $text-warning"))
        parts += [Content.styled(f"  ! {line}", "$text-warning") for line in preview.warnings]
    if preview.error:
        error = preview.error
        if preview.forceable:  # the operations layer speaks to the CLI; here the box below does it
            error = error.replace("(--force to", "(tick Force below to").replace(", or force (", ", or tick Force below (")
        parts.append(Content.styled(f"Refused: {error}", "bold $text-error"))
    return Content("\n").join(parts) if parts else Content("(nothing)")


class ConfirmScreen(ModalScreen[Decision | None]):
    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical { width: 90%; max-width: 110; height: auto; max-height: 90%;
                               border: thick $warning; background: $surface; padding: 0 1; }
    ConfirmScreen #confirm-title { text-style: bold; color: $text-warning; margin-bottom: 1; }
    ConfirmScreen VerticalScroll { height: auto; max-height: 20; }
    ConfirmScreen #confirm-options { height: auto; }
    ConfirmScreen #confirm-buttons { height: auto; align-horizontal: right; margin-top: 1; }
    ConfirmScreen Button { margin-left: 2; min-width: 10; }
    ConfirmScreen.-refusal > Vertical { border: thick $error; }
    ConfirmScreen.-refusal #confirm-title { color: $text-error; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "yes", "Yes, apply", id="confirm.yes"),
        Binding("n,escape", "no", "No", id="confirm.no"),
    ]

    def __init__(self, preview: Preview, replan: Replan | None = None) -> None:
        super().__init__()
        self.preview = preview
        self._replan = replan
        self.replans = 0  # tests wait on this

    @property
    def refusal(self) -> bool:
        """Refused or nothing to do, and no choice here can change that: shown as such, with no Yes at all."""
        p = self.preview
        if p.error is not None:
            return not p.forceable
        return not p.applicable and not p.forceable and not p.keepalived_managed

    def compose(self) -> ComposeResult:
        p = self.preview
        self.set_class(self.refusal, "-refusal")
        with Vertical():
            yield Static(Content(heading(p, self.refusal)), id="confirm-title")  # ids as text, never markup
            with VerticalScroll():
                yield Static(preview_content(p), id="confirm-body")
            with Vertical(id="confirm-options"):
                if p.forceable:
                    yield Checkbox("Force (drop active connections / override keepalived's refusal)",
                                   p.force, id="force")
                if p.keepalived_managed:
                    yield Checkbox("Runtime only: change the kernel, not keepalived's configuration "
                                   "(keepalived may undo it)", p.runtime_only, id="runtime-only")
                if p.peer is not None and not self.refusal:
                    yield Checkbox(Content(f"This director only: do not change the peer {p.peer} (LOCAL ONLY)"),
                                   False, id="local-only")  # the host as text ([2001:db8::2] is no markup)
            with Horizontal(id="confirm-buttons"):
                if self.refusal:
                    yield Button("Close (Esc)", id="no", variant="primary")
                else:
                    yield Button("Yes (y)", id="yes", variant="error", disabled=not p.applicable)
                    yield Button("No (n)", id="no", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def show(self, preview: Preview) -> None:
        self.preview = preview
        self._render_preview()
        for yes in self.query("#yes").results(Button):
            yes.disabled = not preview.applicable
        self.replans += 1

    def _render_preview(self) -> None:
        local_only = self._choice().local_only
        self.query_one("#confirm-title", Static).update(Content(heading(self.preview, self.refusal, local_only)))
        self.query_one("#confirm-body", Static).update(preview_content(self.preview, local_only))

    def _choice(self) -> Decision:
        def ticked(box: str) -> bool:
            found = self.query(box)
            return bool(found and found.first(Checkbox).value)

        return Decision(force=ticked("#force"), runtime_only=ticked("#runtime-only"),
                        local_only=ticked("#local-only"))

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        event.stop()
        if event.checkbox.id == "local-only":  # the same plan here: only what is said changes
            self._render_preview()
            return
        if self._replan is None:
            return
        for yes in self.query("#yes").results(Button):
            yes.disabled = True  # until the new preview is in
        choice = self._choice()
        replan = self._replan

        def work() -> None:
            preview = replan(choice.force, choice.runtime_only)
            self.app.call_from_thread(self._replanned, preview, choice)

        self.run_worker(work, name="replan", group="replan", thread=True, exclusive=True, exit_on_error=False)

    def _replanned(self, preview: Preview, choice: Decision) -> None:
        now = self._choice()
        if self.is_attached and (choice.force, choice.runtime_only) == (now.force, now.runtime_only):
            self.show(preview)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "yes":
            self.action_yes()
        else:
            self.action_no()

    def action_yes(self) -> None:
        yes = self.query("#yes").results(Button)
        if not any(not button.disabled for button in yes):
            self.app.bell()
            return
        self.dismiss(self._choice())

    def action_no(self) -> None:
        self.dismiss(None)
