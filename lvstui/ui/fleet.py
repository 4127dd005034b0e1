"""The fleet screen (``lvstui fleet FILE``): every pair on one screen, Enter opens one.

One row per pair (:class:`lvstui.fleet.summary.PairRow`): its directors (each read, STALE with
its age, UNREACHABLE or connecting: in words, never in colour alone), which director is MASTER
of each VRRP instance, split brain, the VIPs, real servers up/total and drained from the
director carrying the traffic, and the alarms.  Under the table, the cursor's pair in full
(every director's error, every alarm).

Rows are computed in a thread (:meth:`lvstui.fleet.poller.FleetPoller.rows`, which only takes
each reader's last view) and swapped into a :class:`~lvstui.ui.vtable.VirtualTable` by key:
the cursor stays on its pair, nothing is cleared.  A slow or unreachable director delays
nothing: its reader thread waits on the network, the screen never does.

``/`` filters the pairs (name, director host, VIP; Esc clears), ``s`` cycles the order (the fleet
file's, problems first, by name) and ``!`` goes straight to problems first and back
(:mod:`lvstui.fleet.arrange`); the header counts the whole fleet whatever the filter hides.  The
keys follow the config's ``[keys]`` (``fleet.<action>``, ``table.*``), as the dashboard's do.

Enter opens the pair's dashboard, read-only (:func:`lvstui.fleet.source.pair_source`: the
first director's table as its reader received it, the second as the peer); q there comes back.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Input, Static
from textual.worker import get_current_worker

from lvstui.capabilities import Capabilities
from lvstui.fleet.arrange import SORT_LABELS, arrange, next_sort
from lvstui.fleet.poller import FleetPoller
from lvstui.fleet.source import pair_source
from lvstui.fleet.summary import DirectorState, PairRow
from lvstui.ui.actions import FLEET_ACTIONS, fleet_bindings, key_label
from lvstui.ui.app import SWITCH_INTERVAL, apply_keymap
from lvstui.ui.columns import Column
from lvstui.ui.dashboard import DashboardScreen
from lvstui.ui.footer import FittedFooter
from lvstui.ui.formatting import age
from lvstui.ui.help import HelpScreen
from lvstui.ui.plain import visible
from lvstui.ui.themes import DEFAULT_THEME, VARIABLE_DEFAULTS, load_themes, theme_dirs
from lvstui.ui.vtable import VirtualTable

__all__ = ["FLEET_COLUMNS", "FleetApp", "FleetScreen", "director_text", "fleet_cell", "fleet_header", "fleet_help",
           "fleet_title"]

KeysFor = Callable[[str, str], str]

FLEET_COLUMNS = (
    Column("pair", "pair", 8, "left", priority=0, flex=True),
    Column("directors", "directors", 34, "left", priority=0),
    Column("master", "MASTER", 17, "left", priority=0),
    Column("servers", "servers", 7, priority=1),  # up/total
    Column("alarms", "alarms", 6, priority=1),
    Column("drained", "drained", 7, priority=2),
    Column("vips", "VIPs", 28, "left", priority=2),
)


def fitted_columns(rows: Sequence[PairRow]) -> tuple[Column, ...]:
    """FLEET_COLUMNS with the directors and MASTER columns as wide as their longest cell (within
    bounds): host names are as long as a site makes them."""
    wide = {"directors": (24, 72), "master": (12, 40)}
    out = []
    for c in FLEET_COLUMNS:
        if c.key in wide:
            low, high = wide[c.key]
            longest = max((len(fleet_cell(r, c.key)) for r in rows), default=c.width)
            c = replace(c, width=min(max(longest, low), high))
        out.append(c)
    return tuple(out)


def director_text(d: DirectorState) -> str:
    """``lb1 ok``, ``lb2 STALE 42s``, ``lb2 UNREACHABLE``, ``lb2 connecting``."""
    host = visible(d.host)
    if d.status == "read":
        return f"{host} ok" + (" (ipvsadm)" if d.via == "ipvsadm" else "")
    if d.status == "stale":
        return f"{host} STALE {age(d.age)}" if d.age is not None else f"{host} STALE"
    return f"{host} {'connecting' if d.status == 'connecting' else 'UNREACHABLE'}"


def _master(row: PairRow) -> str:
    if not row.instances:
        return "no VRRP read" if row.stale == len(row.directors) else "no VRRP"
    parts = []
    for inst in row.instances:
        who = ("SPLIT: " + ",".join(visible(m) for m in inst.masters) if len(inst.masters) > 1
               else visible(inst.masters[0]) if inst.masters else "none")
        parts.append(who if len(row.instances) == 1 else f"{visible(inst.name)} {who}")
    return "; ".join(parts)


def fleet_cell(row: PairRow, column: str) -> str:
    if column == "pair":
        return visible(row.name)
    if column == "directors":
        return " · ".join(director_text(d) for d in row.directors)
    if column == "master":
        return _master(row) if not row.split_brain or any(len(i.masters) > 1 for i in row.instances) \
            else "SPLIT (adverts) " + _master(row)
    if column == "servers":
        if not row.table_from:
            return "-"
        return f"{row.up}/{row.total}" + ("?" if row.table_stale else "")
    if column == "drained":
        return str(row.drained) if row.table_from else "-"
    if column == "alarms":
        return str(len(row.alarms)) if row.alarms else "-"
    if column == "vips":
        return ", ".join(visible(v) for v in row.vips) or "-"
    raise KeyError(column)


def _row_class(key: str, row: PairRow) -> Sequence[str]:
    if row.split_brain or row.stale == len(row.directors):
        return ["vtable--down"]
    if row.stale or row.alarms:
        return ["vtable--inhibited"]
    return []


def _marker(key: str, row: PairRow) -> str:
    return "!" if row.split_brain or row.alarms or row.stale else " "


def fleet_header(rows: Sequence[PairRow], *, where: str, demo: bool, readonly: bool) -> Content:
    directors = [d for r in rows for d in r.directors]
    read = sum(d.status == "read" for d in directors)
    stale = sum(d.status == "stale" for d in directors)
    down = sum(d.status in ("unread", "connecting") for d in directors)
    brains = sum(bool(r.split_brain) for r in rows)
    alarms = sum(bool(r.alarms) for r in rows)
    parts: list[str | tuple[str, str]] = []
    if demo:
        parts += [(" DEMO ", "bold reverse $warning"), " "]
    if readonly:
        parts += [(" READ-ONLY ", "bold reverse $primary"), " "]
    if brains:
        parts += [(f" SPLIT BRAIN in {brains} ", "bold reverse $error"), " "]
    parts.append(f"{len(directors)} directors: {read} read")
    if stale:
        parts += [", ", (f"{stale} STALE", "bold $text-error")]
    if down:
        parts += [", ", (f"{down} not read", "bold $text-error")]
    parts.append(f" · {len(rows)} pairs · ")
    parts.append((f"{alarms} with alarms", "bold $text-warning") if alarms else ("no alarm", "$text-success"))
    parts += [" · fleet ", (visible(where), "$text-accent")]
    return Content.assemble(*parts)


def fleet_title(shown: int, total: int, text: str, sort: str) -> Content:
    """``6 pairs · fleet file order``; ``2 of 6 pairs match "lb2" · problems first``."""
    where = (Content.assemble(f"{shown} of {total} pairs match ", (f'"{visible(text.strip())}"', "bold $text-accent"))
             if text.strip() else Content(f"{total} pairs"))
    return Content.assemble(where, " · ", (SORT_LABELS[sort], "bold" if sort != "file" else ""))


def pair_detail(row: PairRow | None) -> Content:
    """The cursor's pair in full: each director, each instance, each alarm."""
    if row is None:
        return Content("")
    lines = [Content.assemble((visible(row.name), "bold"), "  ",
                              *[x for d in row.directors for x in (director_text(d), "  ")])]
    for d in row.directors:
        if d.error:
            lines.append(Content.styled(f"  {visible(d.host)}: {visible(d.error)}", "$text-error"))
    for inst in row.instances:
        who = ", ".join(visible(m) for m in inst.masters) or "nobody (of the directors read now)"
        lines.append(Content.assemble(f"  {visible(inst.name)} #{inst.vrid}: MASTER ", (who, "bold"),
                                      (" SPLIT BRAIN", "bold $text-error") if len(inst.masters) > 1 else ""))
    if row.table_from:
        lines.append(Content.styled(f"  table from {visible(row.table_from)}"
                                    + (" (its last snapshot, stale)" if row.table_stale else ""), "$text-muted"))
    said = {f"{d.host}: {d.error}" for d in row.directors if d.error}  # already on a line above
    lines += [Content.styled(f"  alarm: {visible(a)}", "$text-warning") for a in row.alarms[:5] if a not in said]
    return Content("\n").join(lines)


