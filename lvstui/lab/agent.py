"""The lab agent: runs inside the User-Mode Linux guest, stdlib only.

Started by the guest's init (see ``boot.py``) with the host's Python. It talks to the
``Channel`` on the real host over a UML console line (``/dev/tty1`` in the guest, a pair of
pipes on the host) put into raw mode. One JSON object per line each way::

    host -> guest  {"id": 7, "op": "run", "host": "lb1", "argv": [...], "timeout": 60, ...}
    guest -> host  {"id": 7, "ok": true, "rc": 0, "out": "<base64>", "err": "<base64>"}

A request that is too long for the console line is written by the host to a file in the
shared results directory and announced as ``{"file": NAME}``. Each request is served in
its own thread, so a slow command never delays the others. Commands for a named lab host
run as ``nsenter --net --uts --root=/lab/hosts/HOST --wd=/ ARGV``.
"""

from __future__ import annotations

import base64
import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import traceback
import tty
from typing import Any

LAB_DIR = "/lab"
SPAWN_DIR = "/run/lab/spawn"
DEFAULT_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/root",
    "LANG": "C.UTF-8",
    "TERM": "dumb",
}

_write_lock = threading.Lock()
_out_fd = -1
_spawned: dict[int, subprocess.Popen[bytes]] = {}
_spawn_lock = threading.Lock()
_next_handle = 1
_log = sys.stderr


def log(message: str) -> None:
    print(f"{time.monotonic():.3f} {message}", file=_log, flush=True)


def send(message: dict[str, Any]) -> None:
    data = (json.dumps(message, separators=(",", ":")) + "\n").encode("ascii")
    with _write_lock:
        view = memoryview(data)
        while view:
            written = os.write(_out_fd, view)
            view = view[written:]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def host_root(host: str | None) -> str:
    if host is None:
        return "/"
    machine = _machines.get(host)
    if machine is not None:
        # A systemd host's own view (its /run, /tmp and /dev are its init's), while it runs.
        return f"/proc/{machine.require_leader()}/root"
    return f"{LAB_DIR}/hosts/{host}"


def command_argv(host: str | None, argv: list[str]) -> list[str]:
    if host is None:
        return argv
    machine = _machines.get(host)
    if machine is not None:
        # Every namespace of the host's init (its pid namespace too, so systemctl finds
        # systemd as pid 1), its root and working directory.
        leader = machine.require_leader()
        return ["nsenter", f"--target={leader}", "-m", "-u", "-i", "-n", "-p", "-C", "-r", "-w", "--", *argv]
    return [
        "nsenter",
        f"--net=/run/netns/{host}",
        f"--uts={LAB_DIR}/ns/{host}.uts",
        f"--root={host_root(host)}",
        # nsenter opens --wd before it chroots: name the new root as seen from here
        f"--wd={host_root(host)}",
        "--",
        *argv,
    ]


def command_env(extra: dict[str, str] | None) -> dict[str, str]:
    env = dict(DEFAULT_ENV)
    env.update(extra or {})
    return env


def kill_group(proc: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def op_ping(req: dict[str, Any]) -> dict[str, Any]:
    return {"time": time.time(), "data": req.get("data", "")}


def op_run(req: dict[str, Any]) -> dict[str, Any]:
    argv = command_argv(req.get("host"), req["argv"])
    stdin = base64.b64decode(req["input"]) if req.get("input") is not None else None
    timeout = float(req.get("timeout", 60))
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=command_env(req.get("env")),
            cwd="/",
            start_new_session=True,
        )
    except OSError as exc:
        return {"rc": 127, "out": "", "err": b64(f"{argv[0]}: {exc.strerror}\n".encode())}
    timed_out = False
    try:
        out, err = proc.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        kill_group(proc)
        out, err = proc.communicate()
    # Children that outlived the command (daemons aside, which leave the group) go too.
    kill_group(proc)
    return {"rc": proc.returncode, "out": b64(out), "err": b64(err), "timed_out": timed_out}


