"""The pair on the dashboard: the other director (``--peer``), VRRP on both, split brain.

A compact panel under the header (:class:`PairPanel`): the peer's host and whether it is read
(with its age and error, one line), one line per VRRP instance with its state and priority on
both directors and who holds its VIPs, the count of differences between the two tables, and
split brain as a banner the moment a snapshot has it (from both directors' state, or from the
adverts heard here, with or without a peer).  With no peer set but one in sight (keepalived's
``unicast_peer``, or a router advertising one of our VRIDs), a line offers it.  ``b`` opens
:class:`PairScreen`: the same, and every difference (kind, ids, here, peer).

Everything here is drawn from the :class:`~lvstui.model.Snapshot` the poller already made
(:class:`lvstui.peer.source.WithPeer` fills ``peer`` in the poller's thread): nothing reads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from lvstui.model import Difference, PeerView, Snapshot, SplitBrain, VrrpInstance
from lvstui.ui.formatting import age
from lvstui.ui.plain import visible

__all__ = ["MAX_ROWS", "PairPanel", "PairScreen", "pair_lines", "pair_screen_content", "peer_offer",
           "split_brain_text"]

#: VRRP instance lines in the panel (the rest is counted: b lists them all)
PANEL_INSTANCES = 3
#: differences listed on the pair screen (the rest is counted)
MAX_ROWS = 500

_STATE_STYLE = {"MASTER": "bold $text-success", "BACKUP": "$text-primary", "FAULT": "bold $text-error"}


def split_brain_text(b: SplitBrain) -> str:
    names = f" ({', '.join(dict.fromkeys(visible(n) for n in b.instances))})" if b.instances else ""
    masters = " and ".join(visible(m) for m in b.masters)
    how = "both directors' state" if b.seen_by == "state" else "adverts heard here"
    return f"SPLIT BRAIN VRID {b.vrid}{names}: MASTER on {masters} ({how})"


def peer_offer(snap: Snapshot) -> str | None:
    """With no peer set: the routers in sight (advertising one of our VRIDs, keepalived's
    ``unicast_peer``), as a hint naming the flag; None when there is none or a peer is set."""
    if snap.peer is not None:
        return None
    ours = {v.virtual_router_id for v in snap.vrrp if v.virtual_router_id}
    heard: dict[str, list[int]] = {}
    for p in snap.vrrp_peers:
        if p.current and not p.local and p.vrid in ours and p.vrid not in heard.setdefault(p.source, []):
            heard[p.source].append(p.vrid)
    unicast = [a for a in (snap.keepalived.unicast_peers if snap.keepalived else ()) if a not in heard]
    if not heard and not unicast:
        return None
    said = [f"{visible(a)} advertises VRID {', '.join(map(str, sorted(v)))}" for a, v in heard.items()]
    said += [f"keepalived's unicast_peer {visible(a)}" for a in unicast]
    first = next(iter(heard), None) or unicast[0]
    return f"peer not set: {'; '.join(said)} (lvstui --peer {visible(first)})"


def _status(view: PeerView, keys: str, width: int | None = None) -> Content:
    """The peer on one line: host, how it is read, fresh or stale with its age, the differences, the
    error; where *width* is too narrow, the way it is read goes first, then the error is cut."""
    for compact in (0, 1):
        host = visible(view.host)
        parts: list[str | tuple[str, str]] = [("Peer ", "bold"), (host, "bold $text-accent"), " · "]
        if view.via and (compact < 1 or view.via == "ipvsadm"):
            parts += [("ipvsadm (no VRRP)" if view.via == "ipvsadm" else view.via, "$text-muted"), " · "]
        error = view.error
        if view.connecting:  # before the reader's first try ended
            parts.append(("connecting…", "$text-muted"))
            error = None
        elif view.snapshot is None:
            parts.append((" NOT READ ", "bold reverse $error"))
        elif view.stale:
            parts.append((" STALE ", "bold reverse $error"))
            parts.append((f" {age(view.age)} old" if view.age is not None else "", "bold $text-error"))
        else:
            parts.append((f"read {age(view.age or 0.0)} ago", "$text-success"))
        if view.snapshot is not None:
            n = len(view.differences)
            parts.append(" · ")
            parts.append((f"{n} difference{'s' if n != 1 else ''} ({keys})", "bold $text-warning") if n
                         else ("tables equal", "$text-success"))
        line = Content.assemble(*parts)
        if error:
            line += Content.assemble(" · ", (visible(error), "$text-error"))
        if width is None or line.cell_length <= width:
            return line
    assert width is not None
    return line[: max(width - 1, 0)] + Content("…")


def _holder(here: VrrpInstance | None, theirs: VrrpInstance | None, view: PeerView | None) -> tuple[str, str]:
    """Who holds the instance's VIPs, from the states (text, style)."""
    mine = here is not None and here.state == "MASTER"
    if view is None:
        return ("here", "bold") if mine else ("not here", "$text-muted")
    fresh = not view.stale and view.via == "lvstui"
    peer = fresh and theirs is not None and theirs.state == "MASTER"
    if mine and peer:
        return "BOTH", "bold reverse $error"
    if mine:
        return "here", "bold"
    if peer:
        return visible(view.host), "bold"
    if not fresh:
        return "not here (peer unknown)", "$text-warning"
    return "nobody", "bold $text-warning"


