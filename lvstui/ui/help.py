"""The ``?`` screen: every key, built from the same bindings the footer and palette use."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from lvstui.ui.actions import key_label
from lvstui.ui.filtering import FILTER_HELP

__all__ = ["HelpScreen", "help_sections"]

Section = tuple[str, list[tuple[str, str]]]


def help_sections(app_actions: Iterable[tuple[str, str]], table_bindings: Iterable[Binding],
                  readonly: bool, operations: Iterable[tuple[str, str]] = ()) -> list[Section]:
    """(title, [(keys, description)]) for the help screen; the caller already dropped forbidden actions."""
    tables = [(key_label(b.key), b.description) for b in table_bindings]
    ops = list(operations)
    return [
        ("Dashboard", list(app_actions) + [("^p", "Command palette: every action, sort by any column, themes")]),
    ] + ([("Operations (each one shown and confirmed before it is applied)", ops)] if ops else []) + [
        ("Tables (services on top, real servers below)", tables),
        ("Filter bar", [("Enter", "Keep the filter and go back to the table"),
                        ("Esc", "Clear the filter"),
                        *FILTER_HELP]),
        ("Remapping keys", [("[keys]", ("in ~/.config/lvstui/config.toml, by binding id: \"app.quit\" = "
                                        "\"q,ctrl+q\"; ids are app.<action> (app.filter, app.toggle_pause…) "
                                        "and table.up, table.down, table.page_up, table.page_down, table.first, "
                                        "table.last, table.select"))]),
        ("Mouse", [("click", "Select a row (on the services table: show its real servers)"),
                   ("double-click", "Open the service"),
                   ("click a header", "Sort by that column; again to reverse"),
                   ("wheel", "Scroll")]),
        ("Reading the screen", [
            ("● ◐ ✖ ▽ ⌫", "up, drained (weight 0), DOWN (health check), inhibited, gone (left IPVS)"),
            ("»", "changed in the last seconds (down, back, appeared, vanished, weight)"),
            ("*", "tagged with Space: drain, restore and weight act on every tagged real server"),
            ("drained:", ("in the real servers' title: the drained server under the cursor, its active and "
                          "inactive connections counting down, persistence templates apart")),
            ("✖ ⌫ ▽ ◐", ("the services' first column: their worst real server, failure (✖ DOWN, ⌫ gone, "
                         "▽ inhibited) apart from maintenance (◐ drained only); the row takes its colour")),
            ("header", "real servers DOWN, inhibited, gone and drained over the whole director, or all up"),
            ("⌫ gone", "left IPVS: still listed (and counted in Up/RS) until acknowledged with o"),
            ("Flags", "p300 = persistent for 300 s; ops = one-packet scheduling; shfb/shport = sh flags"),
            ("rates", ("'kernel estimator' = IPVS's own ~2 s average; 'lvstui Δ' = counter deltas "
                       "between two polls (toggle with r)")),
            ("STALE", "the last poll failed: the data shown is the last good one, with its age"),
            ("SPLIT BRAIN", ("two MASTERs for one VRID, from both directors' state or the adverts heard here: "
                             "in the header and on a line of its own under it")),
            ("Peer", ("the line under the header with --peer: the other director read or STALE (its age, "
                      "the error), VRRP on both, who holds the VIPs, the differences (b lists them)")),
        ] + ([("READ-ONLY", "started with --readonly: nothing on this screen can change the director")]
             if readonly else [])),
    ]


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 90%; max-width: 100; height: 90%; border: thick $primary;
                                  background: $surface; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark,f1", "dismiss_help", "Close help", id="help.close")]

    def __init__(self, sections: list[Section]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        parts: list[Content] = [Content.styled("lvstui keys   (Esc closes)", "bold $text-primary")]
        for title, rows in self.sections:
            parts.append(Content(""))
            parts.append(Content.styled(title, "bold underline"))
            width = max((len(k) for k, _ in rows), default=4)
            box = min(int(self.app.size.width * 0.9), 100) - 8  # border, padding, scrollbar, slack
            text_width = max(box - width - 4, 20)
            for keys, text in rows:
                wrapped = textwrap.wrap(text, text_width) or [""]
                parts.append(Content.assemble((f"  {keys:<{width}}  ", "bold $text-accent"), wrapped[0]))
                parts.extend(Content(" " * (width + 4) + more) for more in wrapped[1:])
        with VerticalScroll():
            yield Static(Content("\n").join(parts), id="help-text")

    def action_dismiss_help(self) -> None:
        self.dismiss(None)
