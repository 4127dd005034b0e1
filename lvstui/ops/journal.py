"""The audit journal (one JSON object per line) and the weights remembered for restore.

Both live in lvstui's state directory: ``$LVSTUI_STATE_DIR`` if set, else
``/var/lib/lvstui`` for root, else ``$XDG_STATE_HOME/lvstui`` (``~/.local/state/lvstui``).

A write that fails (disk full, read-only file system, permissions) raises :class:`StateError`,
an :class:`OSError` whose message is the one line to show (``cannot write the journal P: No
space left on device``); a journal line is written whole or not at all, so a failed append
never leaves half a line for the next one to be glued to.  The remembered weights are
updated as a read-modify-write under a lock, so two lvstui processes never lose each
other's entries.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import io
import json
import os
import secrets
import socket
import stat
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lvstui.ops import faults


class StateError(OSError):
    """lvstui's journal or remembered weights cannot be read or written; ``str()`` is one line."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code

    def __str__(self) -> str:
        return str(self.args[0])


def _why(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "it is a symbolic link, which lvstui does not follow in its state directory (remove it)"
    return exc.strerror or str(exc)


def _open_state(path: Path, flags: int, mode: int = 0o640) -> int:
    """A file of lvstui's state directory, opened as root without following a link planted there,
    and only if it is a regular file (a FIFO would hang, a device be read or written)."""
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, mode)
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a FIFO opened for writing with no reader
            raise OSError(errno.EINVAL, "not a regular file") from exc
        raise
    try:
        kind = os.fstat(fd).st_mode
        if stat.S_ISDIR(kind):
            raise OSError(errno.EISDIR, os.strerror(errno.EISDIR))
        if not stat.S_ISREG(kind):
            raise OSError(errno.EINVAL, "not a regular file")
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _read_state(path: Path) -> io.TextIOWrapper:
    return open(_open_state(path, os.O_RDONLY), encoding="utf-8", errors="replace")


def state_dir() -> Path:
    env = os.environ.get("LVSTUI_STATE_DIR")
    if env:
        return Path(env)
    if os.geteuid() == 0:
        return Path("/var/lib/lvstui")
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "lvstui"


def operator_name() -> str:
    """Who is acting: the sudo caller if any, else the login name."""
    for var in ("SUDO_USER", "USER", "LOGNAME"):
        if os.environ.get(var):
            return os.environ[var]
    return str(os.geteuid())


class Journal:
    """Append-only audit log: every operation attempted, refused, applied or failed."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or state_dir() / "journal.jsonl"

    def record(self, **entry: Any) -> dict[str, Any]:
        """Append one entry; it gets an ``id`` (8 hex digits) that ``lvstui undo ID`` can name.

        Raises :class:`StateError` when the line cannot be written whole (the file is then as it was)."""
        return self._append(entry, "journal-outcome")

    def record_intent(self, **entry: Any) -> dict[str, Any]:
        """:meth:`record` for the intent written before a change (its own fault point)."""
        return self._append(entry, "journal-intent")

    def _append(self, entry: dict[str, Any], fault: str) -> dict[str, Any]:
        full = {
            "id": secrets.token_hex(4),
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "host": socket.gethostname(),
            "operator": operator_name(),
            **entry,
        }
        line = (json.dumps(full, sort_keys=False) + "\n").encode()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = _open_state(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        except OSError as exc:
            raise StateError(f"cannot write the journal {self.path}: {_why(exc)}", exc.errno) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # one appender at a time, so a failed one can cut its own part
            size = os.fstat(fd).st_size
            try:
                faults.point(fault)
                written = os.write(fd, line)
                if written != len(line):
                    raise OSError(errno.ENOSPC, f"short write ({written} of {len(line)} bytes)")
                os.fsync(fd)
            except OSError as exc:
                try:
                    os.ftruncate(fd, size)
                except OSError:
                    pass
                raise StateError(f"cannot write the journal {self.path}: {_why(exc)}", exc.errno) from exc
        finally:
            os.close(fd)
        return full

    def find(self, entry_id: str) -> dict[str, Any] | None:
        return next((e for e in self.entries() if e.get("id") == entry_id), None)

    def lines(self) -> Iterator[str]:
        """The journal's lines as text (for a fast scan); raises :class:`StateError` if unreadable."""
        try:
            with _read_state(self.path) as fh:
                yield from fh
        except FileNotFoundError:
            return
        except OSError as exc:
            raise StateError(f"cannot read the journal {self.path}: {_why(exc)}", exc.errno) from exc

    def entries(self) -> Iterator[dict[str, Any]]:
        """Every entry, oldest first; a line that is not a JSON object (a torn write by another
        program, an edit by hand) is skipped.  Raises :class:`StateError` if it cannot be read."""
        try:
            with _read_state(self.path) as fh:
                for line in fh:
                    line = line.strip()
                    if not line:
                        continue
                    try:
                        entry = json.loads(line)
                    except ValueError:
                        continue
                    if isinstance(entry, dict):
                        yield entry
        except FileNotFoundError:
            return
        except OSError as exc:
            raise StateError(f"cannot read the journal {self.path}: {_why(exc)}", exc.errno) from exc