def _side(label: str, vi: VrrpInstance | None) -> list[str | tuple[str, str]]:
    if vi is None:
        return [(f"{label} ", "$text-muted"), ("-", "$text-muted")]
    prio = f"{vi.effective_priority}" + (f"/{vi.priority}" if vi.effective_priority != vi.priority else "")
    return [(f"{label} ", "$text-muted"), (vi.state, _STATE_STYLE.get(vi.state, "bold $text-warning")),
            f" {prio}"]


def instance_pairs(snap: Snapshot) -> list[tuple[VrrpInstance | None, VrrpInstance | None]]:
    """This director's instances beside the peer's of the same VRID (then the peer's alone)."""
    theirs = list(snap.peer.snapshot.vrrp) if snap.peer and snap.peer.snapshot else []
    out: list[tuple[VrrpInstance | None, VrrpInstance | None]] = []
    for vi in snap.vrrp:
        match = next((t for t in theirs if t.virtual_router_id == vi.virtual_router_id
                      and (vi.virtual_router_id or t.name == vi.name)), None)
        if match is not None:
            theirs.remove(match)
        out.append((vi, match))
    out += [(None, t) for t in theirs]
    return out


def _instance(here: VrrpInstance | None, theirs: VrrpInstance | None, view: PeerView | None) -> Content:
    vi = here or theirs
    assert vi is not None
    holder, style = _holder(here, theirs, view)
    vips = ", ".join(visible(v) for v in vi.vips) or "no VIP"
    parts: list[str | tuple[str, str]] = [(visible(vi.name), "bold"), f" #{vi.virtual_router_id}  ",
                                          *_side("here", here)]
    if view is not None:
        parts += ["  ", *_side(visible(view.host), theirs)]
    parts += ["  ", (vips, ""), (" on ", "$text-muted"), (holder, style)]
    return Content.assemble(*parts)


def pair_lines(snap: Snapshot | None, keys: str = "b", width: int | None = None) -> list[Content]:
    """The panel's lines (none: the panel hides): split brain first, the peer, its instances, the offer."""
    if snap is None:
        return []
    lines = [Content.styled(f" {split_brain_text(b)} ", "bold reverse $error") for b in snap.split_brain]
    view = snap.peer
    if view is not None:
        lines.append(_status(view, keys, width))
        pairs = instance_pairs(snap)
        lines += [_instance(a, b, view) for a, b in pairs[:PANEL_INSTANCES]]
        if len(pairs) > PANEL_INSTANCES:
            lines.append(Content.styled(f"… {len(pairs) - PANEL_INSTANCES} more VRRP instances ({keys})",
                                        "$text-muted"))
    elif (offer := peer_offer(snap)) is not None:
        lines.append(Content.styled(offer, "$text-muted"))
    return lines


class PairPanel(Static):
    """Shown only when it has something to say (a peer, split brain, a peer to offer)."""

    DEFAULT_CSS = "PairPanel { height: auto; padding: 0 1; background: $surface; display: none; }"

    _shown: tuple[Snapshot | None, str] = (None, "b")
    _text: str | None = None

    def show(self, snap: Snapshot | None, keys: str = "b") -> None:
        self._shown = (snap, keys)
        content = Content("\n").join(pair_lines(snap, keys, self.size.width or None))
        if content.plain == self._text:
            return  # the styles follow the words: the same text is the same panel (no layout each poll)
        self._text = content.plain
        self.display = bool(content.plain)
        self.update(content)

    def on_resize(self) -> None:
        self.show(*self._shown)


