"""The director as a whole: the kernel's IPVS table composed with keepalived's view of it.

:class:`DirectorSource` is a :class:`~lvstui.backend.SnapshotSource`: each ``read()`` reads
the kernel (netlink, every poll) and merges keepalived's state (:mod:`lvstui.keepalived.state`).

Which of keepalived's interfaces, and why (Debian's 2.2.7; see ``runtime.py``):

* **The DATA dump** (a signal, then /tmp/keepalived_check.data and keepalived.data) is the
  only complete picture of the checkers (alive, failed checkers, inhibited, "RS set"), so
  it is the source of truth.  It costs a signal, a file write by keepalived and a parse:
  not something to do on every 1 s poll of a large table.
* **The JSON dump** gives VRRP numerically (state, base/effective priority, the master's
  priority heard); preferred for VRRP, the DATA dump being the fallback.
* **Triggers for a new dump**, so that a poll normally signals nothing: (1) the first
  poll, (2) a line on a notify FIFO when the configuration has one (events as they
  happen; alone they are not the truth: nothing is written for what does not change and
  lines are lost while nobody reads), (3) a change in the kernel table of a service
  keepalived manages: every checker action (removal, re-add, inhibit) shows there first,
  which needs no FIFO at all, (4) keepalived's processes changed (restart, reload), its
  configuration files changed, and (5) a slow period (``refresh``, 5 s) for what has no
  trigger (a VRRP priority change without FIFO, a failed-checker count).
* **DBus** is read-only VRRP state, optional on builds, and adds nothing the JSON dump lacks.
* **VRRP adverts** on the wire (:mod:`lvstui.keepalived.vrrp_adverts`, a daemon thread):
  which router holds each VRID and at what priority, the peer director included.

Several keepalived on one machine (one per network namespace): the one whose network
namespace is ours is used; its dumps are read through /proc/PID/root (its own /tmp).
Every failure becomes data in ``Snapshot.keepalived`` (status and errors), never an
exception: only a kernel read failure raises (BackendError), as for the plain kernel source.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Self

from lvstui.backend import SnapshotSource
from lvstui.capabilities import Capabilities
from lvstui.model import KeepalivedHealth, Snapshot, VrrpPeer

if TYPE_CHECKING:
    from lvstui.keepalived.fifo import FifoTail
    from lvstui.keepalived.loader import KeepalivedConfig
    from lvstui.keepalived.processes import KeepalivedProcess
    from lvstui.keepalived.runtime import RuntimeState
    from lvstui.keepalived.view import ConfigView
    from lvstui.keepalived.vrrp_adverts import AdvertListener

__all__ = ["DirectorSource", "KeepalivedWatcher", "local_keepalived", "make_source", "own_netns_inode"]

DEFAULT_CONF = "/etc/keepalived/keepalived.conf"


def own_netns_inode() -> int | None:
    try:
        return os.stat("/proc/self/ns/net").st_ino
    except OSError:
        return None


def local_keepalived() -> list[KeepalivedProcess]:
    """The keepalived parents running in our network namespace (each a KeepalivedProcess)."""
    from lvstui.keepalived.processes import find_keepalived_processes

    ours = own_netns_inode()
    return [p for p in find_keepalived_processes() if ours is None or p.netns_inode in (None, ours)]


def proc_path(pid: int, path: str) -> Path:
    """``path`` as process ``pid`` sees it (its root may differ from ours)."""
    try:
        theirs, mine = os.stat(f"/proc/{pid}/root"), os.stat("/")
        if (theirs.st_dev, theirs.st_ino) != (mine.st_dev, mine.st_ino):
            return Path(f"/proc/{pid}/root") / path.lstrip("/")
    except OSError:
        pass
    return Path(path)


class KeepalivedWatcher:
    """keepalived's state for this network namespace, refreshed only when something says so."""

    def __init__(
        self,
        refresh: float = 5.0,
        log_every: float = 10.0,
        adverts: bool = True,
        log_lines: int = 20,
        dump_timeout: float = 3.0,
    ) -> None:
        self.refresh = refresh
        self.log_every = log_every
        self.log_count = log_lines
        self.dump_timeout = dump_timeout
        self.dumps = 0  # how many times keepalived was signalled (for tests and measurements)
        self._proc: KeepalivedProcess | None = None
        self._scan_at = -1e9
        self._conf_stamp: tuple[tuple[str, int, int], ...] | None = None
        self._view: ConfigView | None = None
        self._cfg: KeepalivedConfig | None = (
            None  # the loaded KeepalivedConfig (its files are stat'ed each poll)
        )
        self._view_error: str | None = None
        self._runtime: RuntimeState | None = None
        self._dump_at = -1e9
        self._state_at: datetime | None = None
        self._kernel_sig: object = None
        self._fifos: list[FifoTail] = []
        self._logs: tuple[str, list[str], str | None] = ("", [], None)
        self._log_at = -1e9
        self._listener: AdvertListener | None = None
        if adverts:
            from lvstui.keepalived.vrrp_adverts import AdvertListener

            self._listener = AdvertListener().start()

    def close(self) -> None:
        for fifo in self._fifos:
            fifo.close()
        self._fifos = []
        if self._listener is not None:
            self._listener.close()

    # -- pieces -------------------------------------------------------------------------------------------

    def _find(self, now: float) -> bool:
        """Keep track of our keepalived; True when it changed (started, restarted, stopped)."""
        from lvstui.keepalived.state import _alive

        proc = self._proc
        if proc is not None and _alive(proc.parent_pid):
            return False
        if proc is None and now - self._scan_at < 2.0:
            return False
        self._scan_at = now
        found = local_keepalived()
        new = found[0] if found else None
        changed = (new is None) != (proc is None) or (
            new is not None and proc is not None and new.parent_pid != proc.parent_pid
        )
        self._proc = new
        if changed:
            self._conf_stamp = None
            self._runtime = None
            self._open_fifos()
        return changed

    def _config_files(self) -> list[Path]:
        proc = self._proc
        assert proc is not None
        main = proc_path(proc.parent_pid, proc.config_file)
        files = [main]
        cfg = self._cfg
        if cfg is not None:
            files += [p for p in cfg.files if p != main]
        return files

    def _load_config(self) -> bool:
        """Re-read the configuration when its files changed; True when it did."""
        from lvstui.keepalived.errors import ConfigError
        from lvstui.keepalived.loader import load
        from lvstui.keepalived.view import build_view

        stamp = []
        for path in self._config_files():
            try:
                st = path.stat()
                stamp.append((str(path), st.st_mtime_ns, st.st_size))
            except OSError:
                stamp.append((str(path), 0, -1))
        key = tuple(stamp)
        if key == self._conf_stamp:
            return False
        self._conf_stamp = key
        proc = self._proc
        try:
            cfg = load(self._config_files()[0])
            view = build_view(cfg, proc.config_id)
            self._view, self._view_error = view, None
            self._cfg = cfg
        except ConfigError as exc:
            self._view, self._view_error = None, f"configuration: {exc}"
        except OSError as exc:
            self._view, self._view_error = None, f"configuration: {exc.strerror or exc}"
        self._open_fifos()
        return True

    def _open_fifos(self) -> None:
        from lvstui.keepalived.fifo import FifoTail

        for fifo in self._fifos:
            fifo.close()
        self._fifos = []
        if self._proc is None or self._view is None:
            return
        for path in dict.fromkeys(self._view.fifos.values()):
            self._fifos.append(FifoTail(proc_path(self._proc.parent_pid, path)))

    def _fifo_events(self) -> int:
        count = 0
        for fifo in self._fifos:
            try:
                count += len(fifo.poll(0.0))
            except OSError:
                continue
        return count

    def _signature(self, kernel: Snapshot) -> object:
        managed = {vs.key for vs in self._view.virtual_servers} if self._view is not None else set()
        return tuple(
            (vs.id, tuple((rs.id, rs.weight) for rs in vs.real_servers))
            for vs in kernel.virtual_services
            if vs.id in managed
        )

    def _dump(self) -> None:
        from lvstui.keepalived.runtime import dump_names, request_state

        proc = self._proc
        assert proc is not None
        view = self._view
        use_instance = view is not None and view.global_value("data_use_instance") is not None
        names = dump_names(proc.netns, proc.config_id, use_instance)
        want_check = view is None or bool(view.virtual_servers)
        want_vrrp = view is None or bool(view.vrrp_instances)
        self.dumps += 1
        self._runtime = request_state(
            proc.parent_pid,
            want_vrrp=want_vrrp,
            want_check=want_check,
            timeout=self.dump_timeout,
            names=names,
        )
        self._state_at = datetime.now(UTC)

    def _peers(self) -> tuple[tuple[VrrpPeer, ...], str | None]:
        if self._listener is None:
            return (), None
        listener = self._listener
        now = time.monotonic()
        peers = tuple(
            VrrpPeer(
                vrid=p.vrid,
                source=p.source,
                priority=p.priority,
                interface=p.interface,
                version=p.version,
                advert_interval=p.advert_interval,
                age=round(p.age(now), 2),
                current=p.current(now),
                local=p.local,
            )
            for p in listener.peers()
        )
        return peers, listener.error

    # -- the poll -------------------------------------------------------------------------------------------

    def apply(self, kernel: Snapshot, now: float | None = None) -> Snapshot:
        """``kernel`` with keepalived's view merged in; never raises for keepalived's sake."""
        try:
            return self._apply(kernel, time.monotonic() if now is None else now)
        except Exception as exc:  # noqa: BLE001 - the screen must keep its kernel data
            health = KeepalivedHealth(status="unknown", errors=(f"reading keepalived failed: {exc}",))
            return replace(kernel, keepalived=health)

    def _apply(self, kernel: Snapshot, now: float) -> Snapshot:
        from lvstui.keepalived.state import health_status, merge, process_health, recent_log_lines

        peers, peers_error = self._peers()
        changed = self._find(now)
        proc = self._proc
        if proc is None:
            conf = Path(DEFAULT_CONF)
            if not conf.exists() and not any(p.current for p in peers):
                return replace(kernel, vrrp_peers=peers)
            health = KeepalivedHealth(
                status="not running",
                config_file=str(conf) if conf.exists() else "",
                errors=("keepalived: not running",),
                peers_error=peers_error,
            )
            return replace(kernel, keepalived=health, vrrp_peers=peers)
        changed = self._load_config() or changed
        sig = self._signature(kernel)
        events = self._fifo_events()
        if (
            changed
            or events
            or sig != self._kernel_sig
            or self._runtime is None
            or now - self._dump_at >= self.refresh
        ):
            self._dump()
            self._dump_at = now
        self._kernel_sig = sig
        view = self._view
        runtime = self._runtime
        merged = merge(kernel, view, runtime)
        roles = proc.roles
        processes = process_health(
            roles,
            need_vrrp=view is None or bool(view.vrrp_instances),
            need_checker=view is None or bool(view.virtual_servers),
        )
        if now - self._log_at >= self.log_every or changed:
            opts = dict(_log_opts(proc.cmdline))
            pids = [roles.get("parent"), roles.get("vrrp"), roles.get("checker"), roles.get("bfd")]
            self._logs = recent_log_lines(pids, self.log_count, opts.get("log_file"))
            self._log_at = now
        source, lines, log_error = self._logs
        errors = [e for e in (self._view_error,) if e]
        errors += list(getattr(runtime, "errors", ()))
        if log_error:
            errors.append(f"log: {log_error}")
        health = KeepalivedHealth(
            status=health_status(processes),
            processes=processes,
            config_file=proc.config_file,
            netns=proc.netns,
            log_source=source,
            log_lines=tuple(lines),
            errors=tuple(errors),
            state_at=self._state_at,
            peers_error=peers_error,
        )
        return replace(merged, keepalived=health, vrrp_peers=peers)


