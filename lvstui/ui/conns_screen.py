"""One real server's connection list (``c``): who is still on it, live and filterable.

The entries are the kernel's (``/proc/net/ip_vs_conn``, what ``ipvsadm -Lnc`` prints), those of
the selected service to the selected real server.  The table is streamed in a thread every
:data:`CONNS_EVERY` seconds and only while this screen is open (a busy director holds millions
of entries: only the matching ones are kept, and a slow read never piles up behind itself).
Connections are listed apart from the persistence templates, shown as "clients pinned by
persistence": a pinned client keeps reaching a drained server until its template expires.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from lvstui.backend.connfilter import ConnFilter
from lvstui.backend.conns import Conn, ConnError, ServiceIndex, format_expires
from lvstui.backend.traffic import carries_traffic
from lvstui.model import RealServer, VirtualService
from lvstui.ui.plain import visible

__all__ = ["CONNS_EVERY", "ConnList", "ConnListScreen", "collect", "conn_list_content"]

#: seconds between two reads of the connection table while the list is open
CONNS_EVERY = 2.0
#: rows shown per section (the rest is counted: filter to narrow)
MAX_ROWS = 500


@dataclass(frozen=True, slots=True)
class ConnList:
    """The entries of one service to one real server: connections and persistence templates."""

    conns: tuple[Conn, ...]
    pinned: tuple[Conn, ...]

    @property
    def carrying(self) -> int:
        return sum(1 for c in self.conns if carries_traffic(c))


def collect(entries: Iterable[Conn], services: Sequence[VirtualService], vs_id: str, rs: RealServer) -> ConnList:
    """The entries of ``vs_id`` to ``rs`` from a stream of the whole table (the rest is dropped)."""
    index = ServiceIndex(services)
    wanted = ConnFilter(service=vs_id, dest=rs.address, dest_port=rs.port)
    conns: list[Conn] = []
    pinned: list[Conn] = []
    for c in entries:
        if wanted.accepts(c, index):
            (pinned if c.template else conns).append(c)
    conns.sort(key=lambda c: (not carries_traffic(c), c.state, -c.expires))
    pinned.sort(key=lambda c: -c.expires)
    return ConnList(tuple(conns), tuple(pinned))


def _matches(c: Conn, terms: list[str]) -> bool:
    text = f"{c.protocol} {c.source} {c.state} {'flowing' if carries_traffic(c) else 'closed'}".lower()
    return all(t in text for t in terms)


def conn_list_content(found: ConnList | None, note: str, query: str, vs_id: str, rs_id: str) -> Content:
    """The list as shown: a summary, the connections, then the pinned clients (``query``: the filter)."""
    lines = [Content.assemble(("Connections of ", "bold"), (visible(rs_id), "bold $text-accent"),
                              (" in ", "bold"), (visible(vs_id), "bold"))]
    if found is None:
        lines.append(Content.styled(f"  {visible(note)}", "$text-muted"))
        return Content("\n").join(lines)
    terms = query.lower().split()
    conns = [c for c in found.conns if _matches(c, terms)]
    pinned = [c for c in found.pinned if _matches(c, terms)]
    closed = len(found.conns) - found.carrying
    lines.append(Content(f"  {len(found.conns)} entries: {found.carrying} carrying traffic, {closed} closed "
                         f"(waiting out their timers) · {len(found.pinned)} clients pinned by persistence"))
    if terms:
        lines.append(Content.styled(f"  filter “{visible(query.strip())}”: {len(conns)} entries, "
                                    f"{len(pinned)} pinned clients", "$text-muted"))
    lines.append(Content.styled(f"  {'Pro':<5}{'Source':<42}{'State':<13}{'Expires':>8}  Traffic", "bold"))
    for c in conns[:MAX_ROWS]:
        flow = "flowing" if carries_traffic(c) else "closed"
        lines.append(Content(f"  {c.protocol:<5}{visible(c.source):<42}{c.state:<13}{format_expires(c.expires):>8}"
                             f"  {flow}"))
    if len(conns) > MAX_ROWS:
        lines.append(Content.styled(f"  … {len(conns) - MAX_ROWS} more (type to filter)", "$text-muted"))
    if not conns:
        lines.append(Content.styled("  no connection entry", "$text-muted"))
    lines.append(Content(""))
    lines.append(Content.styled(f"Clients pinned by persistence ({len(pinned)}): they return to this server "
                                "until their template expires", "bold"))
    for c in pinned[:MAX_ROWS]:
        lines.append(Content(f"  {c.protocol:<5}{visible(c.client):<42}{'template':<13}"
                             f"{format_expires(c.expires):>8}"))
    if len(pinned) > MAX_ROWS:
        lines.append(Content.styled(f"  … {len(pinned) - MAX_ROWS} more (type to filter)", "$text-muted"))
    lines.append(Content.styled(f"  {visible(note)}", "$text-muted"))
    return Content("\n").join(lines)


class ConnListScreen(ModalScreen[None]):
    """``read`` streams the whole table (in a thread); ``services`` gives the snapshot's services
    (UI thread) so the entries resolve to lvstui's service ids."""

    DEFAULT_CSS = """
    ConnListScreen { align: center middle; }
    ConnListScreen > Vertical { width: 96%; max-width: 120; height: 90%; border: thick $primary;
                                background: $surface; padding: 0 1; }
    ConnListScreen #conns-filter { margin: 0 0 1 0; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Close", id="conns.close")]

    def __init__(self, vs_id: str, rs: RealServer, services: Callable[[], Sequence[VirtualService]],
                 read: Callable[[], Iterable[Conn]]) -> None:
        super().__init__()
        self.vs_id, self.rs = vs_id, rs
        self.services, self.read = services, read
        self.found: ConnList | None = None
        self.note = "reading the connection table…"
        self._reading = False

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_subtitle = "type to filter (source, state, flowing/closed) · Esc closes"
            yield Input(placeholder="filter: 192.168.1.5 ESTABLISHED closed …", id="conns-filter")
            with VerticalScroll():
                yield Static(id="conns-text")

    def on_mount(self) -> None:
        self.redraw()
        self._start_read()
        self.set_interval(CONNS_EVERY, self._start_read)

    def on_input_changed(self, _event: Input.Changed) -> None:
        self.redraw()

    def redraw(self) -> None:
        query = self.query_one("#conns-filter", Input).value
        self.query_one("#conns-text", Static).update(
            conn_list_content(self.found, self.note, query, self.vs_id, self.rs.id))

    def _start_read(self) -> None:
        if self._reading:
            return
        self._reading = True
        services, read, vs_id, rs = list(self.services()), self.read, self.vs_id, self.rs

        def work() -> None:
            try:
                found: ConnList | None = collect(read(), services, vs_id, rs)
                note = f"/proc/net/ip_vs_conn, read every {CONNS_EVERY:.0f}s while this list is open"
            except (ConnError, OSError, ValueError) as exc:
                found, note = None, f"cannot read the connection table: {exc}"
            self.app.call_from_thread(self._take, found, note)

        self.run_worker(work, name="conn-list", group="conn-list", thread=True, exit_on_error=False)

    def _take(self, found: ConnList | None, note: str) -> None:
        self._reading = False
        self.found, self.note = found, note
        if self.is_attached:
            self.redraw()

    def action_close(self) -> None:
        self.dismiss(None)
