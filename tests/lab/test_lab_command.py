"""``lvstui lab`` as a new user runs it: in tmux, against the real lab, nothing faked.

The dashboard must show the cluster's live connections, a drain must make the real
server's count fall on screen, and quitting (or a signal, or closing the terminal) must
leave nothing of the lab on this machine: no linux.uml of that lab, no temp dir.
Other tests may run labs at the same time: only the lab of the process under test counts
(its umid and temp dirs are named lvstui-<pid>-...).
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.screen_rows import rows

pytestmark = pytest.mark.lab

VENV_BIN = Path(sys.executable).parent
LVSTUI = str(VENV_BIN / "lvstui")
VIP = "192.168.1.100"


def uml_processes(pid: int) -> list[str]:
    """Command lines of the linux.uml processes of the lab started by process ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        umid = f"umid=lvstui-{pid}-".encode()
        if argv and argv[0].endswith(b"linux.uml") and any(a.startswith(umid) for a in argv):
            found.append(b" ".join(argv).decode(errors="replace"))
    return found


def temp_dirs(pid: int) -> list[Path]:
    return list(Path(tempfile.gettempdir()).glob(f"lvstui-{pid}-*"))


def wait_until(condition: Callable[[], object], timeout: float, what: str, interval: float = 0.5,
               show: Callable[[], str] | None = None) -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            shown = f"\n{show()}" if show is not None else ""
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}{shown}")
        time.sleep(interval)


class Tmux:
    """A private tmux server (own socket) running one command in a 120x40 window."""

    def __init__(self, command: str, env: dict[str, str] | None = None) -> None:
        self.name = f"lvstui-lab-test-{uuid.uuid4().hex[:8]}"
        prefix = " ".join(f"{k}={shlex.quote(v)}" for k, v in (env or {}).items())
        # keep the pane after the command so its last lines and status can be read
        script = f"{prefix} {command}; echo LAB-EXITED $?; sleep 120"
        self.tmux("new-session", "-d", "-x", "120", "-y", "40", "-s", "lab", script)
        shell = int(self.tmux("list-panes", "-t", "lab", "-F", "#{pane_pid}").strip())
        child = wait_until(lambda: self._child(shell), 20, "the lvstui process in the pane")
        self.pid = int(child)  # type: ignore[call-overload]

    @staticmethod
    def _child(shell: int) -> int | None:
        out = subprocess.run(["pgrep", "-P", str(shell)], capture_output=True, text=True).stdout.split()
        return int(out[0]) if out else None

    def tmux(self, *args: str) -> str:
        argv = ["tmux", "-L", self.name, *args]
        return subprocess.run(argv, capture_output=True, text=True, check=True).stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "lab")

    def wait(self, condition: Callable[[], object], timeout: float, what: str,
             interval: float = 0.5) -> object:
        """wait_until, with the screen in the failure message."""
        return wait_until(condition, timeout, what, interval, show=self.screen)

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "lab", *keys)

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.name, "kill-server"], capture_output=True)


@pytest.fixture
def tmux_lab(tmp_path: Path) -> Iterator[Callable[..., Tmux]]:
    made: list[Tmux] = []

    def start(command: str = f"{LVSTUI} lab") -> Tmux:
        t = Tmux(command, env={"LVSTUI_LAB_CONTROL": str(tmp_path / "ctl.sock")})
        made.append(t)
        return t

    yield start
    for t in made:
        t.kill()
        try:  # never leave a lab behind, even when the test failed
            wait_until(lambda t=t: not uml_processes(t.pid), 30, "the lab to stop")
        except AssertionError:
            os.kill(t.pid, signal.SIGKILL)


def active(cells: dict[str, str]) -> int | None:
    """The Active cell, or None while the screen was read half drawn (a capture taken during a
    redraw can show a row without all its cells): the waits below read it again."""
    value = cells.get("Active", "")
    return int(value) if value.isdigit() else None


def dashboard_can_drain() -> bool:
    """Whether this checkout's dashboard has its drain key (an operation confirmed with y)."""
    from lvstui.ui.actions import ACTIONS
    from lvstui.ui.dashboard import DashboardScreen

    return any(a.action == "drain" for a in ACTIONS) and hasattr(DashboardScreen, "action_drain")


