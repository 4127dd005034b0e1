"""VRRP transitions from keepalived's log: how often each instance changed state in the last
hour, and why the last change happened, where keepalived logs it.

keepalived writes ``(VI_1) Entering MASTER STATE`` (BACKUP, FAULT, ...) on every transition, and
just before it the cause: ``(VI_1) Receive advertisement timeout``, ``(VI_1) Master received
advert from 192.168.1.11 with higher priority 150, ours 100``, ``Netlink reports eth0 down``...
The reason given is the last such line before the transition (same instance, or any VRRP line
within two seconds).  Pure functions over log lines: the watcher reads them.

Time stamps: RFC 3339 (rsyslog's default on Debian, ``journalctl -o short-iso``) or the classic
syslog ``Dec  2 05:24:36`` (local time, this year).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from lvstui.model import VrrpTransition

__all__ = ["WINDOW", "transitions"]

WINDOW = timedelta(hours=1)
#: How long before a transition the line giving its cause may be.
CAUSE_SECONDS = 10
_ISO = re.compile(r"^(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?)\s")
_SYSLOG = re.compile(r"^([A-Z][a-z]{2}) +(\d{1,2}) (\d\d):(\d\d):(\d\d)\s")
_OWN = re.compile(r"^[A-Z][a-z]{2} ([A-Z][a-z]{2}) +(\d{1,2}) (\d\d):(\d\d):(\d\d)(?:\.\d+)? (\d{4}): ")
_MONTHS = {m: i for i, m in enumerate(["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
                                        "Nov", "Dec"], 1)}
_ENTER = re.compile(r"\((?P<name>[^)\s]+)\) Entering (?P<state>[A-Z]+) STATE")
_INSTANCE = re.compile(r"\((?P<name>[^)\s]+)\) (?P<text>.*)")
_VRRP = re.compile(r"Keepalived_vrrp\[\d+\]: (?P<text>.*)|^[^:]*: (?P<own>.*)")
#: lines that follow a transition rather than cause it
_EFFECTS = re.compile(r"setting VIPs|removing VIPs|gratuitous ARP|Sending/queueing|sending 0 priority|"
                      r"Entering [A-Z]+ STATE|removing protocol|Changing effective priority", re.IGNORECASE)


def _when(line: str, now: datetime) -> datetime | None:
    m = _ISO.match(line)
    if m:
        text = m.group(1).replace(" ", "T").replace("Z", "+00:00")
        try:
            at = datetime.fromisoformat(text)
        except ValueError:
            return None
        return at if at.tzinfo else at.replace(tzinfo=now.tzinfo)
    m = _OWN.match(line) or _SYSLOG.match(line)
    if not m:
        return None
    g = m.groups()
    year = int(g[5]) if len(g) > 5 else now.year
    try:
        at = datetime(year, _MONTHS[g[0]], int(g[1]), int(g[2]), int(g[3]), int(g[4]), tzinfo=now.tzinfo)
    except (KeyError, ValueError):
        return None
    if len(g) <= 5 and at > now + timedelta(days=1):  # December's lines read in January
        at = at.replace(year=year - 1)
    return at


def transitions(lines: list[str] | tuple[str, ...], now: datetime) -> tuple[VrrpTransition, ...]:
    """The transitions logged in *lines* within the hour before *now* (*now* timezone-aware),
    oldest first, each with the reason logged before it ("" where none was)."""
    out: list[VrrpTransition] = []
    last_cause: dict[str, tuple[datetime | None, str]] = {}
    last_any: tuple[datetime | None, str] = (None, "")
    for line in lines:
        at = _when(line, now)
        enter = _ENTER.search(line)
        if enter:
            if at is None or now - at > WINDOW or at > now + timedelta(minutes=5):
                continue
            name = enter.group("name")
            cause_at, reason = last_cause.pop(name, (None, ""))
            if cause_at is None or not -1 <= (at - cause_at).total_seconds() <= CAUSE_SECONDS:
                reason = ""  # an older line about the instance is not why it changed now
            if not reason and last_any[0] is not None and abs((at - last_any[0]).total_seconds()) <= 2:
                reason = last_any[1]
            out.append(VrrpTransition(at=at, instance=name, state=enter.group("state"), reason=reason))
            continue
        body = _VRRP.search(line)
        text = (body.group("text") or body.group("own") or "") if body else ""
        if not text or _EFFECTS.search(text):
            continue
        inst = _INSTANCE.match(text)
        if inst:
            last_cause[inst.group("name")] = (at, inst.group("text").strip())
        elif "Keepalived_vrrp" in line:
            last_any = (at, text.strip())
    return tuple(out)
