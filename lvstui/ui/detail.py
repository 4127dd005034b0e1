"""Enter on a real server: everything the dashboard knows about it, on one screen.

Its state, counters and rates from the last snapshot; keepalived's health check of it (what
the snapshot carries) and the changes the feed saw (down, up, drained, weight, gone); its
sparklines over the whole history the dashboard kept; and, where the source reads this
machine's kernel, its connection-table entries by state, read in a thread every few seconds
while the screen is open (never on the UI thread: the table may hold millions of entries).
Escape closes it; ``y`` copies the real server's id.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from lvstui.backend.conncount import StateCount
from lvstui.backend.conns import ConnError
from lvstui.model import RealServer, Snapshot
from lvstui.rates import rs_key
from lvstui.ui.feed import ChangeEvent, Feed, Point
from lvstui.ui.formatting import si, state_text
from lvstui.ui.plain import visible
from lvstui.ui.widgets import BYTES_LABEL, sparkline

__all__ = ["CONNS_EVERY", "RsDetail", "RsDetailScreen", "copy_id", "rs_detail", "squeeze"]

#: seconds between two reads of the connection table while the screen is open
CONNS_EVERY = 3.0


@dataclass(frozen=True, slots=True)
class RsDetail:
    vs_id: str
    rs_id: str
    rs: RealServer | None  # None: no longer in the snapshot
    persistent_service: bool = False
    history: list[Point] = field(default_factory=list)
    events: list[ChangeEvent] = field(default_factory=list)


def rs_detail(snapshot: Snapshot | None, feed: Feed, vs_id: str, rs_id: str) -> RsDetail:
    """What the detail screen shows, from the dashboard's snapshot and feed (UI thread, cheap)."""
    vs = snapshot.service(vs_id) if snapshot is not None else None
    rs = vs.real_server(rs_id) if vs is not None else None
    events, _ = feed.events_since(0)
    mine = [e for e in events if e.vs_id == vs_id and e.rs_id == rs_id]
    return RsDetail(vs_id, rs_id, rs, bool(vs and vs.persistent), feed.history(rs_key(vs_id, rs_id)), mine)