def op_spawn(req: dict[str, Any]) -> dict[str, Any]:
    global _next_handle
    argv = command_argv(req.get("host"), req["argv"])
    with _spawn_lock:
        handle = _next_handle
        _next_handle += 1
    os.makedirs(SPAWN_DIR, exist_ok=True)
    console = bool(req.get("console"))
    if console:
        # On the guest console, in a session of its own with the console as its
        # controlling terminal (setsid --ctty), as a program run from a getty would be.
        argv = ["setsid", "--ctty", *argv]
        tty_fd = os.open("/dev/tty0", os.O_RDWR | os.O_NOCTTY)
        streams: tuple[Any, Any, Any] = (tty_fd, tty_fd, tty_fd)
    else:
        streams = (
            subprocess.DEVNULL,
            open(f"{SPAWN_DIR}/{handle}.out", "wb"),  # noqa: SIM115 - closed after Popen has them
            open(f"{SPAWN_DIR}/{handle}.err", "wb"),  # noqa: SIM115
        )
    try:
        proc = subprocess.Popen(
            argv,
            stdin=streams[0],
            stdout=streams[1],
            stderr=streams[2],
            env=command_env(req.get("env")),
            cwd="/",
            start_new_session=not console,
        )
    finally:
        if console:
            os.close(streams[0])
        else:
            streams[1].close()
            streams[2].close()
    with _spawn_lock:
        _spawned[handle] = proc
    return {"handle": handle, "pid": proc.pid}


def _spawn_result(handle: int, proc: subprocess.Popen[bytes]) -> dict[str, Any]:
    def content(suffix: str) -> str:
        try:
            with open(f"{SPAWN_DIR}/{handle}.{suffix}", "rb") as f:
                return b64(f.read())
        except FileNotFoundError:
            return ""

    return {
        "rc": proc.returncode,
        "out": content("out"),
        "err": content("err"),
        "running": proc.returncode is None,
    }


def _get_spawned(req: dict[str, Any]) -> tuple[int, subprocess.Popen[bytes]]:
    handle = int(req["handle"])
    with _spawn_lock:
        proc = _spawned.get(handle)
    if proc is None:
        raise LookupError(f"no spawned process with handle {handle}")
    return handle, proc


def op_wait(req: dict[str, Any]) -> dict[str, Any]:
    handle, proc = _get_spawned(req)
    try:
        proc.wait(timeout=float(req.get("seconds", 60)))
    except subprocess.TimeoutExpired:
        pass
    return _spawn_result(handle, proc)


def op_poll(req: dict[str, Any]) -> dict[str, Any]:
    handle, proc = _get_spawned(req)
    proc.poll()
    return _spawn_result(handle, proc)


def op_stop(req: dict[str, Any]) -> dict[str, Any]:
    handle, proc = _get_spawned(req)
    if proc.poll() is None:
        kill_group(proc, signal.SIGTERM)
        try:
            proc.wait(timeout=float(req.get("grace", 2)))
        except subprocess.TimeoutExpired:
            kill_group(proc)
            proc.wait()
    kill_group(proc)
    return _spawn_result(handle, proc)


def _in_root(root: str, action: Any) -> dict[str, Any]:
    """Runs ``action()`` in a forked child chrooted into ``root``; returns its JSON reply."""
    if root == "/":
        return action()  # type: ignore[no-any-return]

    def chrooted() -> dict[str, Any]:
        os.chroot(root)
        os.chdir("/")
        return action()  # type: ignore[no-any-return]

    return _forked(chrooted)


