"""The live dashboard: services, their real servers, trends, the director, events.

The source is injected (kernel or demo).  One poller loop runs in a Textual
thread worker; each poll arrives as a :class:`FrameReady` message, and a newer
one queued behind an older replaces it (``can_replace``), so the screen never
lags behind a backlog.  Everything heavy (reading, rates, change detection,
filtering and sorting) happens in that thread; the UI thread swaps row lists
into virtual tables that format only the rows on screen.
"""

from __future__ import annotations

import dataclasses
import gc
import sys
import time
from collections import ChainMap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from textual import events
from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.css.query import NoMatches
from textual.widgets import Footer, Input, Static
from textual.worker import get_current_worker

from lvstui.backend import SnapshotSource
from lvstui.config import ConfigError, save_theme
from lvstui.rates import rs_key
from lvstui.ui.actions import app_bindings, known_binding_ids
from lvstui.ui.app_actions import ActionsMixin
from lvstui.ui.app_ops import OpsMixin
from lvstui.ui.app_vrrp import VrrpMixin
from lvstui.ui.columns import RS_COLUMNS, SERVICE_COLUMNS, RateView, RsRow, rs_cell, service_cell
from lvstui.ui.feed import ChangeEvent, Feed
from lvstui.ui.poller import Frame, Poller
from lvstui.ui.themes import DEFAULT_THEME, VARIABLE_DEFAULTS, load_themes, theme_dirs
from lvstui.ui.view import Tables, ViewSpec, build_real_servers, build_tables
from lvstui.ui.vtable import VirtualTable
from lvstui.ui.widgets import DirectorPanel, EventPane, HeaderBar, HeaderState, TrendPanel

__all__ = ["DashboardApp", "FrameReady"]

HIGHLIGHT_SECONDS = 6.0
#: above this many rows, re-sorting and re-filtering after a key press happen in a thread
ASYNC_ROWS = 5000
#: Python's default (700, 10, 10) makes a full collection every poll on a 50,000-server director:
#: 0.3-0.6 s with the GIL held, a frozen screen.  Snapshots are acyclic (refcounting frees them), so
#: young collections stay frequent and cheap (< 20 ms) and full ones effectively never run.
GC_THRESHOLDS = (5000, 10, 100_000)
#: the UI thread waits at most this long for the GIL while the poller thread decodes a big table
SWITCH_INTERVAL = 0.001
WIDE = 120  # the director panel shows by default from this width


class FrameReady(Message):
    """A poll's result, posted by the poller thread."""

    def __init__(self, frame: Frame) -> None:
        super().__init__()
        self.frame = frame

    def can_replace(self, message: Message) -> bool:
        # a newer frame queued behind this one makes this one stale: skip it
        return isinstance(message, FrameReady)


class TablesReady(Message):
    """Tables rebuilt in a thread after the operator changed the view on a large director."""

    def __init__(self, tables: Tables, snapshot: object) -> None:
        super().__init__()
        self.tables = tables
        self.snapshot = snapshot

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, TablesReady)


class RealServersReady(Message):
    """The real servers of a newly selected large service, sorted and filtered in a thread."""

    def __init__(self, vs_id: str, spec: ViewSpec, keys: list[str], items: Any) -> None:
        super().__init__()
        self.vs_id, self.spec, self.keys, self.items = vs_id, spec, keys, items

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, RealServersReady)