def _log_opts(argv: tuple[str, ...]) -> list[tuple[str, str]]:
    """keepalived's ``-g FILE`` / ``--log-file=FILE`` (it logs there instead of syslog)."""
    out = []
    for i, arg in enumerate(argv):
        if arg.startswith("--log-file="):
            out.append(("log_file", arg.split("=", 1)[1]))
        elif arg.startswith("-g") and len(arg) > 2 and not arg.startswith("--"):
            out.append(("log_file", arg[2:]))
        elif arg in ("-g", "--log-file") and i + 1 < len(argv) and not argv[i + 1].startswith("-"):
            out.append(("log_file", argv[i + 1]))
    return out


class DirectorSource:
    """The kernel's table with keepalived's view: what the dashboard and ``snapshot`` show."""

    name = "kernel"
    capabilities = Capabilities(vrrp=True)  # keepalived's view, so VRRP demote/promote; writes: own client

    def __init__(
        self, kernel: SnapshotSource | None = None, watcher: KeepalivedWatcher | None = None
    ) -> None:
        if kernel is None:
            from lvstui.backend.ipvs import IpvsClient

            kernel = IpvsClient()
        self.kernel: SnapshotSource = kernel
        self.watcher = watcher if watcher is not None else KeepalivedWatcher()

    def read(self) -> Snapshot:
        snap = self.kernel.read()
        return self.watcher.apply(snap)

    def close(self) -> None:
        self.watcher.close()
        self.kernel.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def make_source(args: argparse.Namespace | None = None) -> SnapshotSource:
    """The source the CLI and the dashboard use: the kernel composed with keepalived.

    ``args.no_keepalived`` gives the plain kernel reader; ``args.keepalived_refresh`` the slow
    refresh period.  Raises BackendError when the kernel's IPVS cannot be read.
    """
    from lvstui.backend.ipvs import IpvsClient

    kernel = IpvsClient()
    if args is not None and getattr(args, "no_keepalived", False):
        return kernel
    refresh = float(getattr(args, "keepalived_refresh", 5.0) or 5.0) if args is not None else 5.0
    try:
        return DirectorSource(kernel, KeepalivedWatcher(refresh=refresh))
    except Exception:
        kernel.close()
        raise
