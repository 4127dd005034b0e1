"""The dashboard's smaller widgets: header line, director panel, trends (sparklines), event pane."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Static

from lvstui.model import HostStats, VrrpInstance
from lvstui.ui.feed import ChangeEvent, Point
from lvstui.ui.formatting import age, bar, bytes_h, si
from lvstui.ui.vtable import fit

__all__ = ["DirectorPanel", "EventPane", "HeaderBar", "HeaderState", "TrendPanel", "sparkline", "vrrp_text"]


def vrrp_text(instances: Sequence[VrrpInstance]) -> str:
    if not instances:
        return "keepalived: not running"
    return " ".join(f"{vi.name} {vi.state}" for vi in instances)


@dataclass(frozen=True, slots=True)
class HeaderState:
    director: str = ""
    vrrp: tuple[VrrpInstance, ...] = ()
    age_seconds: float | None = None  # None: no data yet
    error: str | None = None
    demo: bool = False
    readonly: bool = False
    paused: bool = False
    interval: float = 1.0
    stretched: bool = False
    poll_seconds: float = 0.0
    source: str = ""
    health: tuple[tuple[str, str], ...] = ()  # lvstui.ui.health.header_parts: DOWN, drained... counts
    split_brain: tuple[int, ...] = ()  # VRIDs with two MASTERs (Snapshot.split_brain)


class HeaderBar(Static):
    DEFAULT_CSS = "HeaderBar { height: 1; width: 1fr; background: $panel; }"

    _state: HeaderState | None = None

    def show(self, state: HeaderState) -> None:
        self._state = state
        self.update(header_content(state, self.size.width or None))

    def on_resize(self) -> None:
        if self._state is not None:
            self.update(header_content(self._state, self.size.width or None))


_VRRP_STYLE = {"MASTER": "bold $text-success", "BACKUP": "bold $text-primary", "FAULT": "bold reverse $error"}


def header_content(s: HeaderState, width: int | None = None) -> Content:
    """The header line; on a narrow terminal the least needed words go first (lvstui's name,
    then the director's), so the health counts and the data's age are never cut."""
    content = _header(s, 0)
    for compact in (1, 2):
        if width is None or content.cell_length <= width:
            break
        content = _header(s, compact)
    return content


def _header(s: HeaderState, compact: int) -> Content:
    sep = (" │ ", "$text-muted")
    parts: list[str | tuple[str, str]] = [(" lvstui ", "bold $text-primary")] if compact < 1 else [" "]
    if s.demo:
        parts += [(" DEMO ", "bold reverse $warning"), " "]
    if s.readonly:
        parts += [(" READ-ONLY ", "bold reverse $accent"), " "]
    if s.paused:
        parts += [(" PAUSED ", "bold reverse $secondary"), " "]
    if s.split_brain:
        parts += [(f" SPLIT BRAIN VRID {','.join(map(str, s.split_brain))} ", "bold reverse $error"), " "]
    if compact < 2:
        parts += [(s.director or "…", "bold"), sep]
    if not s.vrrp:
        parts.append((vrrp_text(s.vrrp), "$text-muted"))
    for i, vi in enumerate(s.vrrp):
        style = _VRRP_STYLE.get(vi.state.upper(), "bold $text-warning")
        parts += ([" "] if i else []) + [(f"{vi.name} ", ""), (vi.state, style)]
    parts.append(sep)
    if s.health:
        parts += [*s.health, sep]
    if s.error is not None:
        parts.append((" STALE ", "bold reverse $error"))
        parts.append((f" data {age(s.age_seconds)} old" if s.age_seconds is not None else " no data yet",
                      "bold $text-error"))
        parts += [sep, (s.error, "$text-error")]
    elif s.age_seconds is None:
        parts.append(("waiting for the first poll…", "$text-muted"))
    else:
        parts.append((f"data {age(s.age_seconds)} old" if compact < 2 else f"{age(s.age_seconds)} old", ""))
    if s.stretched:
        parts += [sep, (f"interval {s.interval:.1f}s (poll took {s.poll_seconds:.1f}s)", "bold $text-warning")]
    return Content.assemble(*parts)


_SPARK = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float], width: int) -> str:
    """The last ``width`` values as block characters scaled between their minimum and maximum.

    Gaps (NaN, e.g. lvstui deltas before a second poll) are blanks; a flat series is a low line.
    """
    if width <= 0:
        return ""
    tail = list(values)[-width:]
    finite = [v for v in tail if not math.isnan(v)]
    top = max(finite, default=0.0)
    bottom = min(finite, default=0.0)
    bottom = min(bottom, top * 0.8)  # zoom in on the variation, but not on noise below 20% of the top
    span = top - bottom
    chars = []
    for v in tail:
        if math.isnan(v):
            chars.append(" ")
        elif span <= 0:
            chars.append(_SPARK[0] if top <= 0 else _SPARK[3])
        else:
            chars.append(_SPARK[min(int((v - bottom) / span * (len(_SPARK) - 1) + 0.5), len(_SPARK) - 1)])
    return "".join(chars).rjust(width)


#: the feed's bytes series is in + out (lvstui.ui.feed): the label says so, beside a table of In B/s
BYTES_LABEL = "In+Out B/s"


class TrendPanel(Widget):
    """Sparklines of CPS and bandwidth (in + out) for the selected service and real server."""

    DEFAULT_CSS = "TrendPanel { height: 3; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._rows: list[tuple[str, list[Point]]] = []
        self._lvstui = False
        self._title = ""

    def set_series(self, rows: list[tuple[str, list[Point]]], lvstui_rates: bool, title: str) -> None:
        self._rows, self._lvstui, self._title = rows, lvstui_rates, title
        self.refresh()

    def render(self) -> Content:
        width = self.size.width or 80
        lines: list[Content] = [Content.assemble((self._title[:width], "bold $text-muted"))]
        if not self._rows:
            lines.append(Content.styled("no service selected", "$text-muted"))
        label_w = min(max((len(label) for label, _ in self._rows), default=10), max(width // 3, 10))
        for label, points in self._rows:
            cps = [p[2] if self._lvstui else p[0] for p in points]
            bw = [p[3] if self._lvstui else p[1] for p in points]
            now_cps = next((v for v in reversed(cps) if not math.isnan(v)), math.nan)
            now_bw = next((v for v in reversed(bw) if not math.isnan(v)), math.nan)
            cps_txt = "–" if math.isnan(now_cps) else si(now_cps)
            bw_txt = "–" if math.isnan(now_bw) else si(now_bw)
            spark_w = max((width - label_w - 1 - 11 - (len(BYTES_LABEL) + 7)) // 2, 4)
            name = fit(label, label_w, "left", middle=True)  # an id's port stays visible
            lines.append(Content.assemble(
                (name.ljust(label_w), "bold"), " ",
                ("CPS ", "$text-muted"), (f"{cps_txt:>5} ", ""), (sparkline(cps, spark_w), "$accent"), " ",
                (f"{BYTES_LABEL} ", "$text-muted"), (f"{bw_txt:>5} ", ""), (sparkline(bw, spark_w), "$primary"),
            ))
        return Content("\n").join(lines)


class DirectorPanel(Widget):
    """psutil's view of the director: per-core busy and softirq, load, memory, NICs."""

    DEFAULT_CSS = "DirectorPanel { width: 42; height: 1fr; padding: 0 1; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._host: HostStats | None = None
        self._name = ""

    def set_host(self, director: str, host: HostStats | None) -> None:
        self._name, self._host = director, host
        self.refresh()

    def render(self) -> Content:
        host = self._host
        lines: list[Content] = [Content.styled(f"Director {self._name}"[: max(self.size.width, 10)], "bold")]
        if host is None:
            lines.append(Content.styled("no host statistics", "$text-muted"))
            return Content("\n").join(lines)
        l1, l5, l15 = host.load
        lines.append(Content(f"load {l1:.2f} {l5:.2f} {l15:.2f}"))
        if host.mem_total:
            lines.append(Content(f"mem  {bytes_h(host.mem_used)} / {bytes_h(host.mem_total)} "
                                 f"({100 * host.mem_used / host.mem_total:.0f}%)"))
        bar_w = max((self.size.width - 16) // 2 - 1, 4)
        lines.append(Content.assemble(("CPU " + "busy".ljust(bar_w + 6), "bold"),
                                      ("softirq", "bold $text-warning")))
        for cpu in host.cpus:
            lines.append(Content.assemble(
                f"{cpu.core:>3} ", (bar(cpu.busy / 100, bar_w), "$primary"), f" {cpu.busy:3.0f}% ",
                (bar(cpu.softirq / 100, bar_w), "$warning"), f" {cpu.softirq:3.0f}%",
            ))
        lines.append(Content.styled("NIC     rx pps tx pps  rx B/s  tx B/s", "bold"))
        for nic in host.nics:
            lines.append(Content(f"{nic.name[:7]:<7}{si(nic.rx_pps):>7}{si(nic.tx_pps):>7}"
                                 f"{si(nic.rx_bps):>8}{si(nic.tx_bps):>8}"))
            faults = nic.drops_in + nic.drops_out + nic.errors_in + nic.errors_out
            if faults:
                lines.append(Content.styled(
                    f"        drops {nic.drops_in}/{nic.drops_out} errors {nic.errors_in}/{nic.errors_out}",
                    "$text-warning"))
        if host.error:
            lines.append(Content.styled(host.error, "$text-error"))
        return Content("\n").join(lines)


_EVENT_STYLE = {"down": "bold $text-error", "vanished": "$text-warning", "drained": "$text-warning",
                "weight": "$text-accent", "appeared": "$text-success", "up": "$text-success",
                "service-added": "$text-success", "service-removed": "$text-warning"}
_EVENT_WORD = {"down": "✖ DOWN", "up": "● UP", "vanished": "⌫ GONE", "appeared": "+ NEW", "drained": "◐ DRAIN",
               "weight": "Δ WEIGHT", "service-added": "+ SERVICE", "service-removed": "⌫ SERVICE"}


class EventPane(VerticalScroll, can_focus=False):
    """Changes of real servers since the dashboard started, newest last, with timestamps."""

    DEFAULT_CSS = "EventPane { height: 8; border-top: solid $primary; } EventPane > Static { width: 1fr; }"
    MAX_LINES = 500

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lines: list[Content] = []

    def compose(self) -> ComposeResult:
        yield Static(Content.styled("Events: no change of any real server yet", "$text-muted"), id="event-text")

    def add_events(self, events: Sequence[ChangeEvent]) -> None:
        if not events:
            return
        for event in events:
            stamp = event.at.astimezone().strftime("%H:%M:%S")
            what = event.vs_id if event.rs_id is None else f"{event.rs_id} in {event.vs_id}"
            self.lines.append(Content.assemble(
                (stamp, "$text-muted"), " ", (f"{_EVENT_WORD.get(event.kind, event.kind):<10}",
                                               _EVENT_STYLE.get(event.kind, "")),
                " ", (what, "bold"), "  ", event.detail,
            ))
        del self.lines[: -self.MAX_LINES]
        self.query_one("#event-text", Static).update(Content("\n").join(self.lines))
        self.scroll_end(animate=False)
