"""The live dashboard screen: services, their real servers, trends, the director, events.

:class:`DashboardScreen` holds the layout, the key bindings (built from the ``ACTIONS``
registry, with ids) and the tables; :class:`~lvstui.ui.app.DashboardApp` keeps themes, the
keymap and the config, and shows this screen.  Operations and VRRP are controllers
(:mod:`lvstui.ui.ops_controller`, :mod:`lvstui.ui.vrrp_controller`) that reach the screen only
through :class:`lvstui.ui.host.DashboardHost`, which this screen implements.

The source is injected (kernel or demo) with its declared :class:`~lvstui.capabilities.Capabilities`.
One poller loop runs in a Textual thread worker; each poll arrives as a :class:`FrameReady`
message, and a newer one queued behind an older replaces it (``can_replace``), so the screen
never lags behind a backlog.  Everything heavy (reading, rates, change detection, filtering and
sorting) happens in that thread; the UI thread swaps row lists into virtual tables that format
only the rows on screen.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar, TypeVar

from textual import events
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.css.query import NoMatches
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widgets import Input, Static
from textual.worker import get_current_worker

from lvstui.backend import SnapshotSource
from lvstui.backend.conncount import count_table
from lvstui.backend.conns import read_conns
from lvstui.backend.traffic import read_servers_traffic
from lvstui.capabilities import Capabilities
from lvstui.model import Snapshot, VirtualService
from lvstui.ops.engine import expire_quiescent_template
from lvstui.rates import rs_key
from lvstui.ui import offered as offer
from lvstui.ui.actions import ACTIONS, MUTATING_ACTIONS, ActionSpec, app_bindings
from lvstui.ui.columns import (
    RS_COLUMNS,
    SERVICE_COLUMNS,
    RateView,
    RsRow,
    ServiceRow,
    rs_cell,
    rs_columns,
    service_cell,
)
from lvstui.ui.conns_screen import ConnListScreen
from lvstui.ui.detail import RsDetailScreen, copy_id, rs_detail
from lvstui.ui.feed import ChangeEvent, Feed
from lvstui.ui.footer import FittedFooter
from lvstui.ui.health import ROW_CLASS, GoneServers, gone_cell, header_parts
from lvstui.ui.help import HelpScreen, help_sections
from lvstui.ui.host import DashboardHost
from lvstui.ui.lab_panel import LabPanel
from lvstui.ui.messages import FrameReady, RealServersReady, TablesReady
from lvstui.ui.op_runner import OpRunner
from lvstui.ui.ops_controller import OpsController
from lvstui.ui.pair import PairPanel, PairScreen
from lvstui.ui.poller import Frame, Poller
from lvstui.ui.titles import FOCUS_MARK, rs_title, services_title
from lvstui.ui.view import Tables, ViewSpec, build_real_servers, build_tables, default_reverse
from lvstui.ui.vrrp_controller import VrrpController
from lvstui.ui.vtable import VirtualTable
from lvstui.ui.widgets import DirectorPanel, EventPane, HeaderBar, HeaderState, TrendPanel

__all__ = ["DashboardScreen", "FrameReady"]

R = TypeVar("R")

HIGHLIGHT_SECONDS = 6.0
#: above this many rows, re-sorting and re-filtering after a key press happen in a thread
ASYNC_ROWS = 5000
WIDE = 120  # the director panel shows by default from this width
WIDER = 180  # ... and is wider from this one


class DashboardScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = list(app_bindings())

    def __init__(self, source: SnapshotSource, capabilities: Capabilities, *, runner: OpRunner | None,
                 readonly: bool = False, interval: float = 1.0, clock: Callable[[], float] = time.monotonic,
                 autopoll: bool = True, host_reader: object | None = None,
                 keys_for: Callable[[str, str], str] = lambda _id, default: default,
                 next_theme: Callable[[], None] = lambda: None) -> None:
        """``runner``: what operations go through (None: nothing can be written); ``keys_for``: the
        keys bound to a binding id after the user's keymap; ``next_theme``: the App's theme switch."""
        super().__init__()
        self.source = source
        self.capabilities = capabilities
        self.readonly = readonly
        self.clock = clock
        self.autopoll = autopoll
        self.keys_for = keys_for
        self._next_theme = next_theme
        self.feed = Feed()
        self.spec = ViewSpec()
        # the sysctl the plans read (the runner's), else this machine's where the source reads IPVS here
        eqt_reader: Callable[[], int | None] | None = (
            runner.expire_quiescent if runner is not None
            else expire_quiescent_template if capabilities.conn_table else None)
        self.poller = Poller(source, self.feed, interval, self._deliver, lambda: self.spec, host_reader,
                             sysctl=eqt_reader)
        self.frame: Frame | None = None
        self.error: str | None = None
        self.rate_view = RateView()
        self.highlights: dict[str, float] = {}  # rs_key or vs id -> until (app clock)
        self.gone = GoneServers()  # real servers that left IPVS, listed until acknowledged (o)
        self._events_index = 0
        self._director_forced: bool | None = None  # the operator's d, for the width class it was pressed in
        self._width_class = -1
        self.frames_applied = 0
        self._drained: frozenset[tuple[str, str]] = frozenset()  # the last frame's real servers at weight 0
        host: DashboardHost = self
        self.ops = OpsController(host, runner, redraw=self._tags_changed,
                                 key_of=lambda action: offer.action_keys(ACTIONS, action, keys_for),
                                 read_traffic=read_servers_traffic if capabilities.conn_table else None,
                                 pinning_sysctl=lambda: eqt_reader is not None and eqt_reader() == 0)
        if not readonly and runner is not None:
            self.ops.pin_remedy = f"press {offer.action_keys(ACTIONS, 'expire_quiescent', keys_for)}"
        self.vrrp = VrrpController(host, readonly=readonly, available=capabilities.vrrp)

    # --- DashboardHost: what the controllers may ask ---------------------------------------

    def tell(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
             timeout: float | None = None) -> None:
        # plain text: addresses ([2001:db8::1]:80), keepalived names and errors are never markup
        self.app.notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    def open_screen(self, screen: Screen[R], callback: Callable[[R | None], None] | None = None) -> None:
        self.app.push_screen(screen, callback)

    def current_snapshot(self) -> Snapshot | None:
        return self.frame.snapshot if self.frame is not None else None

    def start_thread(self, work: Callable[[], None], *, name: str, group: str) -> None:
        self.run_worker(work, name=name, group=group, thread=True, exclusive=True, exit_on_error=False)

    def busy(self, group: str) -> bool:
        return any(w.node is self and w.group == group and not w.is_finished for w in self.app.workers)

    def from_thread(self, callback: Callable[..., Any], *args: Any) -> None:
        self.app.call_from_thread(callback, *args)

    def changed(self) -> None:
        if self.autopoll:
            self.poller.poll_now()
        else:
            self.ingest()

    # --- layout -----------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield HeaderBar(id="header")
        yield PairPanel(id="pair")
        with Horizontal(id="body"):
            with Vertical(id="main"):
                yield Static(id="services-title", classes="title")
                yield VirtualTable(SERVICE_COLUMNS, self._service_cell, self._service_class,
                                   marker=self._service_marker, empty_text="no virtual services", id="services")
                yield Static(id="rs-title", classes="title")
                yield Static(id="drain-note")
                yield VirtualTable(RS_COLUMNS, self._rs_cell, self._rs_class, marker=self._rs_marker,
                                   empty_text="no real servers", id="real-servers")
                yield TrendPanel(id="trends")
            yield DirectorPanel(id="director")
        yield EventPane(id="events")
        yield Input(placeholder="filter: DR nat lc drained 10.1.0 · fwd: state: proto: sched: addr: port: flag: · "
                    "Enter keeps · Esc clears", id="filter")
        yield FittedFooter()

    def on_mount(self) -> None:
        if not self.query("#director"):
            # under App.run() the first screen mounts before its containers' children: wait for them
            self.call_after_refresh(self.on_mount)
            return
        self.query_one("#events").display = False
        self.query_one("#filter").display = False
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

    def on_resize(self) -> None:
        self._fit_director()

    def _fit_director(self) -> None:
        """The panel follows the width (shown from WIDE, wider from WIDER); the operator's ``d`` holds
        until the terminal moves to another of these width classes."""
        width = self.size.width
        width_class = (width >= WIDE) + (width >= WIDER)
        if width_class != self._width_class:
            self._width_class, self._director_forced = width_class, None
        show = self._director_forced if self._director_forced is not None else width >= WIDE
        panel = self.query_one("#director")
        panel.display = show
        panel.styles.width = 42 if width < WIDER else 58

    @property
    def services(self) -> VirtualTable:
        return self.query_one("#services", VirtualTable)

    @property
    def real_servers(self) -> VirtualTable:
        return self.query_one("#real-servers", VirtualTable)

    def _rs_row(self) -> RsRow | None:
        row = self.real_servers.cursor_item
        return row if isinstance(row, RsRow) else None

    def _service(self) -> VirtualService | None:
        row = self.services.cursor_item
        return row.vs if isinstance(row, ServiceRow) else None

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
            if self.is_attached and self.query("#services"):
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
        self.query_one(DirectorPanel).set_host(frame.snapshot.director, frame.snapshot.host)
        self.query_one(PairPanel).show(frame.snapshot, offer.action_keys(ACTIONS, "pair", self.keys_for))
        self._refresh_header(frame)
        eqt, drained = frame.expire_quiescent, frame.counts.drained_keys
        offer_changed = eqt != self.ops.eqt or (eqt == 0 and drained != self._drained)
        self._drained = drained
        self.ops.watch_drains(frame.snapshot, drained, eqt)
        if offer_changed:
            self.refresh_bindings()  # the remedy for pinned clients: offered on a drained server while it is 0

    def _take_events(self, events: Sequence[ChangeEvent]) -> None:
        until = self.clock() + HIGHLIGHT_SECONDS
        for event in events:
            self.highlights[event.key] = until
            self.highlights[event.vs_id] = until
            if event.kind == "vanished" and event.rs is not None and event.rs_id:
                self.gone.vanished(event.vs_id, event.rs)
            elif event.kind == "service-removed":
                self.gone.service_removed(event.vs_id)
            elif event.rs_id:
                self.gone.back(event.vs_id, event.rs_id)
        self.query_one(EventPane).add_events(events)
        self._gone_changed()
        self.refresh_bindings()  # "o" (acknowledge gone servers) shows only while there are some

    def _show_tables(self, tables: Tables) -> None:
        services = self.services
        previous = self.spec.selected
        services.set_rows(tables.svc_keys, tables.svc_items, follow_key=previous)
        selected = services.cursor_key
        if selected != tables.rs_vs_id:
            row = services.items.get(selected) if selected else None
            keys, items = build_real_servers(row.vs if row else None, self.spec, self.rate_view)
        else:
            keys, items = list(tables.rs_keys), dict(tables.rs_items)
        self._set_rs_rows(selected, keys, items)
        self._refresh_titles()
        self._refresh_trends()

    def _set_rs_rows(self, vs_id: str | None, keys: list[str], items: Mapping[str, RsRow], *,
                     loading: bool = False) -> None:
        self.real_servers.empty_text = "loading…" if loading else "no real servers"
        if vs_id != self.spec.selected:
            self.spec = dataclasses.replace(self.spec, selected=vs_id)
            self._watch()
        service = self.services.items.get(vs_id) if vs_id else None
        self.real_servers.set_columns(rs_columns(service is not None and service.vs.persistent))
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
        if not self.is_attached:
            return
        now = self.clock()
        expired = [key for key, until in self.highlights.items() if until <= now]
        for key in expired:
            del self.highlights[key]
        if expired:
            self.services.refresh()
            self.real_servers.refresh()
        self._refresh_header()

    # --- cells ------------------------------------------------------------------------

    def _service_cell(self, row: Any, column: str) -> str:
        return gone_cell(row, column, self.gone.count(row.vs.id)) or service_cell(row, column, self.rate_view)

    def _rs_cell(self, row: Any, column: str) -> str:
        return rs_cell(row, column, self.rate_view)

    def _service_class(self, key: str, row: Any) -> Sequence[str]:
        state = row.worst(self.gone.count(key))
        names = [ROW_CLASS[state]] if state else []
        if key in self.highlights:
            names.append("vtable--changed")
        return names

    def _service_marker(self, key: str, row: Any) -> str:
        return "»" if key in self.highlights else " "  # health has its own column (SERVICE_COLUMNS)

    def _rs_class(self, key: str, row: Any) -> Sequence[str]:
        state = row.state
        names = [f"vtable--{state}"] if state != "up" else []
        if rs_key(row.vs_id, key) in self.highlights:
            names.append("vtable--changed")
        if (row.vs_id, key) in self.ops.tags:
            names.append("vtable--tagged")
        return names

    def _rs_marker(self, key: str, row: Any) -> str:
        if (row.vs_id, key) in self.ops.tags:
            return "*"
        return "»" if rs_key(row.vs_id, key) in self.highlights else " "

    # --- titles, header, trends ---------------------------------------------------------

    def _refresh_titles(self) -> None:
        total = len(self.frame.snapshot.virtual_services) if self.frame else 0
        text = services_title(len(self.services.keys), total, self.error, self.spec.filter, self.rate_view.label)
        # plain text: ids ([2001:db8::13]:80), the operator's filter and errors are never markup
        self.query_one("#services-title", Static).update(
            Content(FOCUS_MARK[self.app.focused is self.services] + text))
        row = self.services.cursor_item
        service = row if isinstance(row, ServiceRow) else None
        text = rs_title(service, self.ops.tags_note(), self.gone.count(service.vs.id) if service else 0)
        self.query_one("#rs-title", Static).update(Content(FOCUS_MARK[self.app.focused is self.real_servers] + text))
        # the drain's progress on a line of its own (wrapped, never cut), under the cursor's server
        note = self.ops.drain_note(self._rs_row()).removeprefix(" · ")
        box = self.query_one("#drain-note", Static)
        box.display = bool(note)
        box.update(Content(note))

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
        self.query_one(TrendPanel).set_series(rows, lvstui, title)

    def header_state(self, frame: Frame | None = None) -> HeaderState:
        frame = frame or self.frame
        snapshot = frame.snapshot if frame else None
        has_data = snapshot is not None and snapshot.source != "empty"
        return HeaderState(
            director=snapshot.director if has_data and snapshot else "",
            vrrp=snapshot.vrrp if has_data and snapshot else (),
            age_seconds=(self.clock() - snapshot.monotonic) if has_data and snapshot else None,
            error=self.error,
            demo=self.capabilities.demo,
            readonly=self.readonly,
            paused=self.poller.paused,
            interval=frame.interval if frame else self.poller.interval,
            stretched=bool(frame and frame.stretched),
            poll_seconds=frame.poll_seconds if frame else 0.0,
            health=tuple(header_parts(frame.counts, self.gone.total)) if frame and has_data else (),
            split_brain=tuple(b.vrid for b in snapshot.split_brain) if has_data and snapshot else (),
        )

    def _refresh_header(self, frame: Frame | None = None) -> None:
        try:
            header = self.query_one(HeaderBar)
        except NoMatches:  # shutting down: the widgets are gone, a last timer fired
            return
        header.show(self.header_state(frame))

    def _tags_changed(self) -> None:
        self.real_servers.refresh()
        self._refresh_titles()

    # --- table events -----------------------------------------------------------------

    def on_virtual_table_row_highlighted(self, event: VirtualTable.RowHighlighted) -> None:
        if event.table is self.real_servers:
            self._watch()
            self._refresh_titles()  # the drained server's counts, under the cursor
            self.refresh_bindings()  # row actions (drain...) depend on the row
        if event.table is self.services and event.key != self.spec.selected and self.frame is not None:
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

    def on_screen_suspend(self) -> None:
        self._mark_focus()  # a modal on top has the keys: no table title stands out

    def on_screen_resume(self) -> None:
        self._mark_focus()

    def _mark_focus(self) -> None:
        """The title of the table the keys act on stands out (j/k, s, Enter go there)."""
        try:
            self.query_one("#services-title").set_class(self.app.focused is self.services, "-focused")
            self.query_one("#rs-title").set_class(self.app.focused is self.real_servers, "-focused")
            self._refresh_titles()
        except NoMatches:
            pass

    def on_virtual_table_row_selected(self, event: VirtualTable.RowSelected) -> None:
        if event.table is self.services:
            self.real_servers.focus()
        elif event.table is self.real_servers:
            self.action_detail()

    def on_virtual_table_header_clicked(self, event: VirtualTable.HeaderClicked) -> None:
        self.sort_table(event.table, event.column)

    # --- sorting and filtering ----------------------------------------------------------

    def _focused_table(self) -> VirtualTable:
        return self.real_servers if self.app.focused is self.real_servers else self.services

    def sort_table(self, table: VirtualTable, column: str, reverse: bool | None = None) -> None:
        if table is self.services:
            current, was = self.spec.svc_sort, self.spec.svc_reverse
        else:
            current, was = self.spec.rs_sort, self.spec.rs_reverse
        if reverse is None:
            reverse = (not was) if column == current else default_reverse(table.columns, column)
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
        self.sort_table(table, visible[index])

    def action_sort_reverse(self) -> None:
        table = self._focused_table()
        self.sort_table(table, table.sort_column or "id", reverse=not table.sort_reverse)

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
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
        box = self.query_one("#filter", Input)
        if not box.has_focus and self.ops.clear_tags():
            self.tell("tags cleared", timeout=2)
        elif box.has_focus or (self.spec.filter and self.app.focused is self.services):
            box.value = ""
            box.display = False
            self.set_filter("")
            self.services.focus()
        elif self.app.focused is not self.services:
            self.services.focus()

    def action_acknowledge_gone(self) -> None:
        self.tell(self.gone.acknowledge(), timeout=5)
        self._gone_changed()
        self._rebuild()
        self.services.refresh()
        self._refresh_header()
        self.refresh_bindings()

    def _gone_changed(self) -> None:
        gone = self.gone.items()
        if gone != self.spec.gone:
            self.spec = dataclasses.replace(self.spec, gone=gone)  # the view lists them (filtered, sorted)

    def action_switch_table(self) -> None:
        (self.services if self.app.focused is self.real_servers else self.real_servers).focus()

    # --- toggles ----------------------------------------------------------------------

    def action_toggle_pause(self) -> None:
        if self.poller.paused:
            self.poller.resume()
            self.tell("polling resumed", timeout=2)
        else:
            self.poller.pause()
            self.tell("polling paused: the data shown is frozen (p resumes)", timeout=3)
        self._refresh_header()

    def action_toggle_events(self) -> None:
        pane = self.query_one(EventPane)
        pane.display = not pane.display

    def action_toggle_director(self) -> None:
        panel = self.query_one("#director")
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
        self._next_theme()

    def action_poll_now(self) -> None:
        self.poller.poll_now()

    def action_quit(self) -> None:
        self.app.exit()

    def action_help(self) -> None:
        if isinstance(self.app.screen, HelpScreen):
            return
        tables = [dataclasses.replace(b, key=self.keys_for(b.id, b.key)) if b.id else b
                  for b in VirtualTable.BINDINGS if isinstance(b, Binding)]
        specs = self._allowed_specs()
        actions = self.allowed_actions()
        operations = [(keys, text) for spec, (keys, text) in zip(specs, actions) if spec.mutating]
        others = [(keys, text) for spec, (keys, text) in zip(specs, actions) if not spec.mutating]
        self.app.push_screen(HelpScreen(help_sections(others, tables, self.readonly, operations)))

    def action_detail(self) -> None:
        row = self._rs_row()
        if row is None or isinstance(self.app.screen, RsDetailScreen):
            return
        vs_id, rs_id = row.vs_id, row.rs.id
        absent = ("not available in the demo (it simulates no connection table)" if self.capabilities.demo
                  else "not available from this source (it reads no connection table on this machine)")
        self.app.push_screen(RsDetailScreen(lambda: rs_detail(self.current_snapshot(), self.feed, vs_id, rs_id),
                                            count_table if self.capabilities.conn_table else None, absent))

    def action_conns(self) -> None:
        row = self._rs_row()
        if row is None or isinstance(self.app.screen, ConnListScreen):
            return
        if not self.capabilities.conn_table:
            self.tell("connections: " + ("not available in the demo (it simulates no connection table)"
                                         if self.capabilities.demo else
                                         "this source reads no connection table on this machine"), timeout=4)
            return

        def services() -> tuple[VirtualService, ...]:
            snapshot = self.current_snapshot()
            return snapshot.virtual_services if snapshot is not None else ()

        self.app.push_screen(ConnListScreen(row.vs_id, row.rs, services, read_conns))

    def action_copy_id(self) -> None:
        if self.app.focused is self.real_servers and (row := self._rs_row()) is not None:
            copy_id(self.app, row.rs.id, f"real server {row.rs.id} of {row.vs_id}")
        elif (vs := self._service()) is not None:
            copy_id(self.app, vs.id, f"virtual service {vs.id}")
        else:
            self.tell("nothing selected to copy", timeout=2)

    def action_pair(self) -> None:
        if not isinstance(self.app.screen, PairScreen):
            self.app.push_screen(PairScreen(self.current_snapshot, every=max(self.poller.interval, 0.5)))

    def action_lab_panel(self) -> None:
        path = self.capabilities.lab_control
        if path is not None and not isinstance(self.app.screen, LabPanel):
            self.app.push_screen(LabPanel(path))

    # --- operations: the controllers, given the selection --------------------------------

    def action_drain(self) -> None:
        self.ops.drain(self._rs_row())

    def action_restore(self) -> None:
        self.ops.restore(self._rs_row())

    def action_weight_up(self) -> None:
        self.ops.weight_up(self._rs_row())

    def action_weight_down(self) -> None:
        self.ops.weight_down(self._rs_row())

    def action_set_weight(self) -> None:
        self.ops.set_weight(self._rs_row())

    def action_tag(self) -> None:
        if self.ops.toggle_tag(self._rs_row()):
            self.real_servers.move_cursor(self.real_servers.cursor_index + 1)  # as htop: tag and move on
            self._tags_changed()

    def action_drain_host(self) -> None:
        self.ops.drain_host(self._rs_row())

    def action_restore_host(self) -> None:
        self.ops.restore_host(self._rs_row())

    def action_remove_rs(self) -> None:
        self.ops.remove_rs(self._rs_row())

    def action_add_rs(self) -> None:
        self.ops.add_rs(self._service())

    def action_add_vs(self) -> None:
        self.ops.add_vs()

    def action_edit_vs(self) -> None:
        self.ops.edit_vs(self._service())

    def action_remove_vs(self) -> None:
        self.ops.remove_vs(self._service())

    def action_undo(self) -> None:
        self.ops.undo()

    def action_expire_quiescent(self) -> None:
        self.ops.expire_quiescent(self._rs_row())

    def action_vrrp_demote(self) -> None:
        self.vrrp.toggle("demote")

    def action_vrrp_promote(self) -> None:
        self.vrrp.toggle("promote")

    def action_setup(self) -> None:
        # lazy: the wizards pull in paramiko, which the dashboard does not need to start
        from lvstui.ui.setup_forms import SetupChooserScreen

        self.app.push_screen(SetupChooserScreen())

    # --- readonly, help, palette ------------------------------------------------------

    def on_key(self, event: events.Key) -> None:
        """A key whose action this mode or source does not offer (its binding is off) says why, once."""
        why = offer.key_refusal(ACTIONS, event.key, self.keys_for, readonly=self.readonly,
                          capabilities=self.capabilities, mutating=MUTATING_ACTIONS)
        if why:
            event.stop()
            self.tell(why, severity="warning", timeout=4)

    def _offered(self, spec: ActionSpec) -> bool:
        return offer.offered(spec, readonly=self.readonly, capabilities=self.capabilities,
                             mutating=MUTATING_ACTIONS)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in MUTATING_ACTIONS and self.readonly:
            return False
        spec = next((s for s in ACTIONS if s.action == action), None)
        if spec is None:
            return True
        if not self._offered(spec):
            return False
        if action == "acknowledge_gone" and not self.gone.total:
            return False
        if action == "expire_quiescent" and not self.ops.pins_drained(self._rs_row()):
            return False
        if spec.on_rs_row:
            row = self._rs_row()
            if self.app.focused is not self.real_servers or row is None or row.gone:
                return False
        return not (spec.needs_service and self.services.cursor_item is None)

    def _allowed_specs(self) -> list[ActionSpec]:
        return offer.allowed_specs(ACTIONS, readonly=self.readonly, capabilities=self.capabilities,
                             mutating=MUTATING_ACTIONS)

    def allowed_actions(self) -> list[tuple[str, str]]:
        """Every action this mode allows (for help): row-dependent ones too, wherever the cursor is."""
        return [(offer.keys_of(spec, self.keys_for), spec.help) for spec in self._allowed_specs()]

    def palette_commands(self) -> Iterable[SystemCommand]:
        """The command palette's entries for this screen: every action allowed here, sorting."""
        yield from offer.palette_actions(ACTIONS, lambda action: self.check_action(action, ()) is not False,
                                   self.keys_for, self.run_action)
        yield from offer.sort_commands(self._palette_sort)

    def _palette_sort(self, table_id: str, column: str) -> None:
        self.sort_table(self.query_one(table_id, VirtualTable), column)
