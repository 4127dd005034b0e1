"""``lvstui lab`` on the real host: boot, bring the cluster up, run the dashboard in lb1 on the
guest console (this terminal), relay ``lvstui lab ctl`` requests, and always clean up.

Ctrl-C, SIGTERM and SIGHUP (the terminal closed) end the lab as ``q`` does: the guest is
powered off (killed if it does not stop), its temp files removed and the terminal's modes
put back (UML puts the terminal in raw mode while it owns it).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Protocol, Self

from lvstui.lab.control import serve_lines
from lvstui.lab.lab import Lab
from lvstui.lab.results import LabError
from lvstui.lab.scenario import bring_up, lab_spec, open_dashboard, resize

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(BaseException):
    """A signal asked the lab to end (a BaseException, like KeyboardInterrupt)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def say(message: str) -> None:
    """A progress line; "\\r\\n" because UML may have put the terminal in raw mode."""
    try:
        sys.stdout.write(f"lvstui lab: {message}\r\n")
        sys.stdout.flush()
    except (OSError, ValueError):  # the terminal is gone (SIGHUP)
        pass


@contextmanager
def terminal_kept() -> Iterator[None]:
    """Puts back this terminal's modes afterwards (a killed UML cannot)."""
    try:
        import termios

        fd = sys.stdin.fileno()
        saved = termios.tcgetattr(fd)
    except (ImportError, OSError, ValueError):
        yield
        return
    try:
        yield
    finally:
        try:
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        except OSError:
            pass


class CtrlCWorks:
    """While the lab boots, keeps Ctrl-C a signal to us although UML put the terminal in raw mode
    (it would go to the guest's console, where nothing reads it). Stopped before the dashboard
    opens: from then on keys, Ctrl-C included, belong to the dashboard, as on a real director."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lab-isig", daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=2)

    def _run(self) -> None:
        try:
            import termios

            fd = sys.stdin.fileno()
            while not self._stop.wait(0.1):
                attrs = termios.tcgetattr(fd)
                if not attrs[3] & termios.ISIG:
                    attrs[3] |= termios.ISIG
                    termios.tcsetattr(fd, termios.TCSANOW, attrs)
            attrs = termios.tcgetattr(fd)
            attrs[3] &= ~termios.ISIG  # raw again, as UML wants it
            termios.tcsetattr(fd, termios.TCSANOW, attrs)
        except (ImportError, OSError, ValueError):
            return


class Relayed(Protocol):
    """Where HostControl passes each request: the running cluster (``Cluster.ctl``)."""

    def ctl(self, *words: str) -> tuple[bool, str]: ...


class HostControl:
    """A unix socket on the real host: each request line is passed to the guest's control server."""

    def __init__(self, cluster: Relayed, path: str) -> None:
        self.cluster = cluster
        self.path = path
        self.sock: socket.socket | None = None

    def start(self) -> bool:
        """Listens; False if another live lab already owns the path."""
        if os.path.exists(self.path):
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                    probe.connect(self.path)
                return False  # someone answers: another lab runs
            except OSError:
                os.unlink(self.path)  # left by a lab that was killed
        self.sock = serve_lines(self.path, self._relay, mode=0o600, name="lab-ctl")
        return True

    def _relay(self, words: list[str]) -> tuple[bool, str]:
        try:
            return self.cluster.ctl(*words)
        except LabError as exc:
            return False, f"the lab did not answer: {str(exc).splitlines()[0]}"

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            try:
                os.unlink(self.path)
            except OSError:
                pass


def run_session(*, mem: str, logs: str | None, socket_path: str, uml: str | None = None,
                systemd_hosts: bool = False) -> int:
    """The interactive lab; returns the exit status (the dashboard's, or 128+signal)."""

    def interrupted(signum: int, _frame: FrameType | None) -> None:
        for s in SIGNALS:
            signal.signal(s, signal.SIG_IGN)  # one clean-up, not several
        raise Interrupted(signum)

    previous = {s: signal.signal(s, interrupted) for s in SIGNALS}
    resized = threading.Event()
    previous_winch = signal.signal(signal.SIGWINCH, lambda *_: resized.set())
    lab: Lab | None = None
    control: HostControl | None = None
    status = 0
    drawn = False  # the dashboard was started: it may leave the terminal in its modes if killed
    started = time.monotonic()
    try:
        with terminal_kept():
            try:
                say("booting User-Mode Linux with IPVS "
                    "(the host is not changed: the guest writes to an overlay)")
                # loglevel=1: UML's early kernel warnings (SELinux, ubd) would land on the terminal
                lab = Lab(lab_spec(systemd_hosts), console="tty", mem=mem, workdir=logs, kernel_args=("loglevel=1",),
                          uml=uml)
                with CtrlCWorks():
                    lab.start()
                    kernel = lab.kernel.describe() if lab.kernel else "User-Mode Linux"
                    say(f"{kernel}: guest up in {lab.boot_seconds:.1f} s; hosts {' '.join(lab.spec.names)} on a bridge "
                        f"({lab.setup_seconds:.1f} s)")
                    cluster = bring_up(lab, say, wait_master=False)
                control = HostControl(cluster, socket_path)
                if control.start():
                    say(f"break things from another terminal: lvstui lab ctl help  (socket {socket_path})")
                else:
                    say(f"another lab owns {socket_path}: `lvstui lab ctl` talks to that one, not this one")
                    control = None
                rows, cols = _size()
                say(f"opening the dashboard on lb1 ({cols}x{rows}), "
                    f"{time.monotonic() - started:.1f} s after start; "
                    "q quits and powers the lab off")
                dashboard = open_dashboard(cluster, rows, cols)
                drawn = True
                while True:
                    result = lab.poll(dashboard, timeout=30)
                    if result is not None:  # it quit and put the terminal back itself
                        status = result.rc
                        drawn = False
                        break
                    if resized.is_set():
                        resized.clear()
                        rows, cols = _size()
                        resize(lab, rows, cols)
                    time.sleep(0.25)
            except Interrupted as exc:
                status = 128 + exc.signum
            except LabError as exc:
                say(f"the lab failed: {exc}")
                status = 1
            finally:
                for s in SIGNALS:
                    signal.signal(s, signal.SIG_IGN)
                if control is not None:
                    control.close()
                if lab is not None:
                    lab.close()
                if drawn:
                    reset_screen()
    finally:
        signal.signal(signal.SIGWINCH, previous_winch)
        for s, handler in previous.items():
            signal.signal(s, handler)
    say(f"lab stopped and cleaned up ({time.monotonic() - started:.0f} s in all)")
    return status


# Leave the alternate screen, show the cursor, stop mouse/focus reports and bracketed paste: what
# the dashboard undoes when it quits, but not when the lab is killed under it (SIGTERM, SIGHUP).
RESET = "\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l\x1b[?1015l\x1b[?1004l\x1b[?2004l\x1b[?25h\x1b[?1049l"


def reset_screen() -> None:
    try:
        sys.stdout.write(RESET)
        sys.stdout.flush()
    except (OSError, ValueError):
        pass


def _size() -> tuple[int, int]:
    """This terminal's size: asked of the terminal itself (COLUMNS/LINES may be stale), else them."""
    try:
        size = os.get_terminal_size(sys.stdout.fileno())
    except (OSError, ValueError):
        size = shutil.get_terminal_size((120, 40))
    return max(size.lines, 10), max(size.columns, 40)