def _forked(action: Any) -> dict[str, Any]:
    """Runs ``action()`` in a forked child (namespaces and root stay ours); returns its reply."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: only os-level calls from here on
        os.close(read_fd)
        try:
            reply = action()
        except OSError as exc:
            reply = {"error": f"{exc.strerror}: {exc.filename or ''}".rstrip(": ")}
        except Exception as exc:  # noqa: BLE001 - reported to the caller
            reply = {"error": repr(exc)}
        data = json.dumps(reply).encode()
        while data:
            data = data[os.write(write_fd, data) :]
        os._exit(0)
    os.close(write_fd)
    chunks = []
    while chunk := os.read(read_fd, 65536):
        chunks.append(chunk)
    os.close(read_fd)
    os.waitpid(pid, 0)
    return json.loads(b"".join(chunks))  # type: ignore[no-any-return]


def op_write_file(req: dict[str, Any]) -> dict[str, Any]:
    path = req["path"]
    data = base64.b64decode(req["data"])
    mode = int(req.get("mode", 0o644))

    def action() -> dict[str, Any]:
        os.makedirs(os.path.dirname(path) or "/", exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fchmod(fd, mode)
        finally:
            os.close(fd)
        return {}

    return _in_root(host_root(req.get("host")), action)


def op_read_file(req: dict[str, Any]) -> dict[str, Any]:
    path = req["path"]

    def action() -> dict[str, Any]:
        with open(path, "rb") as f:
            return {"data": b64(f.read())}

    return _in_root(host_root(req.get("host")), action)


CLONE_NEWNET = 0x40000000
CLONE_NEWUTS = 0x04000000
MS_RDONLY = 1
MS_BIND = 4096
MS_REC = 16384


def _libc() -> Any:
    libc = ctypes.CDLL(None, use_errno=True)
    for name in ("mount", "unshare", "setns", "sethostname"):
        getattr(libc, name).errcheck = _errcheck
    return libc


def _errcheck(result: int, func: Any, args: Any) -> int:
    if result != 0:
        err = ctypes.get_errno()
        shown = tuple(a.decode() if isinstance(a, bytes) else a for a in args)
        raise OSError(err, f"{func.__name__}{shown}: {os.strerror(err)}")
    return result


def _mount(
    libc: Any, source: str, target: str, fstype: str | None, flags: int = 0, data: str | None = None
) -> None:
    libc.mount(
        source.encode(),
        target.encode(),
        fstype.encode() if fstype else None,
        flags,
        data.encode() if data else None,
    )


def _host_lower(bare: bool = False) -> str:
    """A lab host's lower layers, as the guest root's (boot.py): passwd/group with sshd's
    user, the unpacked daemons if any (not for a bare host), the host's read-only root."""
    layers = [f"{LAB_DIR}/layer"] if os.path.isdir(f"{LAB_DIR}/layer/etc") else []
    if not bare and os.path.isdir(f"{LAB_DIR}/userland/usr"):
        layers.append(f"{LAB_DIR}/userland")
    return ":".join([*layers, f"{LAB_DIR}/lower"])


def op_setup_host(req: dict[str, Any]) -> dict[str, Any]:
    """Gives lab host NAME its own file system, UTS name and sysctls (see topology.py).

    Runs in a forked child that joins the host's network namespace first: sysfs shows the
    namespace of whoever mounts it, and /proc/sys/net that of whoever writes it.
    """
    if req.get("init") == "systemd":
        return _setup_systemd_host(req)
    name = req["name"]
    bare = bool(req.get("bare"))
    root = host_root(name)
    up = f"{LAB_DIR}/up/{name}"
    for d in (f"{up}/upper", f"{up}/work", root):
        os.makedirs(d, exist_ok=True)
    uts_file = f"{LAB_DIR}/ns/{name}.uts"
    open(uts_file, "w").close()

    def action() -> dict[str, Any]:
        libc = _libc()
        with open(f"/run/netns/{name}") as ns:
            libc.setns(ns.fileno(), CLONE_NEWNET)
        _mount(
            libc,
            "overlay",
            root,
            "overlay",
            0,
            f"lowerdir={_host_lower(bare)},upperdir={up}/upper,workdir={up}/work",
        )
        for path in ("proc", "dev", "dev/pts"):
            _mount(libc, f"/{path}", f"{root}/{path}", None, MS_BIND)
        for path, mode in (("dev/shm", "1777"), ("tmp", "1777"), ("run", "755")):
            _mount(libc, "tmpfs", f"{root}/{path}", "tmpfs", 0, f"mode={mode}")
        _mount(libc, "sysfs", f"{root}/sys", "sysfs")
        if bare:
            _bare_mounts(libc, root)
        for key, value in req.get("sysctls", {}).items():
            with open("/proc/sys/" + key.replace(".", "/"), "w") as f:
                f.write(str(value))
        libc.unshare(CLONE_NEWUTS)
        libc.sethostname(name.encode(), len(name.encode()))
        _mount(libc, "/proc/self/ns/uts", uts_file, None, MS_BIND)
        for path, text in req.get("files", {}).items():
            with open(root + path, "w") as f:
                f.write(text)
        return {}

    return _forked(action)


