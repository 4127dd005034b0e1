"""Locks that let two lvstui processes (two operators) drive one director without losing work.

A lock is an ``flock`` on a file in lvstui's state directory (``locks/NAME.lock``); the file
holds who has it (operation, operator, pid, since), so the second operator is told
``busy: drain tcp:10.0.0.1:80 by alice (pid 4242) since 2026-12-02 01:02:03`` and nothing is
changed.  The kernel drops an flock when its process dies, so a killed lvstui never leaves a
lock behind.  Within one process a lock is re-entrant for the thread that holds it; another
thread of the same process sees it busy, like another process would.  A lock is its file:
the same name in another directory (another director's state, as a test's second director
has it) is another lock.

Names: :data:`DIRECTOR` for the IPVS table of this network namespace and what lvstui
remembers about it; :func:`config_lock_name` for one keepalived configuration (its real path).
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from lvstui.ops.journal import operator_name, state_dir

__all__ = ["DIRECTOR", "Busy", "config_lock_name", "held"]

DIRECTOR = "director"
_POLL = 0.02


class Busy(Exception):
    """Another operator holds the lock; the message is one line for the operator."""


@dataclass
class _Held:
    fd: int
    thread: int
    depth: int
    holder: str


_held: dict[str, _Held] = {}
_guard = threading.Lock()


def config_lock_name(path: str | os.PathLike[str]) -> str:
    """The lock of one keepalived configuration: the same for every path that leads to it."""
    real = os.path.realpath(os.fspath(path))
    digest = hashlib.sha256(real.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    return f"keepalived-{digest}"


def _holder_line(info: str) -> str:
    try:
        data = json.loads(info)
        return (f"{data['operation']} by {data['operator']} (pid {data['pid']}) "
                f"since {data['since']}")
    except (ValueError, KeyError, TypeError):
        return "another lvstui (it did not say what)"


def _read_holder(fd: int) -> str:
    try:
        return os.pread(fd, 4096, 0).decode("utf-8", "replace")
    except OSError:
        return ""


def _open(path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise Busy(f"lock {path} is a symbolic link: refusing it (remove it if you did not make it)") from exc
        raise OSError(f"cannot open lock {path}: {exc.strerror}") from exc


@contextmanager
def held(name: str, operation: str, *, wait: float = 0.0, directory: Path | None = None) -> Iterator[None]:
    """Holds lock ``name`` for ``operation`` (what the other operator is told); waits up to
    ``wait`` seconds for it, then raises :class:`Busy`.  Short read-modify-write sections
    (the remembered weights) pass a few seconds; an operation that would overwrite another
    operator's work passes 0: the second one is refused, not queued."""
    me = threading.get_ident()
    path = (directory or state_dir() / "locks") / f"{name}.lock"
    key = str(path)
    with _guard:
        mine = _held.get(key)
        if mine is not None and mine.thread == me:
            mine.depth += 1
            reentered = True
        else:
            reentered = False
    if reentered:
        try:
            yield
        finally:
            with _guard:
                mine = _held[key]
                mine.depth -= 1
        return

    deadline = time.monotonic() + wait
    while True:
        with _guard:
            other = _held.get(key)
        if other is None:
            fd = _open(path)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = _holder_line(_read_holder(fd))
                os.close(fd)
        else:
            holder = other.holder
        if time.monotonic() >= deadline:
            raise Busy(f"busy: {holder}")
        time.sleep(_POLL)

    since = time.strftime("%Y-%m-%d %H:%M:%S")
    info = {"operation": operation, "operator": operator_name(), "pid": os.getpid(), "since": since}
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
    except OSError:
        pass  # the lock holds without its note; the other operator is told less
    entry = _Held(fd=fd, thread=me, depth=1, holder=_holder_line(json.dumps(info)))
    with _guard:
        _held[key] = entry
    try:
        yield
    finally:
        with _guard:
            del _held[key]
        try:
            os.ftruncate(fd, 0)
        except OSError:
            pass
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
