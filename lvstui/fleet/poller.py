"""Every director of the fleet read in the background; :meth:`FleetPoller.rows` never waits.

One reader per director (:class:`lvstui.peer.reader.PeerReader`: its own thread, one SSH
connection, the snapshot stream or ``ipvsadm -S -n``).  At most ``parallel`` of them are
connecting at once (a semaphore around the SSH connect, :class:`BoundedSshRunner`): fifty
directors do not open fifty handshakes at the same instant, and one that hangs in its
handshake holds one slot until its timeout, never the screen.  A slow or unreachable director
is the view's data (stale, its age, its error), as everywhere.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Protocol, Self

from lvstui.fleet.spec import DirectorSpec, FleetSpec
from lvstui.fleet.summary import PairRow, summarise
from lvstui.model import PeerView
from lvstui.peer.reader import PeerReader
from lvstui.setup.ssh import SshOptions, SshRunner

__all__ = ["DEFAULT_PARALLEL", "BoundedSshRunner", "FleetPoller", "Reader", "ssh_readers"]

DEFAULT_PARALLEL = 8


class Reader(Protocol):
    """What the fleet needs of a director's reader (PeerReader, or the demo's)."""

    def start(self) -> Self: ...

    def view(self) -> PeerView: ...

    def close(self) -> None: ...


class BoundedSshRunner(SshRunner):
    """An SshRunner whose connect waits for a slot of *gate* (held only while connecting)."""

    def __init__(self, target: str, options: SshOptions, *, gate: threading.Semaphore) -> None:
        super().__init__(target, options)
        self._gate = gate

    def connect(self) -> None:
        with self._gate:
            super().connect()


def ssh_readers(base: SshOptions, *, interval: float, parallel: int,
                gate: threading.Semaphore | None = None) -> Callable[[DirectorSpec], Reader]:
    """A factory of PeerReaders for the fleet file's directors: *base* (known_hosts, timeout...)
    with each director's identity, port and host-key choice; at most *parallel* connecting (the
    slots are *gate*'s where one is given)."""
    gate = gate or threading.Semaphore(max(1, parallel))

    def connect(target: str, options: SshOptions) -> SshRunner:
        return BoundedSshRunner(target, options, gate=gate)

    def make(d: DirectorSpec) -> Reader:
        options = replace(base, identity=d.identity or base.identity, port=d.port or base.port,
                          accept_new_host_key=d.accept_new_host_key or base.accept_new_host_key)
        return PeerReader(d.target, options, command=d.command, interval=interval, connect=connect)

    return make


class FleetPoller:
    """The fleet's readers, started together (their connects bounded by the factory)."""

    def __init__(self, spec: FleetSpec, make_reader: Callable[[DirectorSpec], Reader]) -> None:
        self.spec = spec
        self.readers: dict[str, Reader] = {d.key: make_reader(d) for d in spec.directors}
        self._started = False

    def start(self) -> Self:
        if not self._started:
            self._started = True
            for reader in self.readers.values():
                reader.start()
        return self

    def views(self, pair: str) -> tuple[PeerView, ...]:
        p = next(p for p in self.spec.pairs if p.name == pair)
        return tuple(self.readers[d.key].view() for d in p.directors)

    def rows(self) -> tuple[PairRow, ...]:
        """Every pair's row now, in the file's order (each reader's view() returns at once)."""
        return tuple(summarise(p, tuple(self.readers[d.key].view() for d in p.directors))
                     for p in self.spec.pairs)

    def close(self) -> None:
        """Stop every reader: all are told first, then each is joined (no director waits on another)."""
        threads = [threading.Thread(target=r.close, daemon=True) for r in self.readers.values()]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