def _bare_apt(root: str) -> None:
    """A bare systemd host's apt, on its own disk (kept across reboots): the real machine's
    package lists, archives and extra sources hidden (whiteouts), no policy-rc.d."""
    if os.path.lexists(f"{root}/usr/sbin/policy-rc.d"):
        os.unlink(f"{root}/usr/sbin/policy-rc.d")
    for path in ("etc/apt/sources.list.d", "var/lib/apt/lists", "var/cache/apt"):
        if os.path.isdir(f"{root}/{path}"):
            shutil.rmtree(f"{root}/{path}")
        os.makedirs(f"{root}/{path}")
    for path in ("var/lib/apt/lists/partial", "var/cache/apt/archives/partial"):
        os.makedirs(f"{root}/{path}", exist_ok=True)


def _bare_mounts(libc: Any, root: str) -> None:
    """A bare host's apt starts empty (only the sources.list the request writes), without a
    container image's /usr/sbin/policy-rc.d (a minimal Debian host has none), and the
    unpacked daemons, left out of its layers, stay reachable at /lab/userland (its sshd)."""
    if os.path.lexists(f"{root}/usr/sbin/policy-rc.d"):
        os.unlink(f"{root}/usr/sbin/policy-rc.d")  # a whiteout in its own upper layer
    for path in ("etc/apt/sources.list.d", "var/lib/apt/lists", "var/cache/apt"):
        os.makedirs(f"{root}/{path}", exist_ok=True)
        _mount(libc, "tmpfs", f"{root}/{path}", "tmpfs", 0, "mode=755")
    for path in ("var/lib/apt/lists/partial", "var/cache/apt/archives/partial"):
        os.makedirs(f"{root}/{path}", exist_ok=True)
    if os.path.isdir(f"{LAB_DIR}/userland/usr"):
        os.makedirs(f"{root}{LAB_DIR}/userland", exist_ok=True)
        _mount(libc, f"{LAB_DIR}/userland", f"{root}{LAB_DIR}/userland", None, MS_BIND)

# -- systemd hosts ------------------------------------------------------------------------
# A systemd host boots Debian's systemd as the init of its own file system with
# systemd-nspawn --boot (unpacked by `scripts/userland.sh systemd-hosts`, mounted at
# SDLAND), one boot after another: a reboot or power-off inside ends that nspawn; its
# supervisor thread starts the next boot in a fresh cgroup (nspawn cannot restart a
# container in the cgroup its last boot used) unless the lab powered the host off.
SDLAND = f"{LAB_DIR}/sdland"
NSPAWN = f"{SDLAND}/usr/bin/systemd-nspawn"
NSPAWN_LIBS = f"{SDLAND}/usr/lib/x86_64-linux-gnu/systemd:{SDLAND}/usr/lib/x86_64-linux-gnu"
CGROUP = "/sys/fs/cgroup"
SETTLED = ("running", "degraded")