def test_lab_check_passes() -> None:
    started = time.monotonic()
    proc = subprocess.Popen([LVSTUI, "lab", "--check"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    out, err = proc.communicate(timeout=400)
    assert proc.returncode == 0, out + err
    lines = out.splitlines()
    assert not [line for line in lines if line.startswith("FAIL")]
    for expected in ("ok   boot: User-Mode Linux ", "guest up in", "ok   keepalived: lb1 MASTER (150), lb2 BACKUP (100)",
                     "answered by rs1, rs2, rs3", "VRRP MASTER, connections",
                     "keepalived took it out", "lb2 took the VIP", "18 active connections",
                     "lvstui lab --check passed"):
        assert any(expected in line for line in lines), (expected, out)
    conns = re.search(r"tcp:192\.168\.1\.100:9000 (\d+)", out)
    assert conns and int(conns.group(1)) > 0, out
    assert not uml_processes(proc.pid) and not temp_dirs(proc.pid)
    print(f"lvstui lab --check took {time.monotonic() - started:.1f} s", file=sys.stderr)


def test_lab_in_tmux_dashboard_drain_and_quit(tmux_lab: Callable[..., Tmux], tmp_path: Path) -> None:
    started = time.monotonic()
    t = tmux_lab()
    # progress lines while it boots
    t.wait(lambda: "lvstui lab: booting User-Mode Linux" in t.screen(), 30, "the first progress line")
    def dashboard() -> str | None:
        s = t.screen()
        return s if "Virtual services" in s and f"tcp:{VIP}:9000" in s else None

    screen = str(t.wait(dashboard, 180, "the dashboard"))
    boot_to_dashboard = time.monotonic() - started
    assert uml_processes(t.pid), "the lab's linux.uml is not found: the leftover checks would prove nothing"
    assert "lvstui lb1" in screen and "DEMO" not in screen
    assert set(rows(screen, f"tcp:{VIP}:")) == {f"tcp:{VIP}:80", f"tcp:{VIP}:9000"}

    # the services table: live, non-zero connection counts (Active of the held TCP connections)
    def held() -> int:
        svc = rows(t.screen(), f"tcp:{VIP}:9000").get(f"tcp:{VIP}:9000")
        return (active(svc) or 0) if svc else 0

    t.wait(lambda: held() > 0, 60, "held connections on the services table")
    # the dashboard opens while VRRP settles: lb1 becomes MASTER under the user's eyes
    t.wait(lambda: "VI_1 MASTER" in t.screen().splitlines()[0], 60, "lb1 MASTER in the dashboard's header")

    # the terminal shrinks: the guest console follows and the dashboard redraws at the new size
    t.tmux("resize-window", "-t", "lab", "-x", "100", "-y", "30")

    def footer_at_bottom() -> bool:
        lines = t.screen().splitlines()
        return len(lines) == 30 and "q Quit" in lines[-1]

    t.wait(footer_at_bottom, 30, "the dashboard redrawn at 100x30")
    t.tmux("resize-window", "-t", "lab", "-x", "120", "-y", "40")
    t.wait(lambda: len(lines := t.screen().splitlines()) == 40 and "q Quit" in lines[-1], 30,
           "the dashboard redrawn at 120x40")

    # the lab panel (L): stop rs1's HTTP service; keepalived's HTTP_GET takes it out of port 80
    def up_of(vs: str) -> str:
        row = rows(t.screen(), vs).get(vs)
        return row["Up/RS"] if row else ""

    web = f"tcp:{VIP}:80"
    assert "L Lab" in t.screen()
    t.wait(lambda: up_of(web) == "3/3", 60, "3/3 real servers up on port 80")
    t.keys("L")
    t.wait(lambda: "rs1: stop HTTP (port 80)" in t.screen() and "lb1: keepalived pid" in t.screen(), 30,
               "the lab panel with its actions and the lab's status")
    t.keys("Enter")  # the first action: rs1: stop HTTP
    t.wait(lambda: "rs1 http stopped" in t.screen(), 60, "the panel to say rs1's HTTP service stopped")
    t.keys("Escape")
    t.wait(lambda: up_of(web) not in ("", "3/3"), 60, "port 80 to lose rs1 on the dashboard")
    t.keys("L")
    t.wait(lambda: "rs1: start HTTP (port 80)" in t.screen(), 30, "the lab panel again")
    t.keys("Down", "Enter")  # rs1: start HTTP
    t.wait(lambda: "rs1 http started" in t.screen(), 60, "the panel to say rs1's HTTP service started")
    t.keys("Escape")
    t.wait(lambda: up_of(web) == "3/3", 60, "rs1 back on port 80")

    # open the real servers of the TCP service (second row), as a user would
    t.keys("j", "Enter")
    t.wait(lambda: f"Real servers of tcp:{VIP}:9000" in t.screen(), 30, "the TCP service's real servers")
    target = "192.168.1.21:9000"
    servers = rows(t.screen(), "192.168.1.2")
    assert set(servers) == {"192.168.1.21:9000", "192.168.1.22:9000", "192.168.1.23:9000"}, t.screen()
    before = int(t.wait(lambda: active(rows(t.screen(), target).get(target, {})), 90,  # type: ignore[arg-type]
                            f"{target} to hold connections"))

    if dashboard_can_drain():
        # the dashboard's drain key on the real server under the cursor (the first row), confirmed with y
        t.keys("x")
        t.wait(lambda: "Yes (y)" in t.screen(), 30, "the drain confirmation")
        assert target in t.screen(), t.screen()
        t.keys("y")
    else:
        # no drain key in this dashboard: lvstui drain-host in lb1 through the lab's control path
        ctl = subprocess.run([LVSTUI, "lab", "ctl", "drain", "rs1"], capture_output=True, text=True,
                             timeout=180,
                             env={**os.environ, "LVSTUI_LAB_CONTROL": str(tmp_path / "ctl.sock")})
        assert ctl.returncode == 0, ctl.stdout + ctl.stderr
        assert f"tcp:{VIP}:9000 -> {target}: weight 1 -> 0" in ctl.stdout
    # weight 0 on screen; the state is "drained", or "inhibited" where keepalived's FILE_CHECK holds the drain
    def drained() -> bool:
        row = rows(t.screen(), target).get(target)
        state = row["State"].split()[-1] if row else ""
        return row is not None and row["Weight"] == "0" and state in ("drained", "inhibited")

    t.wait(drained, 60, "the drained real server on screen")
    seen = [before]

    def fell_to_zero() -> bool:
        seen.append(active(rows(t.screen(), target).get(target, {})))
        return seen[-1] == 0

    t.wait(fell_to_zero, 90, f"{target}'s active count to fall to 0 (seen {seen})", interval=1)
    others = rows(t.screen(), "192.168.1.2")
    assert sum(active(w) or 0 for k, w in others.items() if k != target) > 0, t.screen()

    # q: the dashboard ends, the lab powers off, nothing is left
    t.keys("q")
    quit_at = time.monotonic()
    t.wait(lambda: "LAB-EXITED" in t.screen(), 30, "lvstui lab to exit")
    t.wait(lambda: not uml_processes(t.pid) and not temp_dirs(t.pid), 10, "no linux.uml and no temp dir left")
    gone = time.monotonic() - quit_at
    assert "LAB-EXITED 0" in t.screen()
    modes = t.tmux("display-message", "-p", "-t", "lab", "#{alternate_on} #{mouse_any_flag}").split()
    assert modes == ["0", "0"], modes  # the dashboard put the terminal back
    assert "lab stopped and cleaned up" in t.screen()
    assert gone < 10, gone
    assert not os.path.exists(tmp_path / "ctl.sock")
    print(f"boot to dashboard {boot_to_dashboard:.1f} s; q to nothing left {gone:.1f} s", file=sys.stderr)


@pytest.mark.parametrize("how", ["Ctrl-C while booting", "SIGTERM at the dashboard", "terminal closed"])
def test_lab_cleans_up_after_signals(tmux_lab: Callable[..., Tmux], how: str) -> None:
    t = tmux_lab()
    if how == "Ctrl-C while booting":
        # typed in the terminal after UML put it in raw mode: it must still stop the lab
        t.wait(lambda: uml_processes(t.pid) and "guest up in" in t.screen(), 60, "the guest to be up")
        assert temp_dirs(t.pid)
        t.keys("C-c")
    else:
        wait_until(lambda: "Virtual services" in t.screen(), 180, "the dashboard")
        if how == "SIGTERM at the dashboard":
            os.kill(t.pid, signal.SIGTERM)
        else:
            t.kill()  # the pane's terminal goes away: SIGHUP
    stopped = time.monotonic()
    wait_until(lambda: not uml_processes(t.pid) and not temp_dirs(t.pid), 20,
               "no linux.uml and no temp dir left")
    wait_until(lambda: subprocess.run(["kill", "-0", str(t.pid)], capture_output=True).returncode != 0, 10,
               "lvstui lab to exit")
    if how != "terminal closed":
        status = 128 + (signal.SIGINT if how.startswith("Ctrl-C") else signal.SIGTERM)
        t.wait(lambda: f"LAB-EXITED {status}" in t.screen(), 10, f"exit status {status}")
        assert "lab stopped and cleaned up" in t.screen()
        # the terminal is back to normal: main screen, no mouse reports
        modes = t.tmux("display-message", "-p", "-t", "lab", "#{alternate_on} #{mouse_any_flag}").split()
        assert modes == ["0", "0"], modes
    print(f"{how}: nothing left after {time.monotonic() - stopped:.1f} s", file=sys.stderr)


def test_lab_without_uml_says_what_to_do(tmp_path: Path) -> None:
    # No distribution kernel (its path pointed elsewhere), an empty cache, nothing on PATH.
    script = ("import sys; from lvstui.lab import kernel; from lvstui.cli import main; "
              f"kernel.DISTRIBUTION_UML = {str(tmp_path / 'linux.uml')!r}; sys.exit(main(['lab']))")
    env = {k: v for k, v in os.environ.items() if k != "LVSTUI_UML"}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                          env={**env, "PATH": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "cache")})
    assert proc.returncode == 1
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "User-Mode Linux is not installed" in proc.stderr
    assert "scripts/setup.sh" in proc.stderr and "lvstui --demo" in proc.stderr


