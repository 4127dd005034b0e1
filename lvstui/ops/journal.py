"""The audit journal (one JSON object per line) and the weights remembered for restore.

Both live in lvstui's state directory: ``$LVSTUI_STATE_DIR`` if set, else
``/var/lib/lvstui`` for root, else ``$XDG_STATE_HOME/lvstui`` (``~/.local/state/lvstui``).
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


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
        """Append one entry; it gets an ``id`` (8 hex digits) that ``lvstui undo ID`` can name."""
        full = {
            "id": secrets.token_hex(4),
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "host": socket.gethostname(),
            "operator": operator_name(),
            **entry,
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(full, sort_keys=False) + "\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(fd, line.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        return full

    def find(self, entry_id: str) -> dict[str, Any] | None:
        return next((e for e in self.entries() if e.get("id") == entry_id), None)

    def entries(self) -> Iterator[dict[str, Any]]:
        try:
            with open(self.path, encoding="utf-8") as fh:
                for line in fh:
                    line = line.strip()
                    if line:
                        yield json.loads(line)
        except FileNotFoundError:
            return


class WeightMemory:
    """The weight each drained real server had, so restore can put it back (survives restarts)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or state_dir() / "weights.json"

    def _load(self) -> dict[str, int]:
        try:
            with open(self.path, encoding="utf-8") as fh:
                data = json.load(fh)
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise OSError(f"cannot read remembered weights from {self.path}: {exc}") from exc
        return {str(k): int(v) for k, v in data.items()}

    @staticmethod
    def key(vs_id: str, rs_id: str) -> str:
        return f"{vs_id} {rs_id}"

    def get(self, vs_id: str, rs_id: str) -> int | None:
        return self._load().get(self.key(vs_id, rs_id))

    def update(self, remember: dict[tuple[str, str], int], forget: list[tuple[str, str]]) -> None:
        data = self._load()
        for (vs_id, rs_id), weight in remember.items():
            data[self.key(vs_id, rs_id)] = weight
        for vs_id, rs_id in forget:
            data.pop(self.key(vs_id, rs_id), None)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".weights.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, indent=1, sort_keys=True)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def all(self) -> dict[str, int]:
        return self._load()