class Machine:
    def __init__(self, name: str, bridge: str, address: str, bare: bool = False) -> None:
        self.name = name
        # a bare host's sshd is the unpacked one at /lab/userland (left out of its layers)
        self.binds = [f"--bind-ro={LAB_DIR}/userland"] if bare and os.path.isdir(f"{LAB_DIR}/userland/usr") else []
        self.bridge = bridge
        self.address = address  # eth0's, once the host's network stack has configured it
        self.boots = 0
        self.wanted = False
        self.proc: subprocess.Popen[bytes] | None = None
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()
        self.error = ""  # why the supervisor gave up booting, if it did

    def leader(self) -> int | None:
        """The pid (in the guest) of the host's init, or None between boots."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return None
        try:
            with open(f"/proc/{proc.pid}/task/{proc.pid}/children") as f:
                children = f.read().split()
        except OSError:
            return None
        for child in children:
            try:
                with open(f"/proc/{child}/status") as f:
                    nspid = next((line.split()[1:] for line in f if line.startswith("NSpid:")), [])
            except OSError:
                continue
            if len(nspid) > 1 and nspid[-1] == "1":
                return int(child)
        return None

    def require_leader(self) -> int:
        leader = self.leader()
        if leader is None:
            raise LookupError(f"lab host {self.name} is not running (powered off or between boots)")
        return leader

    def start(self) -> None:
        with self.lock:
            self.wanted = True
            self.error = ""
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._supervise, name=f"boot-{self.name}", daemon=True)
                self.thread.start()

    def _supervise(self) -> None:
        quick_failures = 0
        while self.wanted:
            self.boots += 1
            started = time.monotonic()
            cgroup = f"{CGROUP}/lab-{self.name}-{self.boots}"
            os.makedirs(cgroup, exist_ok=True)
            # Into this boot's cgroup, then exec nspawn (so proc.pid is nspawn's).
            join = ["/bin/sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', cgroup]
            argv = [*join, NSPAWN, "--boot", "--register=no", "--keep-unit", "--quiet",
                    f"--directory={LAB_DIR}/hosts/{self.name}", f"--machine={self.name}",
                    "--private-network", f"--network-veth-extra=v-{self.name}:eth0",
                    "--console=passive", "--resolv-conf=off", "--timezone=off", "--link-journal=no", *self.binds]
            env = command_env({"LD_LIBRARY_PATH": NSPAWN_LIBS})
            with open(f"/run/labout/{self.name}.console.log", "ab") as out:
                out.write(f"\n== lab: boot {self.boots} of {self.name}\n".encode())
                out.flush()
                self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=env,
                                             cwd="/", start_new_session=True)
            self._join_bridge()
            rc = self.proc.wait()
            log(f"{self.name}: boot {self.boots} ended with status {rc}")
            try:
                os.rmdir(cgroup)
            except OSError:
                pass
            quick_failures = quick_failures + 1 if rc != 0 and time.monotonic() - started < 3 else 0
            if self.wanted and quick_failures >= 3:
                # nspawn itself fails: say why (its last lines) instead of trying for ever
                self.error = f"systemd-nspawn failed {quick_failures} times in a row, last: {self._console_tail()}"
                self.wanted = False
            elif self.wanted and quick_failures:
                time.sleep(0.5)  # a failing boot must not spin

    def _console_tail(self) -> str:
        try:
            with open(f"/run/labout/{self.name}.console.log", "rb") as f:
                lines = f.read()[-2000:].decode(errors="replace").strip().splitlines()
        except OSError:
            return "(no console log)"
        return " | ".join(line.strip() for line in lines[-3:] if line.strip())

    def _join_bridge(self) -> None:
        link = f"/sys/class/net/v-{self.name}"
        for _ in range(200):
            if os.path.exists(link) or self.proc is None or self.proc.poll() is not None:
                break
            time.sleep(0.05)
        subprocess.run(["ip", "link", "set", f"v-{self.name}", "master", self.bridge, "up"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=command_env(None), check=False)

    def systemctl(self, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(command_argv(self.name, ["systemctl", *args]), capture_output=True,
                              env=command_env(None), timeout=timeout, check=False)

    def wait_settled(self, deadline: float, old_leader: int | None = None) -> str:
        """Waits until this boot's init reports running or degraded; returns that state."""
        state = "not started"
        while time.monotonic() < deadline:
            if self.error:
                raise RuntimeError(f"lab host {self.name} does not boot: {self.error}")
            leader = self.leader()
            if leader is not None and leader != old_leader:
                try:
                    out = self.systemctl("is-system-running", timeout=10).stdout.decode().strip()
                except (LookupError, subprocess.TimeoutExpired):
                    out = ""
                state = out or "starting"
                if out in SETTLED and self._addressed():
                    return out
                if out in SETTLED:
                    state = f"{out}, eth0 without {self.address}"
            time.sleep(0.2)
        raise TimeoutError(f"lab host {self.name} did not finish booting (last state: {state})")

    def _addressed(self) -> bool:
        try:
            argv = command_argv(self.name, ["ip", "-o", "addr", "show", "dev", "eth0"])
        except LookupError:
            return False
        out = subprocess.run(argv, capture_output=True, env=command_env(None), timeout=10, check=False).stdout
        return f" {self.address}/".encode() in out

    def wait_down(self, deadline: float) -> None:
        proc = self.proc
        while proc is not None and proc.poll() is None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"lab host {self.name} did not shut down")
            time.sleep(0.1)

    def report(self, state: str, started: float) -> dict[str, Any]:
        failed = self.systemctl("list-units", "--failed", "--plain", "--no-legend").stdout.decode().split("\n")
        return {"state": state, "boots": self.boots, "seconds": time.monotonic() - started,
                "failed": [line.split()[0] for line in failed if line.strip()]}