def test_lab_help_says_what_it_needs() -> None:
    out = subprocess.run([LVSTUI, "lab", "--help"], capture_output=True, text=True, timeout=60).stdout
    text = " ".join(out.split())
    for expected in ("User-Mode Linux", "scripts/setup.sh", "lvstui --demo", "--check", "lvstui lab ctl"):
        assert expected in text, expected


def test_lab_ctl_without_a_lab(tmp_path: Path) -> None:
    proc = subprocess.run([LVSTUI, "lab", "ctl", "status"], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "LVSTUI_LAB_CONTROL": str(tmp_path / "none.sock")})
    assert proc.returncode == 1 and "no lab is running" in proc.stderr


def test_control_refuses_bad_actions_and_changes_nothing(tmp_path: Path) -> None:
    """The control server's parser, without a lab: every bad request is one clear refusal."""
    from lvstui.lab.control import ActionRefused, Control

    control = Control({"vip": VIP, "addresses": {"rs1": "192.168.1.21", "lb1": "192.168.1.11"},
                       "real_servers": ["rs1"], "directors": ["lb1"], "client": "client",
                       "log": str(tmp_path / "control.log")})
    bad = {"stop rs9 http": "no real server 'rs9'", "stop rs1 ftp": "takes http, tcp or nothing",
           "stop keepalived lb7": "no director 'lb7'", "load many": "must be a number",
           "load 500": "between 0 and 200", "burst 0": "between 1 and 600", "hold -1": "between 0 and 200",
           "drain rs5": "no real server 'rs5'", "reboot everything": "unknown action",
           "restart lb1": "no real server"}
    for words, message in bad.items():
        with pytest.raises(ActionRefused, match=re.escape(message)):
            control.handle(words.split())
    assert control.load["rate"] == 5 and control.load["hold"] == 9 and not control.procs
    assert "stop rs1 http" in control.handle(["menu"]) and "status" in control.handle(["help"])


