"""The lab panel (key ``L``): break things in ``lvstui lab`` from inside the dashboard.

Offered only when the source's capabilities name the lab's control socket (``lvstui lab`` sets
``LVSTUI_LAB_CONTROL`` for the dashboard it runs in lb1, and ``lvstui`` declares it once, where
it builds the source); the key is the ``lab_panel`` action of the ``ACTIONS`` registry.  The actions (stop/start a real server's HTTP or
TCP service, stop/start keepalived in a director, more load, a burst, more long-lived
connections) and their results come from the lab's control server (lvstui/lab/control.py);
nothing here knows the lab's hosts.  Requests run in a thread: the dashboard keeps polling.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from lvstui.lab.control import send
from lvstui.ops.policy import ReadOnly, check_lab_action

__all__ = ["LabPanel"]


class LabPanel(ModalScreen[None]):
    DEFAULT_CSS = """
    LabPanel { align: center middle; }
    LabPanel > Vertical { width: 80%; max-width: 90; height: auto; max-height: 100%;
                          border: thick $accent; background: $surface; padding: 0 1; }
    LabPanel #lab-title { text-style: bold; margin-bottom: 1; }
    LabPanel OptionList { height: auto; max-height: 12; }
    LabPanel #lab-result { margin-top: 1; height: auto; }
    LabPanel #lab-status { margin-top: 1; height: auto; color: $text-muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,L", "close", "Close", id="lab.close")]

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path
        self.busy = False
        self.replies = 0  # tests and the status line count them

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Lab: break things (Enter runs, Esc closes)", id="lab-title")
            yield OptionList(id="lab-actions")
            yield Static("", id="lab-result")
            yield Static("", id="lab-status")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()
        self.request("menu")
        self.request("status")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if self.busy:
            self.app.bell()
            return
        words = str(event.option.id)
        self.query_one("#lab-result", Static).update(Text(f"… {words}"))
        self.request(words)
        self.request("status")

    @work(thread=True, group="lab", exit_on_error=False)
    def request(self, words: str) -> None:
        self.app.call_from_thread(self._set_busy, True)
        try:
            check_lab_action(words.split(), actor="tui")  # the one read-only policy, below the panel
            ok, message = send(self.path, words.split())
        except ReadOnly as exc:
            ok, message = False, str(exc)
        except (OSError, ValueError) as exc:
            ok, message = False, f"the lab control server at {self.path} did not answer: {exc}"
        self.app.call_from_thread(self._reply, words, ok, message)

    def _set_busy(self, busy: bool) -> None:
        self.busy = busy

    def _reply(self, words: str, ok: bool, message: str) -> None:
        self.busy = False
        self.replies += 1
        if not self.is_attached:
            return
        if words == "menu" and ok:
            options = self.query_one(OptionList)
            options.clear_options()
            for line in message.splitlines():
                action, _, label = line.partition("\t")
                options.add_option(Option(label or action, id=action))
            options.highlighted = 0
        elif words == "status":
            self.query_one("#lab-status", Static).update(Text(message))
        else:
            result = self.query_one("#lab-result", Static)
            result.update(Text(message) if ok else Text.assemble(("refused: ", "bold"), message))

    def action_close(self) -> None:
        self.dismiss(None)
