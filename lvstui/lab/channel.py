"""The host side of the control channel to the guest's agent (see agent.py for the protocol).

Requests are JSON lines written to a pipe that UML connects to the guest's /dev/tty1;
replies come back on another pipe and are matched to callers by id, so several threads
may call at once. When the guest dies, every waiting and later call fails at once.
"""

from __future__ import annotations

import itertools
import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lvstui.lab.results import LabError

# A raw tty's input buffer holds 4 KB, and UML drops or stalls what does not fit: the
# host keeps at most WINDOW bytes on the line that the agent has not yet read (the agent
# reports every read as {"rx": N}), and requests longer than MAX_LINE go through a file
# in the shared directory.
MAX_LINE = 1024
WINDOW = 2048


@dataclass
class _Pending:
    event: threading.Event = field(default_factory=threading.Event)
    reply: dict[str, Any] | None = None


class Channel:
    def __init__(
        self, read_fd: int, write_fd: int, shared_dir: Path, describe_death: Callable[[], str]
    ) -> None:
        self._read_fd = read_fd
        self._write_fd = write_fd
        self._shared_dir = shared_dir
        self._describe_death = describe_death
        self._ids = itertools.count(1)
        self._pending: dict[int, _Pending] = {}
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._ready = threading.Event()
        self._window = threading.Condition()
        self._in_flight = 0
        self._closed = False
        self._reader = threading.Thread(target=self._read_loop, name="lab-channel", daemon=True)
        self._reader.start()

    # -- life cycle ---------------------------------------------------------------------
    def wait_ready(self, timeout: float) -> bool:
        self._ready.wait(timeout)
        return self._ready.is_set()

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Marks the channel dead and wakes every waiting caller."""
        with self._lock:
            self._closed = True
            pending = list(self._pending.values())
        self._ready.set()
        with self._window:
            self._window.notify_all()
        for p in pending:
            p.event.set()

    def _read_loop(self) -> None:
        buffer = b""
        try:
            while True:
                chunk = os.read(self._read_fd, 65536)
                if not chunk:
                    break
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    self._dispatch(line)
        except OSError:
            pass
        finally:
            self.close()

    def _dispatch(self, line: bytes) -> None:
        line = line.strip()
        if not line.startswith(b"{"):
            return  # noise before the agent put the line into raw mode
        try:
            message = json.loads(line)
        except ValueError:
            return
        if "rx" in message:
            with self._window:
                self._in_flight = max(0, self._in_flight - int(message["rx"]))
                self._window.notify_all()
            return
        if message.get("event") == "ready":
            self._ready.set()
            return
        with self._lock:
            pending = self._pending.get(message.get("id", -1))
        if pending is not None:
            pending.reply = message
            pending.event.set()

    # -- calls --------------------------------------------------------------------------
    def call(self, op: str, timeout: float, what: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
        """Sends one request and waits up to ``timeout`` seconds for its reply."""
        if self._closed:
            raise LabError(f"{what}: {self._describe_death()}")
        req_id = next(self._ids)
        pending = _Pending()
        with self._lock:
            self._pending[req_id] = pending
        try:
            self._send({**(args or {}), "id": req_id, "op": op}, timeout, what)
            if not pending.event.wait(timeout):
                raise LabError(f"{what}: no answer from the lab guest within {timeout:g} s")
            if pending.reply is None:
                raise LabError(f"{what}: {self._describe_death()}")
            if not pending.reply.get("ok"):
                raise LabError(f"{what}: {pending.reply.get('error', 'failed in the guest')}")
            return pending.reply
        finally:
            with self._lock:
                self._pending.pop(req_id, None)

    def _send(self, message: dict[str, Any], timeout: float, what: str) -> None:
        data = json.dumps(message, separators=(",", ":")).encode("ascii")
        if len(data) > MAX_LINE:
            name = f"req-{message['id']}.json"
            tmp = self._shared_dir / f".{name}.tmp"
            tmp.write_bytes(data)
            tmp.rename(self._shared_dir / name)
            data = json.dumps({"id": message["id"], "file": name}).encode("ascii")
        data += b"\n"
        with self._window:
            if not self._window.wait_for(
                lambda: self._closed or self._in_flight + len(data) <= WINDOW, timeout
            ):
                raise LabError(f"{what}: the lab guest has not read its control line for {timeout:g} s")
            if self._closed:
                raise LabError(f"{what}: {self._describe_death()}")
            self._in_flight += len(data)
        try:
            with self._write_lock:
                view = memoryview(data)
                while view:
                    view = view[os.write(self._write_fd, view) :]
        except OSError as exc:
            self.close()
            raise LabError(f"cannot reach the lab guest: {exc.strerror}") from exc
