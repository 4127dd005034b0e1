"""``drain --wait``: poll the connection table until the drained real servers carry no client traffic.

"Done" is :mod:`lvstui.backend.traffic`'s definition, per protocol (README, "When is a
drained real server done?"): no TCP entry in a state in which data can still flow (closed
connections waiting out FIN_WAIT/TIME_WAIT/CLOSE timers do not count), no UDP or SCTP entry
left before its timeout, and, where persistence templates still send pinned clients to the
server (a persistent service with net.ipv4.vs.expire_quiescent_template at 0), no template
either.  ``--until expired`` waits until the table holds no entry of the server at all.

Each poll reads the table once for every target (one streamed pass) and prints a line when
something changed, at least every few seconds while entries count down.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable
from typing import TextIO

from lvstui.backend.conns import CONN_FILE, ConnError, format_expires
from lvstui.backend.traffic import ServerTraffic, read_servers_traffic
from lvstui.commands.errors import EXIT_FAILED, EXIT_TIMEOUT
from lvstui.model import Snapshot

__all__ = ["UNTIL", "describe", "wait_for_drain"]

UNTIL = ("done", "expired")
_TIMER = re.compile(r"\d+:\d\d")
_REPEAT = 5.0  # seconds: a countdown line at least this often while nothing else changes


def _pinning(snap: Snapshot, vs_id: str, eqt: int | None) -> bool:
    vs = snap.service(vs_id)
    return vs is not None and bool(vs.persistence_timeout) and eqt != 1


def describe(t: ServerTraffic, pinning: bool, until: str = "done") -> str:
    """What a drained real server still has, one line: flowing entries, closed ones, templates, ETA."""
    parts = []
    for p in t.protocols:
        if p.protocol == "TCP":
            if p.carrying:
                parts.append(f"TCP {p.carrying} open")
            if p.closed:
                parts.append(f"TCP {p.closed} closed (timers, up to {format_expires(p.longest_closed)})")
        else:
            if p.carrying:
                parts.append(f"{p.protocol} {p.carrying} (expire within {format_expires(p.longest_carrying)})")
            if p.closed:
                parts.append(f"{p.protocol} {p.closed} closed (up to {format_expires(p.longest_closed)})")
    if t.templates:
        text = f"{t.templates} clients pinned by persistence (up to {format_expires(t.longest_template)})"
        if pinning:
            text += (": they can still open new connections here (net.ipv4.vs.expire_quiescent_template "
                     "is 0; `lvstui expire-quiescent on` ends that)")
        parts.append(text)
    if until == "expired":
        parts.append(f"all expired in {format_expires(t.all_expired_in)}")
    else:
        eta = t.eta_for(pinning)
        parts.append("ETA unknown (open TCP connections end when their clients close)" if eta is None
                     else f"ETA {format_expires(eta)}")
    return "; ".join(parts) if t.entries else "no entries"


def wait_for_drain(read: Callable[[], Snapshot], targets: list[tuple[str, str]], *, until: str = "done",
                   timeout: float | None = None, conn_path: str = CONN_FILE,
                   eqt: Callable[[], int | None] | None = None, out: TextIO | None = None,
                   clock: Callable[[], float] = time.monotonic,
                   sleep: Callable[[float], None] = time.sleep) -> int:
    """Poll until every target is done (``until="done"``) or has no entry left (``"expired"``).

    ``read``: the director's snapshot (for the services' persistence and ids); ``eqt``: the
    sysctl's value (default: read from /proc).  Returns 0, or EXIT_TIMEOUT after ``timeout``
    seconds (one line on stderr saying what remains), EXIT_FAILED if the table cannot be read.
    """
    if eqt is None:
        from lvstui.ops.engine import expire_quiescent_template

        eqt = expire_quiescent_template
    out = out or sys.stdout
    deadline = None if timeout is None else clock() + timeout
    shown: dict[tuple[str, str], tuple[str, float]] = {}
    while True:
        started = clock()
        snap = read()
        present = [(v, r) for v, r in targets
                   if (vs := snap.service(v)) is not None and vs.real_server(r) is not None]
        try:
            traffic = read_servers_traffic(snap.virtual_services, present, conn_path)
        except ConnError as exc:
            print(f"lvstui: cannot wait for the drain: {exc}", file=sys.stderr)
            return EXIT_FAILED
        sysctl = eqt()
        remaining = {}
        for key, t in traffic.items():
            pinning = _pinning(snap, key[0], sysctl)
            finished = t.entries == 0 if until == "expired" else t.done_for(pinning)
            if not finished:
                remaining[key] = describe(t, pinning, until)
        now = clock()
        for key, text in remaining.items():
            last = shown.get(key)
            if last is None or _counts(last[0]) != _counts(text) or now - last[1] >= _REPEAT:
                print(f"waiting: {key[0]} -> {key[1]}: {text}", file=out, flush=True)
                shown[key] = (text, now)
        if not remaining:
            for key, t in traffic.items():
                if t.entries:  # what is left does not carry traffic: say so, once
                    print(f"left on {key[1]} in {key[0]} (carrying no traffic): "
                          f"{describe(t, _pinning(snap, key[0], sysctl), 'expired')}",
                          file=out, flush=True)
            print("expired: no entries left" if until == "expired" else "drained: no client traffic left",
                  file=out, flush=True)
            return 0
        if deadline is not None and now >= deadline:
            left = "; ".join(f"{k[1]} in {k[0]}: {text}" for k, text in remaining.items())
            print(f"lvstui: timed out waiting for the drain (the weight stays 0): {left}", file=sys.stderr)
            return EXIT_TIMEOUT
        # A big table costs the kernel a long walk: poll at most every second, less often when slow.
        pause = min(5.0, max(1.0, 2 * (clock() - started)))
        if deadline is not None:
            pause = max(0.0, min(pause, deadline - clock()))
        sleep(pause)


def _counts(text: str) -> str:
    """A progress line without its timers (MM:SS): what changes when an entry comes or goes."""
    return _TIMER.sub("", text)
