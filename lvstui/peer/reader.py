"""Reading the peer director over SSH, in the background: the caller never waits on the network.

One thread per peer keeps one SSH connection (the wizards' paramiko layer, its host-key policy:
an unknown key is refused unless accepted explicitly, a changed one always).  Where lvstui is
installed on the peer (``COMMAND --version`` answers), its ``snapshot --json --repeat`` stream
(NDJSON, one document per interval) is read over one channel; otherwise ``ipvsadm -S -n`` is
polled (the table without counters, thresholds or VRRP).  Whatever fails (no route, refused key,
sudo, a stream that stops, a document that does not parse) becomes the view's error, the last
snapshot is kept and marked stale with its age, and the connection is tried again.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Self

from lvstui.model import PeerView, Snapshot
from lvstui.ops.rules import parse_rules
from lvstui.ops.targets import InvalidInput
from lvstui.peer.decode import PeerDataError, snapshot_from_dict
from lvstui.setup.runner import RunnerError
from lvstui.setup.ssh import SshOptions, SshRunner

__all__ = ["PeerReader"]

RETRY_SECONDS = 5.0
#: how long the first document of the stream may take: the peer's lvstui starts, finds keepalived
#: and reads its whole table (seconds on a loaded director with thousands of services); later
#: documents come every interval, so a shorter silence (``stall``) already means trouble
FIRST_DOCUMENT_SECONDS = 60.0


class PeerReader:
    """The peer's latest snapshot, read by a daemon thread; :meth:`view` never blocks."""

    def __init__(self, target: str, options: SshOptions | None = None, *, command: Sequence[str] = ("lvstui",),
                 interval: float = 1.0, connect: Callable[[str, SshOptions], SshRunner] | None = None,
                 clock: Callable[[], float] = time.monotonic, first_wait: float = FIRST_DOCUMENT_SECONDS,
                 stall: float | None = None) -> None:
        self.target = target
        self.options = options or SshOptions()
        self.command = tuple(command)
        self.interval = max(0.2, interval)
        self.stall = stall if stall is not None else max(10.0, 5 * self.interval)
        self.first_wait = max(first_wait, self.stall)
        self.stale_after = max(3 * self.interval, 5.0)
        self._connect = connect or SshRunner
        self._clock = clock
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._snapshot: Snapshot | None = None
        self._read_at: float | None = None
        self._error: str | None = None
        self._reachable = False
        self._via = ""
        self._tries = 0
        self._runner: SshRunner | None = None
        self._thread = threading.Thread(target=self._run, name=f"lvstui peer {target}", daemon=True)

    # -- what callers see ---------------------------------------------------
    def start(self) -> Self:
        self._thread.start()
        return self

    def view(self) -> PeerView:
        with self._lock:
            now = self._clock()
            age = None if self._read_at is None else max(0.0, now - self._read_at)
            stale = age is None or age > self.stale_after or self._error is not None
            error = self._error
            if error is None and stale and age is not None:
                error = f"no snapshot from {self.target} for {age:.0f} s"
            elif error is None and self._tries == 0:
                error = "not read yet"
            return PeerView(host=self.target, reachable=self._reachable, error=error, snapshot=self._snapshot,
                            read_at=self._read_at, age=age, stale=stale, via=self._via,
                            connecting=self._tries == 0 and self._read_at is None)

    def wait(self, timeout: float) -> PeerView:
        """The view once the first read succeeded or failed (or *timeout* passed): for one-shot use."""
        deadline = self._clock() + timeout
        with self._changed:
            while self._tries == 0 and self._read_at is None and (left := deadline - self._clock()) > 0:
                self._changed.wait(min(left, 0.5))
        return self.view()

    def close(self) -> None:
        self._stop.set()
        runner = self._runner
        if runner is not None:
            runner.close()  # ends a blocked stream read at once
        if self._thread.is_alive():
            self._thread.join(timeout=self.options.timeout + 1)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the thread ---------------------------------------------------------
    def _publish(self, snapshot: Snapshot | None = None, error: str | None = None, *,
                 reachable: bool | None = None, via: str | None = None) -> None:
        with self._changed:
            if snapshot is not None:
                self._snapshot, self._read_at = snapshot, self._clock()
            self._error = error
            if reachable is not None:
                self._reachable = reachable
            if via is not None:
                self._via = via
            self._tries += 1
            self._changed.notify_all()

    def _run(self) -> None:
        while not self._stop.is_set():
            runner = None
            try:
                runner = self._connect(self.target, self.options)
                self._runner = runner
                runner.connect()
                if self._stop.is_set():
                    break
                if runner.run([*self.command, "--version"], timeout=self.options.timeout).ok:
                    self._stream(runner)
                else:
                    self._poll(runner)
            except RunnerError as exc:
                if not self._stop.is_set():
                    self._publish(error=str(exc), reachable=False)
            except (PeerDataError, InvalidInput) as exc:
                if not self._stop.is_set():
                    self._publish(error=f"{self.target}: unreadable answer: {exc}", reachable=True)
            finally:
                self._runner = None
                if runner is not None:
                    runner.close()
            self._stop.wait(RETRY_SECONDS)

    def _stream(self, runner: SshRunner) -> None:
        argv = [*self.command, "snapshot", "--json", "--repeat", "1000000000", "--interval", f"{self.interval:g}"]
        for line in runner.stream(argv, stall=self.stall, first=self.first_wait):
            if self._stop.is_set():
                return
            try:
                doc = json.loads(line)
            except (ValueError, UnicodeDecodeError) as exc:
                raise PeerDataError(f"not JSON ({exc})") from None
            self._publish(snapshot_from_dict(doc), reachable=True, via="lvstui")
        raise RunnerError(f"{self.target}: its snapshot stream ended")

    def _poll(self, runner: SshRunner) -> None:
        while not self._stop.is_set():
            r = runner.run(["ipvsadm", "-S", "-n"], timeout=self.options.timeout)
            if not r.ok:
                raise RunnerError(f"{self.target}: ipvsadm -S -n: {r.output or f'exit {r.rc}'}"
                                  " (neither lvstui nor ipvsadm answers there)")
            saved = parse_rules(r.stdout, f"{self.target}:ipvsadm -S -n")
            services = tuple(replace(s.vs, real_servers=tuple(x.rs for x in s.servers)) for s in saved)
            self._publish(Snapshot(director=self.target, taken_at=datetime.now(UTC), source="ipvsadm",
                                   virtual_services=services), reachable=True, via="ipvsadm")
            self._stop.wait(self.interval)
