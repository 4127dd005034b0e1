"""``Guest``: one linux.uml process, its control channel, its logs and temp files.

``Lab`` (lab.py) builds the topology and the command API on top of it.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import weakref
from pathlib import Path
from typing import IO, Any, Literal

from lvstui.lab import boot
from lvstui.lab.channel import Channel
from lvstui.lab.results import LabError
from lvstui.lab.userland import userland_dir

ConsoleMode = Literal["pipe", "tty"] | None
AGENT = Path(__file__).resolve().with_name("agent.py")

# Guests still running when the interpreter exits are shut down: a guest must never
# outlive its caller. (If the caller is killed outright, the agent sees its control line
# hang up and the guest powers itself off.)
_running: weakref.WeakSet[Guest] = weakref.WeakSet()


@atexit.register
def _close_running_guests() -> None:
    for guest in list(_running):
        guest.close()


def memory_dir(mem: str, fallback: Path) -> str:
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


def kill_group(pgid: int, patience: float = 10.0) -> None:
    """Kills every process of a guest: UML runs guest processes as host processes."""
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            return
        time.sleep(0.02)


def sweep_stale_temp_dirs() -> None:
    """Removes temp dirs of labs whose Python process is gone (killed before it could
    clean up; its guest powered itself off). Dirs of live processes are left alone."""
    for entry in Path(tempfile.gettempdir()).glob("lvstui-*-*-*"):
        match = re.match(r"^lvstui-(\d+)-[0-9a-f]{8}-", entry.name)
        if match is None or not entry.is_dir():
            continue
        try:
            os.kill(int(match.group(1)), 0)
        except ProcessLookupError:
            shutil.rmtree(entry, ignore_errors=True)
        except PermissionError:
            pass


class Guest:
    def __init__(
        self,
        umid: str,
        *,
        mem: str,
        console: ConsoleMode,
        workdir: Path | None,
        boot_timeout: float,
        kernel_args: tuple[str, ...] = (),
    ) -> None:
        self.umid = umid
        self.mem = mem
        self.console_mode = console
        self.boot_timeout = boot_timeout
        self.kernel_args = kernel_args  # appended to linux.uml's command line
        self._user_workdir = workdir
        self.workdir: Path | None = None  # logs: <workdir>/<umid>/, kept after close
        self.temp_dir: Path | None = None  # init scripts and uml_dir, removed on close
        self.boot_seconds = 0.0
        self._proc: subprocess.Popen[bytes] | None = None
        self._channel: Channel | None = None
        self._console_log: IO[bytes] | None = None
        self._close_lock = threading.Lock()
        self._closed = False

    @property
    def started(self) -> bool:
        return self._proc is not None

    @property
    def closed(self) -> bool:
        return self._closed

    def boot(self, binary: str, python: str, modules: list[str], *, module_dir: str | None) -> None:
        """Starts linux.uml and waits until the agent in the guest answers."""
        _running.add(self)
        sweep_stale_temp_dirs()
        self.temp_dir = Path(tempfile.mkdtemp(prefix=f"{self.umid}-"))
        base = self._user_workdir if self._user_workdir is not None else self.temp_dir
        self.workdir = base / self.umid
        self.outdir.mkdir(parents=True)
        (self.temp_dir / "uml").mkdir()
        stage2 = self.temp_dir / "stage2.sh"
        stage2.write_text(boot.stage2_script(python, AGENT))
        init = self.temp_dir / "init.sh"
        init.write_text(boot.init_script(self.outdir, stage2, modules=modules, module_dir=module_dir,
                                         userland=userland_dir()))
        init.chmod(0o755)
        to_guest_r, to_guest_w = os.pipe()
        from_guest_r, from_guest_w = os.pipe()
        argv = boot.uml_argv(
            binary,
            init=init,
            mem=self.mem,
            umid=self.umid,
            uml_dir=self.temp_dir / "uml",
            chan_in=to_guest_r,
            chan_out=from_guest_w,
        ) + list(self.kernel_args)
        env = dict(os.environ)
        # UML keeps the guest's memory in a file it unlinks at once; tmpfs keeps it fast.
        env["TMPDIR"] = memory_dir(self.mem, self.temp_dir)
        stdio: dict[str, Any]
        if self.console_mode is None:
            self._console_log = open(self.workdir / "console.log", "wb")  # noqa: SIM115 - closed in close()
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

    def call(self, op: str, timeout: float, what: str, args: dict[str, Any]) -> dict[str, Any]:
        if self._channel is None:
            raise LabError(f"{what}: the lab has not been started")
        return self._channel.call(op, timeout, what, args)

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
        """The last lines of the guest's console, init and agent logs, for error messages."""
        if self.workdir is None:
            return ""
        parts = []
        for path in (self.workdir / "console.log", self.outdir / "init.log", self.outdir / "agent.log"):
            try:
                text = path.read_text(errors="replace").strip().splitlines()[-lines:]
            except OSError:
                continue
            if text:
                parts.append(f"--- {path.name} ---\n" + "\n".join(text))
        return "\n".join(parts)

    def close(self) -> None:
        """Powers the guest off (killing it if it does not stop) and removes its temp files."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        _running.discard(self)
        proc = self._proc
        channel = self._channel
        if proc is not None and proc.poll() is None and channel is not None and not channel.closed:
            try:
                channel.call("shutdown", 5, "shutdown")
                proc.wait(timeout=10)
            except (LabError, subprocess.TimeoutExpired):
                pass
        if proc is not None:
            kill_group(proc.pid)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            for stream in (proc.stdin, proc.stdout):
                if stream is not None:
                    stream.close()
        if channel is not None:
            channel.close()
        if self._console_log is not None:
            self._console_log.close()
        if self.temp_dir is not None:
            shutil.rmtree(self.temp_dir, ignore_errors=True)

    @property
    def outdir(self) -> Path:
        """The one real directory the guest can write to (/run/labout in the guest)."""
        if self.workdir is None:
            raise LabError("the lab has not been started")
        return self.workdir / "out"

    @property
    def alive(self) -> bool:
        # the channel too: when linux.uml dies, its end of the channel closes before the watcher
        # thread's wait() reaps it, and meanwhile Popen.poll() answers None (that thread holds the
        # waitpid lock), so a guest nobody can talk to any more would still look alive
        channel_dead = self._channel is not None and self._channel.closed
        return self._proc is not None and not channel_dead and self._proc.poll() is None and not self._closed

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        return self._proc
