"""The dashboard's key actions: sorting, filtering, toggles, help, readonly and the palette.

A mixin of :class:`lvstui.ui.app.DashboardApp` (kept apart so neither file grows past a few
hundred lines); it relies on the app's state (``spec``, ``frame``, ``poller``, the tables).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from functools import partial
from typing import TYPE_CHECKING, Any

from textual.app import SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Input

from lvstui.ui.actions import ACTIONS, MUTATING_ACTIONS, ActionSpec, key_label
from lvstui.ui.columns import RS_COLUMNS, SERVICE_COLUMNS, RateView
from lvstui.ui.help import HelpScreen, help_sections
from lvstui.ui.themes import DEFAULT_THEME
from lvstui.ui.vtable import VirtualTable
from lvstui.ui.widgets import EventPane

if TYPE_CHECKING:
    from lvstui.ui.app import DashboardApp

    _Base = DashboardApp
else:
    _Base = object

__all__ = ["ActionsMixin"]


class ActionsMixin(_Base):
    # --- sorting and filtering ----------------------------------------------------------

    def _focused_table(self) -> VirtualTable:
        return self.real_servers if self.focused is self.real_servers else self.services

    def sort_table(self, table: VirtualTable, column: str, reverse: bool | None = None) -> None:
        if table is self.services:
            current, was = self.spec.svc_sort, self.spec.svc_reverse
        else:
            current, was = self.spec.rs_sort, self.spec.rs_reverse
        if reverse is None:
            reverse = (not was) if column == current else False
        if table is self.services:
            self.spec = dataclasses.replace(self.spec, svc_sort=column, svc_reverse=reverse)
        else:
            self.spec = dataclasses.replace(self.spec, rs_sort=column, rs_reverse=reverse)
        table.set_sort(column, reverse)
        self._rebuild()

    def action_sort_next(self) -> None:
        table = self._focused_table()
        visible = [c.key for c, _ in table.visible_columns()] or [c.key for c in table.columns]
        current = table.sort_column
        index = (visible.index(current) + 1) % len(visible) if current in visible else 0
        self.sort_table(table, visible[index], reverse=False)

    def action_sort_reverse(self) -> None:
        table = self._focused_table()
        self.sort_table(table, table.sort_column or "id", reverse=not table.sort_reverse)

    def action_filter(self) -> None:
        box = self._q("#filter", Input)
        box.display = True
        box.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter":
            self.set_filter(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
            if not event.value.strip():
                event.input.display = False
            self.services.focus()

    def set_filter(self, text: str) -> None:
        if text != self.spec.filter:
            self.spec = dataclasses.replace(self.spec, filter=text)
            self._rebuild()
            self._refresh_titles()

    def action_back(self) -> None:
        box = self._q("#filter", Input)
        if not box.has_focus and self.clear_tags():
            self.notify("tags cleared", timeout=2)
        elif box.has_focus or (self.spec.filter and self.focused is self.services):
            box.value = ""
            box.display = False
            self.set_filter("")
            self.services.focus()
        elif self.focused is not self.services:
            self.services.focus()

    def action_switch_table(self) -> None:
        (self.services if self.focused is self.real_servers else self.real_servers).focus()

    # --- toggles ----------------------------------------------------------------------

    def action_toggle_pause(self) -> None:
        if self.poller.paused:
            self.poller.resume()
            self.notify("polling resumed", timeout=2)
        else:
            self.poller.pause()
            self.notify("polling paused: the data shown is frozen (p resumes)", timeout=3)
        self._refresh_header()

    def action_toggle_events(self) -> None:
        pane = self._q(EventPane)
        pane.display = not pane.display

    def action_toggle_director(self) -> None:
        panel = self._q("#director")
        self._director_forced = not panel.display
        panel.display = self._director_forced

    def action_toggle_rates(self) -> None:
        mode = "lvstui" if self.spec.rate_mode == "kernel" else "kernel"
        self.spec = dataclasses.replace(self.spec, rate_mode=mode)
        self._rebuild()
        self.rate_view = RateView(mode, self.frame.deltas if self.frame else self.rate_view.deltas)
        self._refresh_titles()
        self._refresh_trends()
        self.services.refresh()
        self.real_servers.refresh()

    def action_next_theme(self) -> None:
        names = self._theme_names or [DEFAULT_THEME]
        index = (names.index(self.theme) + 1) % len(names) if self.theme in names else 0
        self.theme = names[index]
        self.notify(f"theme: {self.theme}", timeout=2)

    def action_poll_now(self) -> None:
        self.poller.poll_now()

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        tables = [dataclasses.replace(b, key=self.keys_for(b.id, b.key)) if b.id else b
                  for b in VirtualTable.BINDINGS if isinstance(b, Binding)]
        actions = self.allowed_actions()
        operations = [(keys, text) for spec, (keys, text) in zip(self._allowed_specs(), actions) if spec.mutating]
        others = [(keys, text) for spec, (keys, text) in zip(self._allowed_specs(), actions) if not spec.mutating]
        self.push_screen(HelpScreen(help_sections(others, tables, self.readonly, operations)))

    # --- readonly, palette ------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in MUTATING_ACTIONS and self.readonly:
            return False
        spec = next((s for s in ACTIONS if s.action == action), None)
        if spec is not None and spec.on_rs_row:
            row = self.real_servers.cursor_item
            if self.focused is not self.real_servers or row is None or getattr(row, "gone", False):
                return False
        if spec is not None and spec.needs_service and self.services.cursor_item is None:
            return False
        return True

    def _allowed_specs(self) -> list[ActionSpec]:
        return [spec for spec in ACTIONS if not (spec.action in MUTATING_ACTIONS and self.readonly)]

    def allowed_actions(self) -> list[tuple[str, str]]:
        """Every action this mode allows (for help): row-dependent ones too, wherever the cursor is."""
        return [(key_label(self.keys_for(f"app.{spec.action}", spec.keys)), spec.help)
                for spec in self._allowed_specs()]

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for spec in ACTIONS:
            if spec.action in ("help", "quit") or self.check_action(spec.action, ()) is False:
                continue
            keys = key_label(self.keys_for(f"app.{spec.action}", spec.keys))
            yield SystemCommand(spec.label, f"{spec.help} [{keys}]",
                                partial(self.run_action, spec.action))
        for table_id, title, columns in (("#services", "services", SERVICE_COLUMNS),
                                         ("#real-servers", "real servers", RS_COLUMNS)):
            for column in columns:
                yield SystemCommand(f"Sort {title} by {column.label}", "click the header to reverse",
                                    partial(self._palette_sort, table_id, column.key), discover=False)
        for name in self._theme_names:
            yield SystemCommand(f"Theme: {name}", "switch theme (remembered)",
                                partial(setattr, self, "theme", name), discover=False)

    def _palette_sort(self, table_id: str, column: str) -> None:
        self.sort_table(self._q(table_id, VirtualTable), column, reverse=False)

