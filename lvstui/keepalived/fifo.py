"""keepalived's notify FIFOs: line parsers and a non-blocking reader.

``vrrp_notify_fifo`` lines: ``INSTANCE "VI_1" MASTER 150`` (also GROUP, and with
``notify_priority_changes`` MASTER_PRIORITY/BACKUP_PRIORITY); ``lvs_notify_fifo``
lines: ``VS [192.168.1.100]:tcp:80 UP`` and
``RS [192.168.1.14]:tcp:80 [192.168.1.100]:tcp:80 DOWN``; ``notify_fifo`` mixes
both.  Newer builds may end a line with a NUL.  Events are a trigger to look at
the dumps again (see :mod:`lvstui.keepalived.runtime`), never the whole truth:
nothing is written for what does not change, and events sent while nobody reads
are lost.
"""

from __future__ import annotations

import errno
import os
import re
import select
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from lvstui.model import format_endpoint

__all__ = [
    "FifoTail",
    "LvsEvent",
    "VrrpEvent",
    "parse_fifo_line",
    "parse_lvs_fifo_line",
    "parse_vrrp_fifo_line",
]


@dataclass(frozen=True, slots=True)
class VrrpEvent:
    """``INSTANCE "VI_1" MASTER 150``: kind INSTANCE or GROUP, state, priority."""

    kind: str
    name: str
    state: str  # MASTER BACKUP FAULT STOP DELETED MASTER_RX_LOWER_PRI MASTER_PRIORITY BACKUP_PRIORITY
    priority: int | None


@dataclass(frozen=True, slots=True)
class LvsEvent:
    """``VS [192.168.1.100]:tcp:80 UP`` or ``RS [rs]:tcp:80 [vs]:tcp:80 DOWN``."""

    kind: str  # "VS" or "RS"
    up: bool
    protocol: str | None  # tcp, udp, sctp; None for fwmark services
    vs_address: str | None
    vs_port: int | None
    fwmark: int | None = None
    rs_address: str | None = None
    rs_port: int | None = None

    @property
    def vs_key(self) -> str:
        if self.fwmark is not None:
            return f"fwmark:{self.fwmark}"
        return f"{self.protocol}:{format_endpoint(self.vs_address or '', self.vs_port or 0)}"


_VRRP_RE = re.compile(r'^(INSTANCE|GROUP)\s+"((?:[^"\\]|\\.)*)"\s+([A-Z_]+)(?:\s+(-?\d+))?$')
_EP = r"\[([^\]]*)\]:(\w+):(\d+)|FWM\s*(\d+)|fwmark:(\d+)"
_EP_RE = re.compile(_EP)


def _clean(line: str | bytes) -> str:
    if isinstance(line, bytes):
        line = line.decode("utf-8", "replace")
    return line.replace("\0", "").strip()


def parse_vrrp_fifo_line(line: str | bytes) -> VrrpEvent | None:
    """Parse one VRRP notify FIFO line; None if it is not one (a trailing NUL is ignored)."""
    m = _VRRP_RE.match(_clean(line))
    if not m:
        return None
    prio = int(m.group(4)) if m.group(4) is not None else None
    return VrrpEvent(kind=m.group(1), name=m.group(2).replace('\\"', '"'), state=m.group(3), priority=prio)


def _endpoint(text: str) -> tuple[str | None, str | None, int | None, int | None]:
    m = _EP_RE.fullmatch(text)
    if not m:
        raise ValueError(text)
    if m.group(1) is not None:
        return m.group(1), m.group(2).lower(), int(m.group(3)), None
    return None, None, None, int(m.group(4) or m.group(5))


def parse_lvs_fifo_line(line: str | bytes) -> LvsEvent | None:
    text = _clean(line)
    parts = text.split()
    if len(parts) < 3 or parts[0] not in ("VS", "RS") or parts[-1] not in ("UP", "DOWN"):
        return None
    eps = parts[1:-1]
    try:
        if parts[0] == "VS" and len(eps) == 1:
            addr, proto, port, fwm = _endpoint(eps[0])
            return LvsEvent("VS", parts[-1] == "UP", proto, addr, port, fwm)
        if parts[0] == "RS" and len(eps) == 2:
            raddr, rproto, rport, _ = _endpoint(eps[0])
            vaddr, vproto, vport, fwm = _endpoint(eps[1])
            return LvsEvent("RS", parts[-1] == "UP", vproto or rproto, vaddr, vport, fwm, raddr, rport)
    except ValueError:
        return None
    return None


def parse_fifo_line(line: str | bytes) -> VrrpEvent | LvsEvent | None:
    """A line of the common ``notify_fifo`` (VRRP and LVS events mixed)."""
    return parse_vrrp_fifo_line(line) or parse_lvs_fifo_line(line)


class FifoTail:
    """Reads complete lines from a FIFO without blocking and without holding keepalived up.

    keepalived creates the FIFO if needed and opens it read-write and non-blocking
    (core/notify.c), so it never waits for a reader and lvstui may come and go.
    Opened read-only and non-blocking here; when keepalived closes its end (a
    restart), the FIFO is reopened on the next :meth:`poll`.  Use as a context manager.
    """

    #: a line longer than this is no keepalived notification: it is dropped, unread into memory
    MAX_LINE = 64 * 1024

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._fd: int | None = None
        self._buf = b""
        self.error: str | None = None  # why the path is not read (a planted link or file), as data

    def __enter__(self) -> Self:
        try:
            self.open()
        except FileNotFoundError:
            pass  # not there yet: poll() keeps trying
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        """Open the FIFO; a link or anything but a FIFO at the path is refused (:attr:`error`)."""
        if self._fd is not None:
            return
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOFOLLOW)
        except OSError as exc:
            if exc.errno != errno.ELOOP:
                raise
            self.error = f"{self.path}: a symbolic link, not keepalived's FIFO: not read"
            return
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):
            os.close(fd)
            self.error = f"{self.path}: not a FIFO (a planted file?): not read"
            return
        self._fd, self.error = fd, None

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def poll(self, timeout: float = 0.0) -> list[VrrpEvent | LvsEvent]:
        """Events of the lines complete within ``timeout`` seconds (unknown lines are dropped).

        A missing FIFO is not an error: keepalived removes the FIFO it created when it
        closes it (reload, stop) and makes a new one; we wait and open that one.
        """
        try:
            self.open()
        except FileNotFoundError:
            time.sleep(timeout)
            return []
        if self._fd is None:  # refused: self.error says why
            time.sleep(timeout)
            return []
        ready, _, _ = select.select([self._fd], [], [], timeout)
        if ready:
            try:
                data = os.read(self._fd, 65536)
            except BlockingIOError:
                data = None
            if data == b"":  # every writer closed: reopen so the next writer is seen
                self.close()
            elif data:
                self._buf += data
                if b"\n" not in self._buf and len(self._buf) > self.MAX_LINE:
                    self._buf = b""
        events: list[VrrpEvent | LvsEvent] = []
        while b"\n" in self._buf:
            line, self._buf = self._buf.split(b"\n", 1)
            event = parse_fifo_line(line)
            if event is not None:
                events.append(event)
        return events