def test_one_line_server_for_the_guest_and_the_host_relay(tmp_path: Path) -> None:
    """control.py's line server is the one both sides use: the guest's control server and
    ``lvstui lab``'s relay on the real host (session.HostControl), over real unix sockets."""
    from lvstui.lab.control import send, serve_lines
    from lvstui.lab.results import LabError
    from lvstui.lab.session import HostControl

    seen: list[list[str]] = []

    def handle(words: list[str]) -> tuple[bool, str]:
        seen.append(words)
        return words[:1] == ["ok"], "answer: " + " ".join(words)

    path = str(tmp_path / "guest.sock")
    sock = serve_lines(path, handle)
    assert send(path, ["ok", "ünïcode"]) == (True, "answer: ok ünïcode")
    assert send(path, ["no"]) == (False, "answer: no") and seen == [["ok", "ünïcode"], ["no"]]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o666
    sock.close()

    class Cluster:  # the relay's only use of the cluster: ctl(*words) -> (ok, message)
        def ctl(self, *words: str) -> tuple[bool, str]:
            if words == ("hang",):
                raise LabError("guest gone\ndetail")
            return send(path2, list(words))

    path2 = str(tmp_path / "guest2.sock")
    sock2 = serve_lines(path2, handle)
    relay_path = str(tmp_path / "host.sock")
    relay = HostControl(Cluster(), relay_path)
    assert relay.start()
    assert stat.S_IMODE(os.stat(relay_path).st_mode) == 0o600
    assert not HostControl(Cluster(), relay_path).start()  # a live lab owns the path
    assert send(relay_path, ["ok", "status"]) == (True, "answer: ok status")
    assert send(relay_path, ["hang"]) == (False, "the lab did not answer: guest gone")
    relay.close()
    sock2.close()
    assert not os.path.exists(relay_path)
    with pytest.raises(OSError):
        send(relay_path, ["ok"])