class WeightMemory:
    """The weight each drained real server had, so restore can put it back (survives restarts)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or state_dir() / "weights.json"

    def _load(self) -> dict[str, int]:
        try:
            with _read_state(self.path) as fh:
                data = json.load(fh)
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise StateError(f"cannot read the remembered weights {self.path}: {_why(exc)}", exc.errno) from exc
        except ValueError as exc:
            raise StateError(f"{self.path}: the remembered weights are not valid JSON ({exc}): fix or "
                             "remove the file") from exc
        if not isinstance(data, dict) or not all(
                isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 2147483647 for v in data.values()):
            raise StateError(f"{self.path}: the remembered weights must be a JSON object of weights "
                             "(0-2147483647): fix or remove the file")
        return {str(k): int(v) for k, v in data.items()}

    @staticmethod
    def key(vs_id: str, rs_id: str) -> str:
        return f"{vs_id} {rs_id}"

    def get(self, vs_id: str, rs_id: str) -> int | None:
        return self._load().get(self.key(vs_id, rs_id))

    def _lock_name(self) -> str:
        real = os.path.realpath(self.path)
        return "weights-" + hashlib.sha256(real.encode("utf-8", "surrogateescape")).hexdigest()[:16]

    def update(self, remember: dict[tuple[str, str], int], forget: list[tuple[str, str]], *,
               only_new: bool = False, wait: float = 5.0) -> dict[tuple[str, str], int]:
        """Remember and forget weights: one read-modify-write under a lock (another lvstui waits up
        to ``wait`` seconds, then :class:`lvstui.ops.lock.Busy`).  ``only_new``: keep a weight
        already remembered (a second drain must not forget the first one's).  Returns what was
        remembered.  Raises :class:`StateError` when the file cannot be read or written (it is
        then as it was)."""
        from lvstui.ops.lock import held  # lock.py imports this module for state_dir()

        with held(self._lock_name(), "update remembered weights", wait=wait,
                  directory=self.path.parent / "locks"):
            data = self._load()
            added: dict[tuple[str, str], int] = {}
            for (vs_id, rs_id), weight in remember.items():
                if only_new and self.key(vs_id, rs_id) in data:
                    continue
                data[self.key(vs_id, rs_id)] = weight
                added[(vs_id, rs_id)] = weight
            for vs_id, rs_id in forget:
                data.pop(self.key(vs_id, rs_id), None)
            self._write(data)
            return added

    def forget_if(self, remembered: dict[tuple[str, str], int], wait: float = 5.0) -> None:
        """Forget the entries that still hold the weights given (undoing an update's ``remember``)."""
        from lvstui.ops.lock import held

        with held(self._lock_name(), "update remembered weights", wait=wait,
                  directory=self.path.parent / "locks"):
            data = self._load()
            keys = [self.key(*k) for k, w in remembered.items() if data.get(self.key(*k)) == w]
            if not keys:
                return
            for k in keys:
                del data[k]
            self._write(data)

    def _write(self, data: dict[str, int]) -> None:
        tmp: str | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            faults.point("weights")
            fd, tmp = tempfile.mkstemp(prefix=".weights.", dir=self.path.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, indent=1, sort_keys=True)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
            tmp = None
        except OSError as exc:
            raise StateError(f"cannot write the remembered weights {self.path}: {_why(exc)}", exc.errno) from exc
        finally:
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)

    def all(self) -> dict[str, int]:
        return self._load()