_machines: dict[str, Machine] = {}


def _machine(req: dict[str, Any]) -> Machine:
    machine = _machines.get(req["name"])
    if machine is None:
        raise LookupError(f"{req['name']} is not a systemd lab host")
    return machine


def op_boot_host(req: dict[str, Any]) -> dict[str, Any]:
    machine = _machine(req)
    started = time.monotonic()
    if machine.leader() is None:
        machine.start()
    return machine.report(machine.wait_settled(started + float(req.get("timeout", 90))), started)


def op_reboot_host(req: dict[str, Any]) -> dict[str, Any]:
    """`systemctl reboot` in the host: its init stops every unit and ends the boot; the
    supervisor starts the next one."""
    machine = _machine(req)
    started = time.monotonic()
    deadline = started + float(req.get("timeout", 120))
    old = machine.require_leader()
    machine.systemctl("reboot", "--no-block")
    machine.wait_down(deadline)
    return machine.report(machine.wait_settled(deadline, old_leader=old), started)


def op_poweroff_host(req: dict[str, Any]) -> dict[str, Any]:
    machine = _machine(req)
    started = time.monotonic()
    machine.wanted = False
    if machine.leader() is not None:
        machine.systemctl("poweroff", "--no-block")
    try:
        machine.wait_down(started + float(req.get("timeout", 60)))
    except TimeoutError:
        if machine.proc is not None:
            kill_group(machine.proc)
    return {"boots": machine.boots, "seconds": time.monotonic() - started}


def _mount_once(source: str, target: str, fstype: str, flags: int = 0, data: str | None = None) -> None:
    with open("/proc/mounts") as f:
        if any(line.split()[1] == target for line in f):
            return
    os.makedirs(target, exist_ok=True)
    _mount(_libc(), source, target, fstype, flags, data)


