"""``Lab``: boots a User-Mode Linux guest with IPVS and runs commands in its hosts."""

from __future__ import annotations

import atexit
import base64
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

import lvstui
from lvstui.lab import boot, topology
from lvstui.lab.channel import Channel
from lvstui.lab.results import CommandResult, LabError, require_uml
from lvstui.lab.spec import HTTP_PORT, TCP_PORT, LabSpec

ConsoleMode = Literal["pipe", "tty"] | None
DEFAULT_TIMEOUT = 60.0
# Slack on top of a command's own timeout for the round trip through the guest.
REPLY_SLACK = 10.0
PACKAGE_DIR = Path(lvstui.__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent
KEEPALIVED_CONF = "/etc/keepalived/keepalived.conf"
KEEPALIVED_PIDS = ("/run/keepalived.pid", "/run/keepalived_vrrp.pid", "/run/keepalived_checkers.pid")


# Labs still running when the interpreter exits are shut down: a guest must never outlive
# its caller. (If the caller is killed outright, the agent sees its control line hang up
# and the guest powers itself off.)
_running: weakref.WeakSet[Lab] = weakref.WeakSet()


@atexit.register
def _close_running_labs() -> None:
    for lab in list(_running):
        lab.close()


@dataclass(frozen=True)
class LabProcess:
    """A background process started by ``Lab.spawn``."""

    handle: int
    pid: int  # in the guest
    host: str | None
    argv: tuple[str, ...]


def _memory_dir(mem: str, fallback: Path) -> str:
    """/dev/shm if it has room for the guest's memory (containers often give it 64 MB)."""
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    try:
        size = int(mem[:-1]) * units[mem[-1].upper()] if mem[-1:].isalpha() else int(mem)
        st = os.statvfs("/dev/shm")
        if os.access("/dev/shm", os.W_OK) and st.f_bavail * st.f_frsize > size:
            return "/dev/shm"
    except (OSError, ValueError, KeyError):
        pass
    return str(fallback)


def _b64(data: str | bytes) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return base64.b64encode(raw).decode("ascii")


def _text(data: str) -> str:
    return base64.b64decode(data).decode("utf-8", errors="replace")


class Lab:
    """A running guest. Use as a context manager; see lvstui/lab/README.md."""

    def __init__(
        self,
        spec: LabSpec | None = None,
        *,
        workdir: str | os.PathLike[str] | None = None,
        console: ConsoleMode = None,
        mem: str | None = None,
        boot_timeout: float = 90.0,
    ) -> None:
        if console not in (None, "pipe", "tty"):
            raise ValueError(f"console must be None, 'pipe' or 'tty', not {console!r}")
        self.spec = spec or LabSpec()
        self.console_mode = console
        self.mem = mem or self.spec.mem
        self.boot_timeout = boot_timeout
        self.umid = f"lvstui-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._user_workdir = Path(workdir) if workdir is not None else None
        self.workdir: Path | None = None  # where logs go: <workdir>/<umid>/
        self._private: Path | None = None  # init scripts and uml_dir, removed on close
        self._proc: subprocess.Popen[bytes] | None = None
        self._channel: Channel | None = None
        self._console_log: IO[bytes] | None = None
        self._close_lock = threading.Lock()
        self._closed = False
        self.boot_seconds = 0.0
        self.setup_seconds = 0.0
        # The Python of the venv (for `lvstui`) and the real interpreter (stdlib-only helpers).
        self.venv_python = sys.executable
        self.python = os.path.realpath(sys.executable)

    # -- life cycle ---------------------------------------------------------------------
    def __enter__(self) -> Lab:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> Lab:
        if self._proc is not None or self._closed:
            raise LabError("a Lab can be started only once: make a new Lab")
        binary = require_uml()
        _running.add(self)
        try:
            self._boot(binary)
            self._setup()
        except BaseException:
            self.close()
            raise
        return self

    def _boot(self, binary: str) -> None:
        self._private = Path(tempfile.mkdtemp(prefix=f"{self.umid}-"))
        base = self._user_workdir if self._user_workdir is not None else self._private
        self.workdir = base / self.umid
        self.outdir.mkdir(parents=True)
        (self._private / "uml").mkdir()
        stage2 = self._private / "stage2.sh"
        stage2.write_text(boot.stage2_script(self.python, PACKAGE_DIR / "lab" / "agent.py"))
        init = self._private / "init.sh"
        init.write_text(boot.init_script(self.outdir, stage2, self.spec.extra_modules))
        init.chmod(0o755)
        to_guest_r, to_guest_w = os.pipe()
        from_guest_r, from_guest_w = os.pipe()
        argv = boot.uml_argv(
            binary,
            init=init,
            mem=self.mem,
            umid=self.umid,
            uml_dir=self._private / "uml",
            chan_in=to_guest_r,
            chan_out=from_guest_w,
        )
        env = dict(os.environ)
        # UML keeps the guest's memory in a file it unlinks at once; tmpfs keeps it fast.
        env["TMPDIR"] = _memory_dir(self.mem, self._private)
        stdio: dict[str, Any]
        if self.console_mode is None:
            self._console_log = open(self.workdir / "console.log", "wb")
            stdio = {"stdin": subprocess.DEVNULL, "stdout": self._console_log, "stderr": subprocess.STDOUT}
        elif self.console_mode == "pipe":
            stdio = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "stderr": subprocess.STDOUT}
        else:
            stdio = {}
        started = time.monotonic()
        try:
            self._proc = subprocess.Popen(
                argv, pass_fds=(to_guest_r, from_guest_w), env=env, start_new_session=True, **stdio
            )
        finally:
            os.close(to_guest_r)
            os.close(from_guest_w)
        self._channel = Channel(from_guest_r, to_guest_w, self.outdir, self._death_message)
        threading.Thread(target=self._watch, name=f"lab-watch-{self.umid}", daemon=True).start()
        if not self._channel.wait_ready(self.boot_timeout):
            raise LabError(f"the lab guest did not come up within {self.boot_timeout:g} s\n{self.log_tail()}")
        if self._channel.closed:
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            raise LabError(f"the lab guest stopped while booting: {self._death_message()}")
        self.boot_seconds = time.monotonic() - started

    def _setup(self) -> None:
        started = time.monotonic()
        self.sh(None, topology.setup_script(self.spec), timeout=120).check()
        for host in self.spec.hosts:
            self._call(
                "setup_host", 60, f"set up lab host {host.name}", **topology.host_setup(self.spec, host)
            )
        waits = []
        for host in self.spec.hosts:
            if not host.services:
                continue
            argv = [self.python, "-I", "-S", str(PACKAGE_DIR / "lab" / "services.py"), host.name]
            if "http" in host.services:
                argv += ["--http", str(HTTP_PORT)]
            if "tcp" in host.services:
                argv += ["--tcp", str(TCP_PORT)]
            self.spawn(host.name, [*argv, "--ready", "/run/lab-services.ready"])
            waits.append(f"/lab/hosts/{host.name}/run/lab-services.ready")
        if waits:
            checks = " && ".join(f"[ -e {w} ]" for w in waits)
            self.sh(
                None, f"for i in $(seq 600); do {checks} && exit 0; sleep 0.05; done; exit 1", timeout=60
            ).check()
        self.setup_seconds = time.monotonic() - started

    def _watch(self) -> None:
        assert self._proc is not None
        self._proc.wait()
        if self._channel is not None:
            self._channel.close()

    def _death_message(self) -> str:
        if self._closed:
            return "the lab has been shut down"
        rc = self._proc.poll() if self._proc is not None else None
        state = "is not running" if rc is None else f"exited with status {rc}"
        tail = self.log_tail()
        return f"the lab guest {self.umid} {state}" + (f"\n{tail}" if tail else "")

    def log_tail(self, lines: int = 15) -> str:
        """The last lines of the guest's console and init logs, for error messages."""
        if self.workdir is None:
            return ""
        parts = []
        for name in ("console.log", "init.log", "agent.log"):
            path = (self.outdir if name != "console.log" else self.workdir) / name
            try:
                text = path.read_text(errors="replace").strip().splitlines()[-lines:]
            except OSError:
                continue
            if text:
                parts.append(f"--- {name} ---\n" + "\n".join(text))
        return "\n".join(parts)

    def close(self) -> None:
        """Powers the guest off (killing it if it does not stop) and removes its temp files."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        _running.discard(self)
        proc = self._proc
        if (
            proc is not None
            and proc.poll() is None
            and self._channel is not None
            and not self._channel.closed
        ):
            try:
                self._channel.call("shutdown", 5, "shutdown")
                proc.wait(timeout=10)
            except (LabError, subprocess.TimeoutExpired):
                pass
        if proc is not None:
            self._kill_group(proc.pid)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            for stream in (proc.stdin, proc.stdout):
                if stream is not None:
                    stream.close()
        if self._channel is not None:
            self._channel.close()
        if self._console_log is not None:
            self._console_log.close()
        if self._private is not None:
            shutil.rmtree(self._private, ignore_errors=True)

    @staticmethod
    def _kill_group(pgid: int) -> None:
        """Kills every process of the guest: UML runs guest processes as host children."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                return
            except PermissionError:
                return
            time.sleep(0.02)

    def __repr__(self) -> str:
        state = "running" if self.alive else "closed" if self._closed else "not started"
        return f"<Lab {self.umid} {state} hosts={list(self.spec.names)}>"

    @property
    def outdir(self) -> Path:
        """The one host directory the guest can write to (/run/labout in the guest)."""
        if self.workdir is None:
            raise LabError("the lab has not been started")
        return self.workdir / "out"

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None and not self._closed

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        """The linux.uml process on the real host."""
        return self._proc

    @property
    def console_stdin(self) -> IO[bytes] | None:
        """With ``console="pipe"``: write here to type on the guest console (/dev/tty0)."""
        return self._proc.stdin if self._proc is not None else None

    @property
    def console_stdout(self) -> IO[bytes] | None:
        """With ``console="pipe"``: what the guest console prints. Keep reading it: a full
        pipe stalls the guest's console output."""
        return self._proc.stdout if self._proc is not None else None

    # -- commands -----------------------------------------------------------------------
    def _call(self, op: str, timeout: float, what: str, /, **args: Any) -> dict[str, Any]:
        if self._channel is None:
            raise LabError(f"{what}: the lab has not been started")
        return self._channel.call(op, timeout, what, args)

    @staticmethod
    def _what(host: str | None, argv: list[str] | tuple[str, ...]) -> str:
        command = shlex.join(argv)
        if len(command) > 300:
            command = command[:300] + "..."
        return f"[{host or 'guest root'}] {command}"

    def _check_host(self, host: str | None) -> None:
        if host is not None and host not in self.spec.names:
            raise LabError(f"no lab host named {host!r} (hosts: {', '.join(self.spec.names) or 'none'})")

    def run(
        self,
        host: str | None,
        argv: list[str] | tuple[str, ...],
        *,
        timeout: float = DEFAULT_TIMEOUT,
        input: str | bytes | None = None,  # noqa: A002 - like subprocess.run
        env: dict[str, str] | None = None,
    ) -> CommandResult:
        """Runs ``argv`` in ``host`` (None: the guest's root namespace) and waits for it."""
        self._check_host(host)
        if isinstance(argv, str):
            raise TypeError(
                f"Lab.run takes an argument list, not the string {argv!r}: use Lab.sh for shell code"
            )
        argv = [str(a) for a in argv]
        what = self._what(host, argv)
        args = {"host": host, "argv": argv, "timeout": timeout, "env": env or {}}
        if input is not None:
            args["input"] = _b64(input)
        reply = self._call("run", timeout + REPLY_SLACK, what, **args)
        result = CommandResult(host, tuple(argv), int(reply["rc"]), _text(reply["out"]), _text(reply["err"]))
        if reply.get("timed_out"):
            raise LabError(f"{what}: timed out after {timeout:g} s\n{result.describe()}")
        return result

    def sh(self, host: str | None, script: str, **kwargs: Any) -> CommandResult:
        """Runs ``/bin/sh -c script`` in ``host``."""
        return self.run(host, ["/bin/sh", "-c", script], **kwargs)

    def lvstui(self, host: str | None, *args: str, **kwargs: Any) -> CommandResult:
        """Runs ``<venv python> -m lvstui ARGS`` in ``host``, from this checkout."""
        env = {"PYTHONPATH": str(REPO_DIR), **kwargs.pop("env", {})}
        return self.run(host, [self.venv_python, "-m", "lvstui", *args], env=env, **kwargs)

    def spawn(
        self,
        host: str | None,
        argv: list[str] | tuple[str, ...],
        *,
        timeout: float = DEFAULT_TIMEOUT,
        env: dict[str, str] | None = None,
        console: bool = False,
    ) -> LabProcess:
        """Starts ``argv`` in the background (on the guest console /dev/tty0 if ``console``)."""
        self._check_host(host)
        argv = [str(a) for a in argv]
        reply = self._call(
            "spawn", timeout, self._what(host, argv), host=host, argv=argv, env=env or {}, console=console
        )
        return LabProcess(int(reply["handle"]), int(reply["pid"]), host, tuple(argv))

    def _spawn_result(self, proc: LabProcess, reply: dict[str, Any]) -> CommandResult:
        rc = reply.get("rc")
        return CommandResult(
            proc.host, proc.argv, -999 if rc is None else int(rc), _text(reply["out"]), _text(reply["err"])
        )

    def wait(self, proc: LabProcess, timeout: float = DEFAULT_TIMEOUT) -> CommandResult:
        """Waits for a spawned process to end; raises LabError if it is still running."""
        what = self._what(proc.host, proc.argv)
        reply = self._call("wait", timeout + REPLY_SLACK, what, handle=proc.handle, seconds=timeout)
        result = self._spawn_result(proc, reply)
        if reply.get("running"):
            raise LabError(f"{what}: still running after {timeout:g} s\n{result.describe()}")
        return result

    def poll(self, proc: LabProcess, timeout: float = DEFAULT_TIMEOUT) -> CommandResult | None:
        """The result of a spawned process if it has ended, else None."""
        reply = self._call("poll", timeout, self._what(proc.host, proc.argv), handle=proc.handle)
        return None if reply.get("running") else self._spawn_result(proc, reply)

    def stop(self, proc: LabProcess, timeout: float = DEFAULT_TIMEOUT, grace: float = 2.0) -> CommandResult:
        """Stops a spawned process (SIGTERM, SIGKILL after ``grace`` s) and returns its result."""
        reply = self._call("stop", timeout, self._what(proc.host, proc.argv), handle=proc.handle, grace=grace)
        return self._spawn_result(proc, reply)

    # -- files --------------------------------------------------------------------------
    def write_file(
        self,
        host: str | None,
        path: str,
        content: str | bytes,
        *,
        mode: int = 0o644,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        """Writes a file inside ``host``'s own file system (never on the real machine)."""
        self._check_host(host)
        if not path.startswith("/"):
            raise LabError(f"lab paths must be absolute: {path!r}")
        self._call(
            "write_file",
            timeout,
            f"[{host or 'guest root'}] write {path}",
            host=host,
            path=path,
            data=_b64(content),
            mode=mode,
        )

    def read_file(self, host: str | None, path: str, *, timeout: float = DEFAULT_TIMEOUT) -> str:
        """Reads a text file from ``host``'s file system."""
        self._check_host(host)
        reply = self._call(
            "read_file", timeout, f"[{host or 'guest root'}] read {path}", host=host, path=path
        )
        return _text(reply["data"])

    # -- helpers ------------------------------------------------------------------------
    def ping(self, timeout: float = 10.0, payload: str = "") -> float:
        """One round trip to the agent (carrying ``payload`` both ways); its duration in s."""
        started = time.perf_counter()
        reply = self._call("ping", timeout, "ping", data=payload)
        if reply.get("data") != payload:
            raise LabError("ping: the lab guest sent back something else than it got")
        return time.perf_counter() - started

    def wait_for(
        self,
        condition: Callable[[], Any],
        *,
        timeout: float = 10.0,
        what: str = "condition",
        interval: float = 0.1,
    ) -> Any:
        """Polls ``condition`` until it returns something true; returns that value."""
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while True:
            try:
                value = condition()
                if value:
                    return value
                last_error = None
            except LabError as exc:
                if not self.alive:
                    raise
                last_error = exc
            if time.monotonic() >= deadline:
                detail = f" (last error: {last_error})" if last_error else ""
                raise LabError(f"timed out after {timeout:g} s waiting for {what}{detail}")
            time.sleep(interval)

    def start_keepalived(self, host: str, config: str, *, timeout: float = 30.0) -> list[int]:
        """Writes ``config`` to HOST's keepalived.conf, starts keepalived, returns its pids."""
        self.write_file(host, KEEPALIVED_CONF, config)
        parent, vrrp, checkers = KEEPALIVED_PIDS
        self.run(
            host,
            ["keepalived", "-f", KEEPALIVED_CONF, "-p", parent, "-r", vrrp, "-c", checkers, "-l", "-D"],
            timeout=timeout,
        ).check()
        needed = [parent]
        if "vrrp_instance" in config:
            needed.append(vrrp)
        if "virtual_server" in config:
            needed.append(checkers)
        script = (
            "for f in "
            + " ".join(needed)
            + '; do p=$(cat "$f" 2>/dev/null) && kill -0 "$p" 2>/dev/null || exit 1; echo "$p"; done'
        )
        result = self.wait_for(
            lambda: (r := self.sh(host, script, timeout=timeout)).ok and r,
            timeout=timeout,
            what=f"keepalived to start in {host} (see its log in /var/log or syslog)",
        )
        return [int(p) for p in result.stdout.split()]

    def stop_keepalived(self, host: str, *, timeout: float = 30.0) -> None:
        """Stops HOST's keepalived (SIGTERM to its parent) and waits until it is gone."""
        parent = KEEPALIVED_PIDS[0]
        self.sh(host, f'[ -e {parent} ] && kill "$(cat {parent})" 2>/dev/null; true', timeout=timeout)
        self.wait_for(
            lambda: (
                self.sh(
                    host, f'p=$(cat {parent} 2>/dev/null) && kill -0 "$p" 2>/dev/null', timeout=timeout
                ).rc
                != 0
            ),
            timeout=timeout,
            what=f"keepalived to stop in {host}",
        )
