"""keepalived's state for this network namespace, merged into each snapshot (read only).

:class:`KeepalivedWatcher` is the observation half of :class:`lvstui.backend.director.DirectorSource`:
which keepalived is ours (:func:`lvstui.keepalived.site.local_keepalived`), its configuration
(re-read when its files change), its dumps (on a trigger, see the director's module notes), its
notify FIFOs, its processes and logs, and the VRRP adverts on the wire.  It never writes and never
raises for keepalived's sake: every failure is data in ``Snapshot.keepalived``.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from lvstui.keepalived.errors import KeepalivedConfigError
from lvstui.keepalived.fifo import FifoTail
from lvstui.keepalived.processes import KeepalivedProcess
from lvstui.keepalived.runtime import RuntimeState, dump_names, request_state
from lvstui.keepalived.site import local_keepalived, proc_path
from lvstui.keepalived.state import (
    alive,
    configured_services,
    health_status,
    merge,
    process_health,
    recent_log_lines,
    vrrp_peers,
)
from lvstui.keepalived.transitions import transitions
from lvstui.keepalived.view import ConfigView
from lvstui.keepalived.viewcache import cached_view
from lvstui.keepalived.vrrp_adverts import AdvertListener
from lvstui.model import (
    ConfiguredService,
    KeepalivedHealth,
    KeepalivedProcessState,
    Snapshot,
    VrrpPeer,
    VrrpTransition,
)

__all__ = ["DEFAULT_CONF", "KeepalivedWatcher"]

DEFAULT_CONF = "/etc/keepalived/keepalived.conf"
#: Log lines read to count the last hour's VRRP transitions (20 are shown).
TRANSITION_LINES = 2000
#: A checker silent this long (at least three dump periods) raises the watchdog's alarm.
CHECKER_STALE_SECONDS = 15.0


class KeepalivedWatcher:
    """keepalived's state for this network namespace, refreshed only when something says so."""

    def __init__(
        self,
        refresh: float = 5.0,
        log_every: float = 10.0,
        adverts: bool = True,
        log_lines: int = 20,
        dump_timeout: float = 3.0,
        view_cache: bool = True,
    ) -> None:
        self.view_cache = view_cache  # keepalived's configuration view kept between processes
        self.refresh = refresh
        self.log_every = log_every
        self.log_count = log_lines
        self._transitions: tuple[VrrpTransition, ...] | None = None
        self._check_at: datetime | None = None  # the checker's last fresh dump, kept across failed ones
        self.dump_timeout = dump_timeout
        self.dumps = 0  # how many times keepalived was signalled (for tests and measurements)
        self._proc: KeepalivedProcess | None = None
        self._scan_at = -1e9
        self._conf_stamp: tuple[tuple[str, int, int], ...] | None = None
        self._view: ConfigView | None = None
        self._configured_from: ConfigView | None = None
        self._configured: tuple[ConfiguredService, ...] | None = None
        self._files: tuple[Path, ...] = ()  # the configuration's files (stat'ed each poll)
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
        proc = self._proc
        if proc is not None and alive(proc.parent_pid):
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
        return [main] + [p for p in self._files if p != main]

    def _load_config(self) -> bool:
        """Re-read the configuration when its files changed; True when it did."""
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
        assert proc is not None  # _apply loads the configuration only for a running keepalived
        try:
            # from the cache when no file changed since a process before this one built it
            view, files = cached_view(self._config_files()[0], proc.effective_config_id, use_cache=self.view_cache)
            self._view, self._view_error = view, None
            self._files = files
        except KeepalivedConfigError as exc:
            self._view, self._view_error = None, f"configuration: {exc}"
        except OSError as exc:
            self._view, self._view_error = None, f"configuration: {exc.strerror or exc}"
        self._open_fifos()
        return True

    def _open_fifos(self) -> None:
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
        if self._runtime.check_fresh:
            self._check_at = self._state_at

    def _peers(self) -> tuple[tuple[VrrpPeer, ...], str | None]:
        if self._listener is None:
            return (), None
        return vrrp_peers(self._listener.peers(), time.monotonic()), self._listener.error

    # -- the poll -------------------------------------------------------------------------------------------

    def apply(self, kernel: Snapshot, now: float | None = None) -> Snapshot:
        """``kernel`` with keepalived's view merged in; never raises for keepalived's sake."""
        try:
            return self._apply(kernel, time.monotonic() if now is None else now)
        except Exception as exc:  # noqa: BLE001 - the screen must keep its kernel data
            health = KeepalivedHealth(status="unknown", errors=(f"reading keepalived failed: {exc}",))
            return replace(kernel, keepalived=health)

    def _apply(self, kernel: Snapshot, now: float) -> Snapshot:
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
            # more lines than are shown: the last hour's VRRP transitions are counted from them
            self._logs = recent_log_lines(pids, max(self.log_count, TRANSITION_LINES), opts.get("log_file"))
            self._log_at = now
            src, every, _ = self._logs
            self._transitions = transitions(every, datetime.now().astimezone()) if src else None
        source, lines, log_error = self._logs
        lines = lines[-self.log_count:] if self.log_count else []
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
            transitions=self._transitions,
            checker_reported_at=self._check_at,
            alarms=self._alarms(processes, view),
            unicast_peers=view.unicast_peers if view is not None else (),
        )
        if view is not self._configured_from:  # built once per configuration read, not per poll
            self._configured_from = view
            self._configured = configured_services(view) if view is not None else None
        return replace(merged, keepalived=health, vrrp_peers=peers, keepalived_config=self._configured)

    def _alarms(self, processes: tuple[KeepalivedProcessState, ...], view: ConfigView | None) -> tuple[str, ...]:
        """The checker watchdog: keepalived's checker should answer every dump we ask for; when it
        has not for a while its real servers' states are old news (a hung or stopped process)."""
        checker = next((p for p in processes if p.role == "checker"), None)
        if checker is None or not checker.expected or (view is not None and not view.virtual_servers):
            return ()
        if not checker.alive:
            return ("keepalived's checker process is not running: nothing checks the real servers",)
        limit = max(3 * self.refresh, CHECKER_STALE_SECONDS)
        if self._check_at is None:
            if self._state_at is None:
                return ()
            return (("keepalived's checker has not answered a dump since lvstui started: its real servers' "
                     "states are unknown (is the checker hung?)"),)
        age = (datetime.now(UTC) - self._check_at).total_seconds()
        if age > limit:
            return ((f"keepalived's checker last reported {age:.0f} s ago: its real servers' states may be "
                     "stale (is the checker hung?)"),)
        return ()


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