def fleet_help(keys_for: KeysFor) -> list[tuple[str, list[tuple[str, str]]]]:
    """The ``?`` screen's sections, with the keys as the user's keymap binds them."""
    keys = [(key_label(keys_for(f"fleet.{s.action}", s.keys)), s.help) for s in FLEET_ACTIONS]
    table = [(key_label(keys_for(b.id, b.key)), b.description) for b in VirtualTable.BINDINGS
             if isinstance(b, Binding) and b.id and b.id != "table.select"]
    filtering = [("Enter", "Keep the filter and go back to the table"), ("Esc", "Clear the filter"),
                 ("web lb2", "every word must be in the pair's name, a director's host or a VIP (any case)")]
    remap = [("[keys]", ("in ~/.config/lvstui/config.toml, by binding id, as for the dashboard: "
                         "\"fleet.sort_next\" = \"o\"; ids are fleet.<action> (fleet.filter, "
                         "fleet.problems_first…) and table.up, table.down, table.page_up, table.page_down, "
                         "table.first, table.last"))]
    reading = [("ok", "read now"), ("STALE 42s", "its last snapshot is that old (or its last read failed)"),
               ("UNREACHABLE", "never read (its error is under the table)"),
               ("SPLIT: a,b", "split brain: a and b both MASTER of one VRID (from their state; or adverts)"),
               ("servers 12/14", "real servers up/total, from the MASTER (12/14?: from a stale snapshot)"),
               ("!", "a pair to look at"),
               ("problems first", ("split brain, no director read, a director not read, alarms (more first), "
                                   "real servers failing; then the fleet file's order"))]
    return [("Fleet", keys), ("Table", table), ("Filter bar", filtering), ("Remapping keys", remap),
            ("Reading the screen", reading)]