def squeeze(values: Sequence[float], width: int) -> list[float]:
    """The whole series in ``width`` points: each the largest of its stretch (a spike stays visible)."""
    if len(values) <= width or width <= 0:
        return list(values)
    out = []
    for i in range(width):
        part = [v for v in values[i * len(values) // width: (i + 1) * len(values) // width] if not math.isnan(v)]
        out.append(max(part) if part else math.nan)
    return out


def _line(label: str, text: str) -> Content:
    return Content.assemble((f"{label:<12}", "bold $text-muted"), visible(text))


def _check_lines(rs: RealServer) -> list[Content]:
    check = rs.check
    if check is None:
        return [_line("keepalived", "no health check of this server in keepalived's view")]
    if check.alive:
        text = f"{check.checker}: passing"
    elif check.drained:
        text = f"{check.checker}: failing on purpose (drained by lvstui's track file)"
    else:
        failed = f" ({check.failed_checkers} checkers failing)" if check.failed_checkers > 1 else ""
        text = f"{check.checker}: FAILING{failed}"
    lines = [_line("keepalived", text)]
    if check.detail:
        lines.append(_line("", check.detail))
    return lines


_EVENT_WORDS = {"down": "DOWN", "up": "up", "vanished": "gone from IPVS", "appeared": "appeared",
                "drained": "drained", "weight": "weight"}


def detail_content(d: RsDetail, width: int, conns: list[StateCount] | None, conns_note: str) -> Content:
    lines = [Content.assemble(("Real server ", "bold"), (visible(d.rs_id), "bold $text-accent"),
                              (" in ", "bold"), (visible(d.vs_id), "bold"))]
    rs = d.rs
    if rs is None:
        lines.append(Content.styled("no longer in IPVS (the last snapshot does not have it)", "bold $text-warning"))
    else:
        where = "in IPVS" if rs.in_kernel else "not in IPVS"
        lines.append(_line("State", f"{state_text(rs.state)} · weight {rs.weight} · {rs.forward.value} · {where}"))
        if rs.upper_threshold or rs.lower_threshold:
            lines.append(_line("", f"thresholds: upper {rs.upper_threshold}, lower {rs.lower_threshold}"))
        persist = f" · persistent {si(rs.persistent_conns)}" if d.persistent_service or rs.persistent_conns else ""
        lines.append(_line("Connections", f"active {si(rs.active_conns)} · inactive {si(rs.inactive_conns)}{persist}"))
        r = rs.rates
        lines.append(_line("Rates", f"CPS {si(r.cps)} · In PPS {si(r.inpps)} · Out PPS {si(r.outpps)}"
                                    "  (kernel estimator)"))
        lines.append(_line("", f"In B/s {si(r.inbps)} · Out B/s {si(r.outbps)}"))
        s = rs.stats
        lines.append(_line("Counters", f"connections {si(s.conns)} · in packets {si(s.inpkts)} · out packets "
                                       f"{si(s.outpkts)}"))
        lines.append(_line("", f"in bytes {si(s.inbytes)} · out bytes {si(s.outbytes)}"))
        lines.extend(_check_lines(rs))
    lines.append(Content(""))
    n = len(d.events)
    lines.append(Content.styled(f"History ({n} change{'' if n == 1 else 's'} seen since lvstui started"
                                f"{', the last 8' if n > 8 else ''})", "bold"))
    for event in d.events[-8:]:
        stamp = event.at.astimezone().strftime("%H:%M:%S")
        word = _EVENT_WORDS.get(event.kind, event.kind)
        lines.append(Content(visible(f"  {stamp}  {word:<15} {event.detail}")))
    if not d.events:
        lines.append(Content.styled("  no change of this server yet", "$text-muted"))
    lines.append(Content(""))
    lines.append(Content.styled(f"Trends over the whole history kept ({len(d.history)} polls)", "bold"))
    spark_w = max(width - 24, 8)
    for label, index in (("CPS", 0), (BYTES_LABEL, 1)):
        series = [p[index] for p in d.history]
        now = next((v for v in reversed(series) if not math.isnan(v)), math.nan)
        now_text = "–" if math.isnan(now) else si(now)
        lines.append(Content.assemble((f"  {label:<11}", "$text-muted"), f"{now_text:>6} ",
                                      (sparkline(squeeze(series, spark_w), spark_w), "$accent")))
    lines.append(Content(""))
    lines.append(Content.styled("Connections by state", "bold"))
    if conns is None:
        lines.append(Content.styled(f"  {visible(conns_note)}", "$text-muted"))
    elif not conns:
        lines.append(Content(f"  no entry for this server in the connection table  ({visible(conns_note)})"))
    else:
        for c in conns:
            kind = "template" if c.template else c.state
            lines.append(Content(visible(f"  {c.protocol:<5} {kind:<12} {c.count:>8}   longest expiry "
                                         f"{c.longest_expiry}s")))
        lines.append(Content.styled(f"  {visible(conns_note)}", "$text-muted"))
    return Content("\n").join(lines)


class RsDetailScreen(ModalScreen[None]):
    """One real server in detail.  ``fetch`` gives the current :class:`RsDetail` (UI thread);
    ``read_conns`` (None where the source has no connection table here) runs in a thread."""

    DEFAULT_CSS = """
    RsDetailScreen { align: center middle; }
    RsDetailScreen > VerticalScroll { width: 96%; max-width: 140; height: auto; max-height: 92%; border: thick $primary;
                                      background: $surface; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Close", id="detail.close"),
        Binding("y", "copy_id", "Copy id", id="detail.copy"),
    ]

    def __init__(self, fetch: Callable[[], RsDetail],
                 read_conns: Callable[[], list[StateCount]] | None, absent: str) -> None:
        super().__init__()
        self.fetch = fetch
        self.read_conns = read_conns
        self.conns: list[StateCount] | None = None
        self.conns_note = absent if read_conns is None else "reading the connection table…"
        self._reading = False
        self.detail = fetch()

    def compose(self) -> ComposeResult:
        with VerticalScroll() as box:
            box.border_subtitle = "Esc closes · y copies the id"
            yield Static(id="detail-text")

    def on_mount(self) -> None:
        self.redraw()
        self.set_interval(1.0, self.redraw)
        if self.read_conns is not None:
            self._start_read()
            self.set_interval(CONNS_EVERY, self._start_read)

    def redraw(self) -> None:
        self.detail = self.fetch()
        width = min(int(self.app.size.width * 0.96), 140) - 6
        self.query_one("#detail-text", Static).update(detail_content(self.detail, width, self.conns,
                                                                     self.conns_note))

    def _start_read(self) -> None:
        if self._reading or self.read_conns is None:
            return  # a slow read never piles up behind itself
        self._reading = True
        reader, rs_id = self.read_conns, self.detail.rs_id

        def work() -> None:
            try:
                counts, note = [c for c in reader() if c.destination == rs_id], (
                    f"/proc/net/ip_vs_conn, every service's entries to {rs_id}, read every {CONNS_EVERY:.0f}s")
            except (ConnError, OSError) as exc:
                counts, note = None, f"cannot read the connection table: {exc}"
            self.app.call_from_thread(self._take, counts, note)

        self.run_worker(work, name="detail-conns", group="detail-conns", thread=True, exit_on_error=False)

    def _take(self, counts: list[StateCount] | None, note: str) -> None:
        self._reading = False
        self.conns, self.conns_note = counts, note
        if self.is_attached:
            self.redraw()

    def action_close(self) -> None:
        self.dismiss(None)

    def action_copy_id(self) -> None:
        copy_id(self.app, self.detail.rs_id, f"real server {self.detail.rs_id} of {self.detail.vs_id}")


def copy_id(app: App[object], text: str, what: str) -> None:
    """Put ``text`` on the clipboard (OSC 52, through the terminal) and say so."""
    app.copy_to_clipboard(text)
    app.notify(f"copied {visible(what)} to the clipboard (OSC 52: the terminal must allow it)",
               timeout=3, markup=False)