def _setup_systemd_host(req: dict[str, Any]) -> dict[str, Any]:
    """A systemd host's file system: its overlay (SDLAND's systemd and ifupdown first), the
    real machine's own enabled units hidden (whiteouts in its upper layer), the lab's files
    and unit links; nspawn mounts /proc, /dev, /sys, /run and /tmp at each boot."""
    name = req["name"]
    root = f"{LAB_DIR}/hosts/{name}"
    up = f"{LAB_DIR}/up/{name}"
    for d in (f"{up}/upper", f"{up}/work", root):
        os.makedirs(d, exist_ok=True)
    _mount_once("none", SDLAND, "hostfs", MS_RDONLY, req["sdland"])
    _mount_once("none", CGROUP, "cgroup2")
    _mount(_libc(), "overlay", root, "overlay", 0,
           f"lowerdir={SDLAND}:{_host_lower(bool(req.get('bare')))},upperdir={up}/upper,workdir={up}/work")
    units = f"{root}/etc/systemd/system"
    for entry in os.listdir(units) if os.path.isdir(units) else ():
        path = f"{units}/{entry}"
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)
    for path, text in req.get("files", {}).items():
        os.makedirs(os.path.dirname(root + path), exist_ok=True)
        with open(root + path, "w") as f:
            f.write(text)
    for link, target in req.get("links", {}).items():
        os.makedirs(os.path.dirname(root + link), exist_ok=True)
        os.symlink(target, root + link)
    if req.get("bare"):
        _bare_apt(root)
    _machines[name] = Machine(name, req["bridge"], req["address"], bool(req.get("bare")))
    return {}


def op_shutdown(req: dict[str, Any]) -> dict[str, Any]:
    for machine in list(_machines.values()):
        machine.wanted = False
        if machine.proc is not None:
            kill_group(machine.proc)
    with _spawn_lock:
        procs = list(_spawned.values())
    for proc in procs:
        kill_group(proc)
    os.sync()
    threading.Thread(target=_exit_soon, daemon=True).start()
    return {}


def _exit_soon() -> None:
    # The guest's init powers off when the agent ends (poweroff refuses to run in a chroot).
    time.sleep(0.05)  # let the reply leave first
    os._exit(0)


OPS = {
    "ping": op_ping,
    "run": op_run,
    "spawn": op_spawn,
    "wait": op_wait,
    "poll": op_poll,
    "stop": op_stop,
    "write_file": op_write_file,
    "read_file": op_read_file,
    "setup_host": op_setup_host,
    "boot_host": op_boot_host,
    "reboot_host": op_reboot_host,
    "poweroff_host": op_poweroff_host,
    "shutdown": op_shutdown,
}


def serve(req: dict[str, Any], shared_dir: str) -> None:
    req_id = req.get("id")
    try:
        if "file" in req:
            name = os.path.basename(req["file"])
            path = os.path.join(shared_dir, name)
            with open(path, "rb") as f:
                req = json.loads(f.read())
            os.unlink(path)
        reply = OPS[req["op"]](req)
        if "error" in reply:
            reply = {"ok": False, "error": reply["error"]}
        else:
            reply["ok"] = True
    except Exception as exc:  # noqa: BLE001 - every failure goes back to the caller
        log(traceback.format_exc())
        reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    reply["id"] = req_id
    send(reply)


def main() -> int:
    global _out_fd, _log
    device, shared_dir = sys.argv[1], sys.argv[2]
    _log = open(os.path.join(shared_dir, "agent.log"), "a", buffering=1)  # noqa: SIM115 - the agent's life
    fd = os.open(device, os.O_RDWR | os.O_NOCTTY)
    tty.setraw(fd)
    _out_fd = fd
    send({"event": "ready", "pid": os.getpid(), "time": time.time()})
    log("agent ready")
    buffer = b""
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            # A raw tty read returns nothing only when the line hung up: the host side
            # is gone (the caller died without closing the lab). End, so init powers off.
            log("control line closed: exiting")
            return 0
        send({"rx": len(chunk)})  # flow control: the host may send this much more
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            line = line.strip()
            if not line:
                continue
            try:
                req = json.loads(line)
            except ValueError:
                log(f"bad request line: {line[:200]!r}")
                continue
            threading.Thread(target=serve, args=(req, shared_dir), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