def test_syslog_receiver_alone_writes_lab_lines(tmp_path: Path) -> None:
    """``control.py syslog SOCKET FILE`` (the VRRP/state tests' syslog, run as the guest runs it):
    each datagram becomes a line from host "lab" in FILE; FILE.ready once it listens."""
    here = Path(__file__).resolve().parents[2] / "lvstui" / "lab"
    path, out = tmp_path / "log.sock", tmp_path / "var" / "syslog"
    proc = subprocess.Popen([os.path.realpath(sys.executable), "-I", "-S", str(here / "control.py"), "syslog",
                             str(path), str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while not Path(f"{out}.ready").exists():
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.05)
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as log:
            log.sendto(b"<30>Dec  1 20:00:00 Keepalived_vrrp[12]: VRRP_Instance(VI_1) Entering MASTER STATE\n",
                       str(path))
        deadline = time.monotonic() + 10
        while not out.exists() or not out.read_text():
            assert time.monotonic() < deadline, "nothing written"
            time.sleep(0.05)
        assert out.read_text() == "Dec  1 20:00:00 lab Keepalived_vrrp[12]: VRRP_Instance(VI_1) Entering MASTER STATE\n"
    finally:
        proc.kill()
        proc.wait()


def test_lab_modules_do_not_import_textual() -> None:
    """Only lvstui/ui/lab_panel.py (in the dashboard) may; the verb, the host side and the guest
    side stay light, and control.py/traffic.py run in the guest with -I -S (stdlib only)."""
    modules = ["lvstui.commands.lab", "lvstui.lab.scenario", "lvstui.lab.session", "lvstui.lab.selfcheck",
               "lvstui.lab.control", "lvstui.lab.traffic"]
    code = ("import importlib, sys\n"
            f"for m in {modules!r}: importlib.import_module(m)\n"
            "print(sorted(k for k in sys.modules if k.split('.')[0] in ('textual', 'rich')))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                       cwd=Path(__file__).resolve().parents[2])
    assert r.returncode == 0 and r.stdout.strip() == "[]", r.stdout + r.stderr
    here = Path(__file__).resolve().parents[2] / "lvstui" / "lab"
    for script in ("control.py", "traffic.py"):
        r = subprocess.run([os.path.realpath(sys.executable), "-I", "-S", str(here / script)],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 2 and "Traceback" not in r.stderr, (script, r.stderr)