class DashboardApp(ActionsMixin, OpsMixin, VrrpMixin, App[None]):
    CSS_PATH = "dashboard.tcss"
    TITLE = "lvstui"
    BINDINGS = app_bindings()

    def __init__(self, source: SnapshotSource, *, readonly: bool = False, interval: float = 1.0,
                 theme: str | None = None, config_dir: Path | None = None, config_file: Path | None = None,
                 clock: Callable[[], float] = time.monotonic, autopoll: bool = True,
                 host_reader: object | None = None, tune_gc: bool = True,
                 keymap: dict[str, str] | None = None, director: object | None = None,
                 operations: object | None = None) -> None:
        """``director``: what operations write to (lvstui.ops.changes.Director); None: the source
        itself when it can be written (the demo), else no operations.  ``operations``: a ready
        lvstui.ops.engine.Operations (tests, benchmarks)."""
        super().__init__()
        self._user_keymap = dict(keymap or {})
        self._tune_gc = tune_gc
        self._gc_saved: tuple[int, int, int] | None = None
        self._switch_saved = 0.005
        self.source = source
        self.readonly = readonly
        self.clock = clock
        self.autopoll = autopoll
        self.config_file = config_file
        self.config_dir = config_dir
        self.feed = Feed()
        self.spec = ViewSpec()
        self.poller = Poller(source, self.feed, interval, self._deliver, lambda: self.spec, host_reader)
        self.frame: Frame | None = None
        self.error: str | None = None
        self.rate_view = RateView()
        self.highlights: dict[str, float] = {}  # rs_key or vs id -> until (app clock)
        self.ghosts: dict[str, dict[str, tuple[RsRow, float]]] = {}  # vs id -> rs id -> (row, until)
        self._events_index = 0
        self._wanted_theme = theme
        self._theme_names: list[str] = []
        self._remember_theme = False
        self._startup_theme = ""
        self._theme_switched = False
        self._director_forced: bool | None = None
        self.frames_applied = 0
        self._base_screen: Screen[Any] | None = None
        self.setup_operations(director, operations)

    # --- theme ------------------------------------------------------------------------

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dict(VARIABLE_DEFAULTS)

    def _setup_themes(self) -> None:
        themes, errors = load_themes(theme_dirs(self.config_dir))
        for theme in themes:
            self.register_theme(theme)
        self._theme_names = [t.name for t in themes]
        if errors:
            self.notify("\n".join(errors), title="Themes skipped", severity="warning", timeout=10)
        wanted = self._wanted_theme or DEFAULT_THEME
        if wanted not in self.available_themes:
            self.notify(f"unknown theme {wanted!r}; using {DEFAULT_THEME}", severity="warning")
            wanted = DEFAULT_THEME if DEFAULT_THEME in self.available_themes else "textual-dark"
        self.theme = wanted
        self._startup_theme = wanted
        self._remember_theme = True
        self.theme_changed_signal.subscribe(self, self._theme_changed)

    def _theme_changed(self, theme: Any) -> None:
        if not self._remember_theme:
            return
        if theme.name == self._startup_theme and not self._theme_switched:
            return  # applying the theme we started with (e.g. --theme) is not a choice to remember
        self._theme_switched = True
        try:
            save_theme(theme.name, self.config_file)
        except ConfigError as exc:
            self.notify(str(exc), title="Theme not remembered", severity="warning")

    def _setup_keymap(self) -> None:
        known = known_binding_ids()
        unknown = sorted(set(self._user_keymap) - known)
        if unknown:
            self.notify(f"unknown key binding ids in the config: {', '.join(unknown)} "
                        f"(known: {', '.join(sorted(known))})", title="Keys", severity="warning", timeout=10)
        self.set_keymap({k: v for k, v in self._user_keymap.items() if k in known})

    def keys_for(self, binding_id: str, default: str) -> str:
        """The keys bound to ``binding_id`` after the user's keymap."""
        return self._keymap.get(binding_id, default)

    # --- layout -----------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield HeaderBar(id="header")
        with Horizontal(id="body"):
            with Vertical(id="main"):
                yield Static(id="services-title", classes="title")
                yield VirtualTable(SERVICE_COLUMNS, self._service_cell, self._service_class,
                                   marker=self._service_marker, empty_text="no virtual services", id="services")
                yield Static(id="rs-title", classes="title")
                yield VirtualTable(RS_COLUMNS, self._rs_cell, self._rs_class, marker=self._rs_marker,
                                   empty_text="no real servers", id="real-servers")
                yield TrendPanel(id="trends")
            yield DirectorPanel(id="director")
        yield EventPane(id="events")
        yield Input(placeholder="filter: address, port, protocol or state (down, drained…) · Enter keeps · "
                    "Esc clears", id="filter")
        yield Footer(compact=True)

    def _q(self, selector: Any, expect: Any = None) -> Any:
        """Query the dashboard screen (not whatever modal is on top)."""
        screen = self._base_screen if self._base_screen is not None else self.screen
        return screen.query_one(selector) if expect is None else screen.query_one(selector, expect)

    def on_mount(self) -> None:
        if self._tune_gc:
            self._gc_saved = gc.get_threshold()
            gc.freeze()  # what exists at start-up (modules, widgets) is never scanned again
            gc.set_threshold(*GC_THRESHOLDS)
            self._switch_saved = sys.getswitchinterval()
            sys.setswitchinterval(SWITCH_INTERVAL)
        self._base_screen = self.screen
        self._setup_themes()
        self._setup_keymap()
        self._q("#events").display = False
        self._q("#filter").display = False
        self._fit_director()
        self.services.sort_column = self.spec.svc_sort
        self.real_servers.sort_column = self.spec.rs_sort
        self.services.focus()
        self._refresh_titles()
        self._refresh_header()
        self.set_interval(0.5, self._tick)
        if self.autopoll:
            self.run_worker(self._poll_thread, name="poller", group="poller", thread=True, exclusive=True,
                            exit_on_error=False)

    def on_unmount(self) -> None:
        self.poller.stop()
        if self._gc_saved is not None:
            gc.set_threshold(*self._gc_saved)
            gc.unfreeze()
            sys.setswitchinterval(self._switch_saved)
            self._gc_saved = None

    def on_resize(self) -> None:
        self._fit_director()

    def _fit_director(self) -> None:
        show = self._director_forced if self._director_forced is not None else self.size.width >= WIDE
        panel = self._q("#director")
        panel.display = show
        panel.styles.width = 42 if self.size.width < 180 else 58

    @property
    def services(self) -> VirtualTable:
        return self._q("#services", VirtualTable)

    @property
    def real_servers(self) -> VirtualTable:
        return self._q("#real-servers", VirtualTable)

    # --- polling ----------------------------------------------------------------------

    def _poll_thread(self) -> None:
        worker = get_current_worker()
        self.poller.run(cancelled=lambda: worker.is_cancelled)

    def _deliver(self, frame: Frame) -> None:
        self.post_message(FrameReady(frame))

    def on_frame_ready(self, message: FrameReady) -> None:
        if self.poller.paused and self.frame is not None:
            return
        try:
            self.apply_frame(message.frame)
        except NoMatches:  # a last frame arriving while the app shuts down
            if self._base_screen is not None and self._base_screen.query("#services"):
                raise  # the widgets are still there: a real bug

    def ingest(self) -> Frame:
        """Poll-less path for tests and screenshots (autopoll=False): one poll, on this thread."""
        frame = self.poller.poll_once()
        self.apply_frame(frame)
        return frame

    def apply_frame(self, frame: Frame) -> None:
        """Show a frame; the UI-thread cost the benchmark measures."""
        self.frames_applied += 1
        if frame.error is not None:
            self.error = frame.error
            self.services.stale = self.real_servers.stale = True
            self.services.refresh()
            self.real_servers.refresh()
            if self.frame is None:
                self.frame = frame
            self._refresh_header(frame)
            self._refresh_titles()
            return
        self.error = None
        self.services.stale = self.real_servers.stale = False
        # the poller thread frees what this frame replaces (see Poller.discard)
        self.poller.discard((self.frame, self.services.keys, self.services.items, self.real_servers.keys,
                             self.real_servers.items))
        self.frame = frame
        self.rate_view = RateView(self.spec.rate_mode, frame.deltas)
        events, self._events_index = self.feed.events_since(self._events_index)
        if events:
            self._take_events(events)
        tables = frame.tables
        if tables is not None and tables.spec == self.spec:
            self._show_tables(tables)
        else:  # the operator changed the view while this poll ran
            self._rebuild()
        self._q(DirectorPanel).set_host(frame.snapshot.director, frame.snapshot.host)
        self._refresh_header(frame)
        self.watch_drains(frame.snapshot)

    def _take_events(self, events: Sequence[ChangeEvent]) -> None:
        until = self.clock() + HIGHLIGHT_SECONDS
        for event in events:
            self.highlights[event.key] = until
            self.highlights[event.vs_id] = until
            if event.kind == "vanished" and event.rs is not None and event.rs_id:
                self.ghosts.setdefault(event.vs_id, {})[event.rs_id] = (
                    RsRow(event.vs_id, event.rs, gone=True), until)
            elif event.rs_id and event.vs_id in self.ghosts:
                self.ghosts[event.vs_id].pop(event.rs_id, None)
        self._q(EventPane).add_events(events)

    def _show_tables(self, tables: Tables) -> None:
        services = self.services
        previous = self.spec.selected
        services.set_rows(tables.svc_keys, tables.svc_items, follow_key=previous)
        selected = services.cursor_key
        if selected != tables.rs_vs_id:
            row = services.items.get(selected) if selected else None
            keys, items = build_real_servers(row.vs if row else None, self.spec, self.rate_view)
        else:
            keys, items = list(tables.rs_keys), tables.rs_items
        self._set_rs_rows(selected, keys, items)
        self._refresh_titles()
        self._refresh_trends()

    def _set_rs_rows(self, vs_id: str | None, keys: list[str], items: Any, *, loading: bool = False) -> None:
        self.real_servers.empty_text = "loading…" if loading else "no real servers"
        if vs_id != self.spec.selected:
            self.spec = dataclasses.replace(self.spec, selected=vs_id)
            self._watch()
        ghosts = self.ghosts.get(vs_id or "", {})
        extra = {rs_id: row for rs_id, (row, _) in ghosts.items() if rs_id not in items}
        if extra:
            keys = list(keys) + list(extra)
            items = ChainMap(items, extra)  # type: ignore[arg-type]
        self.real_servers.set_rows(keys, items)

    def _large(self, rows: int) -> bool:
        return rows >= ASYNC_ROWS

    def _rebuild(self) -> None:
        """The operator changed the view (filter, sort, rates): rebuild from the current snapshot.

        Small directors: right here.  Large ones: in a thread (sorting 50,000 rows takes
        ~100 ms); the result arrives as TablesReady, and only if the view is still the same.
        """
        if self.frame is None:
            return
        snapshot, spec = self.frame.snapshot, self.spec
        self.rate_view = view = RateView(spec.rate_mode, self.frame.deltas)
        if not self._large(snapshot.real_server_count + len(snapshot.virtual_services)):
            self._show_tables(build_tables(snapshot, spec, view))
            return

        def work() -> None:
            self.post_message(TablesReady(build_tables(snapshot, spec, view), snapshot))

        self.run_worker(work, name="rebuild", group="rebuild", thread=True, exclusive=True,
                        exit_on_error=False)

    def on_tables_ready(self, message: TablesReady) -> None:
        if (self.frame is not None and message.snapshot is self.frame.snapshot
                and message.tables.spec == self.spec):
            self._show_tables(message.tables)
        # else: stale (the view or the data changed again); a newer rebuild or frame follows

    def on_real_servers_ready(self, message: RealServersReady) -> None:
        if message.spec == self.spec and message.vs_id == self.services.cursor_key:
            self._set_rs_rows(message.vs_id, message.keys, message.items)
            self._refresh_titles()
            self._refresh_trends()

    def _tick(self) -> None:
        if self._base_screen is None or not self._base_screen.is_attached:
            return
        now = self.clock()
        expired = [key for key, until in self.highlights.items() if until <= now]
        for key in expired:
            del self.highlights[key]
        ghost_gone = False
        for vs_id in list(self.ghosts):
            rows = self.ghosts[vs_id]
            for rs_id in [r for r, (_, until) in rows.items() if until <= now]:
                del rows[rs_id]
                ghost_gone = ghost_gone or vs_id == self.spec.selected
            if not rows:
                del self.ghosts[vs_id]
        if ghost_gone:
            self._rebuild()
        elif expired:
            self.services.refresh()
            self.real_servers.refresh()
        self._refresh_header()

    # --- cells ------------------------------------------------------------------------

    def _service_cell(self, vs: Any, column: str) -> str:
        return service_cell(vs, column, self.rate_view)

    def _rs_cell(self, row: Any, column: str) -> str:
        return rs_cell(row, column, self.rate_view)

    def _service_class(self, key: str, row: Any) -> Sequence[str]:
        names = []
        if row.total and row.up == 0:
            names.append("vtable--down")
        if key in self.highlights:
            names.append("vtable--changed")
        return names

    def _service_marker(self, key: str, row: Any) -> str:
        if key in self.highlights:
            return "»"
        return "!" if row.up < row.total else " "

    def _rs_class(self, key: str, row: Any) -> Sequence[str]:
        state = row.state
        names = [f"vtable--{state}"] if state != "up" else []
        if rs_key(row.vs_id, key) in self.highlights:
            names.append("vtable--changed")
        if (row.vs_id, key) in self.tags:
            names.append("vtable--tagged")
        return names

    def _rs_marker(self, key: str, row: Any) -> str:
        if (row.vs_id, key) in self.tags:
            return "*"
        return "»" if rs_key(row.vs_id, key) in self.highlights else " "

    # --- titles, header, trends ---------------------------------------------------------

    def _refresh_titles(self) -> None:
        total = len(self.frame.snapshot.virtual_services) if self.frame else 0
        shown = len(self.services.keys)
        parts = [f"Virtual services {shown}" + (f" of {total}" if shown != total else "")]
        if self.error is not None:
            parts.insert(0, f"⚠ last poll failed: {self.error} · showing the last good data")
        if self.spec.filter:
            parts.append(f"filter “{self.spec.filter}”")
        parts.append(self.rate_view.label)
        mark = {True: "▶ ", False: "  "}
        self._q("#services-title", Static).update(mark[self.focused is self.services] + " · ".join(parts))
        row = self.services.cursor_item
        if row is None:
            rs_title = "Real servers"
        else:
            vs = row.vs
            # what the operator acts on first (a drained server's falling counts, tags), then the rest
            rs_title = (f"Real servers of {vs.id}{self.drain_note()}{self.tags_note()} · {vs.scheduler}"
                        f"{f' persistent {vs.persistence_timeout}s' if vs.persistent else ''}"
                        f" · {row.up}/{row.total} up")
        self._q("#rs-title", Static).update(mark[self.focused is self.real_servers] + rs_title)

    def _watch(self) -> None:
        vs_id, rs_id = self.spec.selected, self.real_servers.cursor_key
        self.feed.watch([vs_id] if vs_id else [], [rs_key(vs_id, rs_id)] if vs_id and rs_id else [])

    def _refresh_trends(self) -> None:
        rows = []
        vs_id = self.spec.selected
        if vs_id:
            rows.append((f"svc {vs_id}", self.feed.history(vs_id)))
            rs_id = self.real_servers.cursor_key
            if rs_id:
                rows.append((f"rs  {rs_id}", self.feed.history(rs_key(vs_id, rs_id))))
        lvstui = self.spec.rate_mode == "lvstui"
        title = f"Trends, last {len(rows[0][1]) if rows else 0} polls · " + (
            "lvstui Δ" if lvstui else "kernel estimator")
        self._q(TrendPanel).set_series(rows, lvstui, title)

    def header_state(self, frame: Frame | None = None) -> HeaderState:
        frame = frame or self.frame
        snapshot = frame.snapshot if frame else None
        has_data = snapshot is not None and snapshot.source != "empty"
        return HeaderState(
            director=snapshot.director if has_data and snapshot else "",
            vrrp=snapshot.vrrp if has_data and snapshot else (),
            age_seconds=(self.clock() - snapshot.monotonic) if has_data and snapshot else None,
            error=self.error,
            demo=getattr(self.source, "name", "") == "demo",
            readonly=self.readonly,
            paused=self.poller.paused,
            interval=frame.interval if frame else self.poller.interval,
            stretched=bool(frame and frame.stretched),
            poll_seconds=frame.poll_seconds if frame else 0.0,
        )

    def _refresh_header(self, frame: Frame | None = None) -> None:
        try:
            header = self._q(HeaderBar)
        except NoMatches:  # shutting down: the widgets are gone, a last timer fired
            return
        header.show(self.header_state(frame))

    # --- table events -----------------------------------------------------------------

    def on_virtual_table_row_highlighted(self, event: VirtualTable.RowHighlighted) -> None:
        if event.table is self.real_servers:
            self._watch()
            self._refresh_titles()  # the drained server's counts, under the cursor
            self.refresh_bindings()  # row actions (drain...) depend on the row
        if event.table is self.services:
            if event.key != self.spec.selected and self.frame is not None:
                row = self.services.items.get(event.key) if event.key else None
                if row is not None and self._large(row.total):
                    self._set_rs_rows(event.key, [], {}, loading=True)  # until the thread is done
                    spec, view, vs = self.spec, self.rate_view, row.vs

                    def work() -> None:
                        keys, items = build_real_servers(vs, spec, view)
                        self.post_message(RealServersReady(vs.id, spec, keys, items))

                    self.run_worker(work, name="real-servers", group="real-servers", thread=True,
                                    exclusive=True, exit_on_error=False)
                else:
                    keys, items = build_real_servers(row.vs if row else None, self.spec, self.rate_view)
                    self._set_rs_rows(event.key, keys, items)
                self._refresh_titles()
        self._refresh_trends()

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        self._mark_focus()

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        self._mark_focus()

    def _mark_focus(self) -> None:
        """The title of the table the keys act on stands out (j/k, s, Enter go there)."""
        try:
            self._q("#services-title").set_class(self.focused is self.services, "-focused")
            self._q("#rs-title").set_class(self.focused is self.real_servers, "-focused")
            self._refresh_titles()
        except NoMatches:
            pass

    def on_virtual_table_row_selected(self, event: VirtualTable.RowSelected) -> None:
        if event.table is self.services:
            self.real_servers.focus()

    def on_virtual_table_header_clicked(self, event: VirtualTable.HeaderClicked) -> None:
        self.sort_table(event.table, event.column)