def pair_screen_content(snap: Snapshot | None) -> Content:
    """The pair screen: split brain, the peer, VRRP on both, then every difference between the tables."""
    lines: list[Content] = [Content.styled("The pair", "bold")]
    if snap is None:
        return Content("\n").join([*lines, Content.styled("  waiting for the first poll…", "$text-muted")])
    lines += [Content.styled(f"  {split_brain_text(b)}", "bold $text-error") for b in snap.split_brain]
    view = snap.peer
    if view is None:
        offer = peer_offer(snap)
        lines.append(Content.styled("  no peer set: start with lvstui --peer [USER@]HOST, or [peer] in "
                                    "config.toml", "$text-muted"))
        if offer:
            lines.append(Content.styled(f"  {offer}", "$text-muted"))
        lines += [Content("  ") + _instance(a, None, None) for a, _ in instance_pairs(snap)]
        return Content("\n").join(lines)
    lines.append(Content("  ") + _status(view, "listed below"))
    if view.via == "ipvsadm":
        lines.append(Content.styled("  the peer's table is read with ipvsadm -S -n: no VRRP, no thresholds",
                                    "$text-muted"))
    lines.append(Content(""))
    lines.append(Content.styled("VRRP", "bold"))
    pairs = instance_pairs(snap)
    lines += [Content("  ") + _instance(a, b, view) for a, b in pairs]
    if not pairs:
        lines.append(Content.styled("  no VRRP instance on either director", "$text-muted"))
    lines.append(Content(""))
    found = view.differences
    if view.snapshot is None:
        lines.append(Content.styled("Differences: the peer's table is not read yet", "bold"))
        return Content("\n").join(lines)
    lines.append(Content.styled(f"Differences between the two tables ({len(found)})"
                                + (", from the peer's last snapshot (stale)" if view.stale else ""), "bold"))
    if not found:
        lines.append(Content.styled("  none: the same services and real servers, weights, schedulers, flags",
                                    "$text-success"))
    by_service: dict[str, list[Difference]] = {}
    for d in found[:MAX_ROWS]:
        by_service.setdefault(d.ids[0], []).append(d)
    for vs_id, rows in by_service.items():
        lines.append(Content.styled(f"  {visible(vs_id)}", "bold"))
        first = max(len(visible(d.ids[1])) if len(d.ids) > 1 else len("service") for d in rows)
        kinds = max(len(d.kind) for d in rows)
        for d in rows:
            what = visible(d.ids[1]) if len(d.ids) > 1 else "service"
            lines.append(Content.assemble(
                f"    {what:<{first}}  ", (d.kind.ljust(kinds), "$text-warning"),
                ("  here ", "$text-muted"), visible(d.here) or "-", ("  peer ", "$text-muted"),
                visible(d.peer) or "-"))
    if len(found) > MAX_ROWS:
        lines.append(Content.styled(f"  … {len(found) - MAX_ROWS} more (lvstui snapshot --json --peer lists "
                                    "them all)", "$text-muted"))
    return Content("\n").join(lines)


class PairScreen(ModalScreen[None]):
    """Redrawn from ``snapshot()`` (the dashboard's current snapshot) every ``every`` seconds."""

    DEFAULT_CSS = """
    PairScreen { align: center middle; }
    PairScreen > Vertical { width: 96%; max-width: 140; height: 90%; border: thick $primary;
                            background: $surface; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,b", "close", "Close", id="pair.close")]

    def __init__(self, snapshot: Callable[[], Snapshot | None], every: float = 1.0) -> None:
        super().__init__()
        self.snapshot = snapshot
        self.every = every

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_subtitle = "Esc closes"
            with VerticalScroll():
                yield Static(id="pair-text")

    def on_mount(self) -> None:
        self.redraw()
        self.set_interval(self.every, self.redraw)

    def redraw(self) -> None:
        self.query_one("#pair-text", Static).update(pair_screen_content(self.snapshot()))

    def action_close(self) -> None:
        self.dismiss(None)
