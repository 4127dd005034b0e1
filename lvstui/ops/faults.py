"""Fault points: a test hook that makes one named write fail as a real machine's would.

Only the fault-injection tests set it; with ``LVSTUI_FAULT`` unset every :func:`point` is a
dictionary look-up and nothing else.  ``LVSTUI_FAULT=NAME:WHAT[:N]`` makes the N-th (default
the first) time the process reaches point NAME:

* ``ENOSPC``, ``EROFS``, ``EACCES`` (any errno name): raise that :class:`OSError`, as the write
  there would on a full disk, a read-only file system, a file it may not write;
* ``kill``: SIGKILL this process there (a crash, an OOM kill, a power cut between two steps);
* ``stop``: SIGSTOP this process there (a slow operation, frozen mid-way until SIGCONT: what a
  second operator meets while the first one holds the director lock).

The points, in the order an operation reaches them (see :mod:`lvstui.ops.engine`):

``journal-intent``
    the journal's *intent* entry, written before anything else changes;
``weights``
    the remembered weights (a drain remembers before the kernel; restore/weight/remove forget after);
``kernel``
    each kernel step (N counts the steps);
``track-file``
    each keepalived track file written for a durable drain/restore (N counts them);
``journal-outcome``
    the journal's outcome entry (applied, failed, undone), after the kernel changed.

A point is never reached by code that is not about to write: reading is never faulted.
"""

from __future__ import annotations

import errno
import os
import signal

__all__ = ["ENV", "POINTS", "point", "reached", "reset"]

ENV = "LVSTUI_FAULT"
POINTS = ("journal-intent", "weights", "kernel", "track-file", "journal-outcome")

_reached: dict[str, int] = {}


def _spec() -> tuple[str, str, int] | None:
    text = os.environ.get(ENV)
    if not text:
        return None
    parts = text.split(":")
    if len(parts) not in (2, 3) or parts[0] not in POINTS:
        raise ValueError(f"{ENV}={text!r}: expected POINT:ERRNO|kill[:N], POINT one of {', '.join(POINTS)}")
    nth = int(parts[2]) if len(parts) == 3 else 1
    return parts[0], parts[1], nth


def point(name: str) -> None:
    """Reached just before the write ``name`` names: fail there if ``LVSTUI_FAULT`` says so."""
    spec = _spec()
    if spec is None or spec[0] != name:
        return
    _reached[name] = _reached.get(name, 0) + 1
    if _reached[name] != spec[2]:
        return
    what = spec[1]
    if what in ("kill", "stop"):
        os.kill(os.getpid(), signal.SIGKILL if what == "kill" else signal.SIGSTOP)
        return
    code = errno.__dict__.get(what) if what.isupper() else None
    if code is None:
        raise ValueError(f"{ENV}: {what!r} is neither 'kill' nor an errno name (ENOSPC, EROFS, EACCES...)")
    raise OSError(int(code), os.strerror(int(code)))


def reset() -> None:
    """Forget how often each point was reached (for a test that runs many cases in one process)."""
    _reached.clear()


def reached(name: str) -> int:
    """How often point ``name`` was reached since the last :func:`reset` while a fault was set."""
    return _reached.get(name, 0)