class RowsReady(Message):
    def __init__(self, rows: tuple[PairRow, ...]) -> None:
        super().__init__()
        self.rows = rows


class PairDashboard(DashboardScreen):
    """A pair's dashboard opened from the fleet: read-only; q returns to the fleet."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Fleet", id="app.quit", tooltip="Back to the fleet (the readers keep reading)")]

    def action_quit(self) -> None:
        self.poller.stop()
        self.app.pop_screen()


class FleetScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = list(fleet_bindings())

    def __init__(self, poller: FleetPoller, *, readonly: bool = False, demo: bool = False, interval: float = 1.0,
                 clock: Callable[[], float] = time.monotonic, autopoll: bool = True,
                 keys_for: KeysFor = lambda _id, default: default) -> None:
        """``keys_for``: the keys bound to a binding id after the user's keymap (the App's)."""
        super().__init__()
        self.poller = poller
        self.keys_for = keys_for
        self.readonly = readonly
        self.demo = demo
        self.interval = interval
        self.clock = clock
        self.autopoll = autopoll
        self.rows: tuple[PairRow, ...] = ()  # every pair, in the fleet file's order
        self.shown: tuple[PairRow, ...] = ()  # those the filter keeps, in the chosen order
        self.filter = ""
        self.sort = "file"
        self.refreshes = 0

    def compose(self) -> ComposeResult:
        yield Static(id="fleet-header")
        yield Static(id="fleet-title")
        yield VirtualTable(FLEET_COLUMNS, fleet_cell, _row_class, marker=_marker, empty_text="no pair read yet",
                           id="fleet")
        yield Static(id="fleet-detail")
        yield Input(placeholder="filter: pair, director or VIP (web lb2 192.0.2) · every word must match · "
                    "Enter keeps · Esc clears", id="fleet-filter")
        yield FittedFooter()

    @property
    def table(self) -> VirtualTable:
        return self.query_one("#fleet", VirtualTable)

    def on_mount(self) -> None:
        self.query_one("#fleet-filter").display = False
        self.table.focus()
        self.show_rows(self.poller.rows())
        if self.autopoll:
            self.run_worker(self._poll_thread, name="fleet", group="fleet", thread=True, exclusive=True,
                            exit_on_error=False)

    def _poll_thread(self) -> None:
        worker = get_current_worker()
        while not worker.is_cancelled:
            rows = self.poller.rows()
            self.post_message(RowsReady(rows))
            deadline = time.monotonic() + min(self.interval, 1.0)
            while not worker.is_cancelled and time.monotonic() < deadline:
                time.sleep(0.05)

    def on_rows_ready(self, message: RowsReady) -> None:
        if self.is_attached and self.query("#fleet"):
            self.show_rows(message.rows)

    def show_rows(self, rows: tuple[PairRow, ...]) -> None:
        """Every pair's row, in the fleet file's order: filtered, ordered and swapped in by key (the
        cursor stays on its pair)."""
        self.rows = rows
        self.refreshes += 1
        self.query_one("#fleet-header", Static).update(
            fleet_header(rows, where=self.poller.spec.path, demo=self.demo, readonly=self.readonly))
        self._arrange()

    def _arrange(self) -> None:
        """The table from the rows held, the filter and the order (after a poll, a key, a word typed)."""
        shown = self.shown = arrange(self.rows, text=self.filter, sort=self.sort)
        table = self.table
        table.set_columns(fitted_columns(self.rows))  # the whole fleet's widths: no jump while filtering
        table.empty_text = "no pair matches the filter (Esc clears it)" if self.rows else "no pair read yet"
        keys = [r.name for r in shown]
        # the cursor stays on its pair; when the filter hides it, it goes to the first match
        follow = table.cursor_key if table.cursor_key in keys or not keys else keys[0]
        table.set_rows(keys, {r.name: r for r in shown}, follow_key=follow)
        self.query_one("#fleet-title", Static).update(fleet_title(len(shown), len(self.rows), self.filter, self.sort))
        self._show_detail()

    def _show_detail(self) -> None:
        self.query_one("#fleet-detail", Static).update(pair_detail(self.table.cursor_item))

    def on_virtual_table_row_highlighted(self, event: VirtualTable.RowHighlighted) -> None:
        self._show_detail()

    def on_virtual_table_row_selected(self, event: VirtualTable.RowSelected) -> None:
        self.action_open_pair()

    # --- filter and order ---------------------------------------------------------------

    def set_sort(self, sort: str) -> None:
        if sort != self.sort:
            self.sort = sort
            self._arrange()

    def action_sort_next(self) -> None:
        self.set_sort(next_sort(self.sort))

    def action_problems_first(self) -> None:
        self.set_sort("file" if self.sort == "problems" else "problems")

    def set_filter(self, text: str) -> None:
        if text != self.filter:
            self.filter = text
            self._arrange()

    def action_filter(self) -> None:
        box = self.query_one("#fleet-filter", Input)
        box.display = True
        box.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "fleet-filter":
            self.set_filter(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "fleet-filter":
            event.input.display = bool(event.value.strip())
            self.table.focus()

    def action_back(self) -> None:
        box = self.query_one("#fleet-filter", Input)
        if box.has_focus or self.filter:
            box.value = ""
            box.display = False
            self.set_filter("")
        self.table.focus()

    # --- pairs, help ----------------------------------------------------------------------

    def action_open_pair(self) -> None:
        name = self.table.cursor_key
        pair = next((p for p in self.poller.spec.pairs if p.name == name), None)
        if pair is None:
            return
        readers = tuple(self.poller.readers[d.key] for d in pair.directors)
        source = pair_source(readers, demo=self.demo)
        screen = PairDashboard(source, Capabilities(demo=self.demo), runner=None, readonly=True,
                               interval=self.interval, clock=self.clock, autopoll=self.autopoll,
                               keys_for=self.keys_for)
        self.app.push_screen(screen)
        self.app.notify(f"pair {pair.name}: {pair.directors[0].target}, read over SSH: read-only here "
                        "(operations need lvstui on that director); q returns to the fleet", timeout=6,
                        markup=False)

    def action_help(self) -> None:
        if not isinstance(self.app.screen, HelpScreen):
            self.app.push_screen(HelpScreen(fleet_help(self.keys_for)))

    def action_quit(self) -> None:
        self.app.exit()


class FleetApp(App[None]):
    CSS_PATH: ClassVar[Any] = ["dashboard.tcss", "fleet.tcss"]
    TITLE = "lvstui fleet"

    def __init__(self, poller: FleetPoller, *, readonly: bool = False, demo: bool = False, interval: float = 1.0,
                 clock: Callable[[], float] = time.monotonic, autopoll: bool = True,
                 theme: str | None = None, config_dir: Any = None, keymap: Mapping[str, str] | None = None) -> None:
        """``keymap``: the config's [keys] (binding id -> keys), applied as the dashboard applies it."""
        super().__init__()
        self.poller = poller
        self._user_keymap = dict(keymap or {})
        self._switch_saved = sys.getswitchinterval()
        self._wanted_theme = theme
        self._config_dir = config_dir
        self.fleet = FleetScreen(poller, readonly=readonly, demo=demo, interval=interval, clock=clock,
                                 autopoll=autopoll, keys_for=self.keys_for)

    def get_default_screen(self) -> Screen[Any]:
        return self.fleet

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dict(VARIABLE_DEFAULTS)

    def on_mount(self) -> None:
        # fifty reader threads decode JSON with the GIL: the UI thread waits at most this long for it
        self._switch_saved = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_INTERVAL)
        themes, _ = load_themes(theme_dirs(self._config_dir))
        for theme in themes:
            self.register_theme(theme)
        wanted = self._wanted_theme or DEFAULT_THEME
        self.theme = wanted if wanted in self.available_themes else "textual-dark"
        apply_keymap(self, self._user_keymap)

    def keys_for(self, binding_id: str, default: str) -> str:
        """The keys bound to ``binding_id`` after the user's keymap."""
        return self._keymap.get(binding_id, default)

    def on_unmount(self) -> None:
        sys.setswitchinterval(self._switch_saved)
