"""``Lab``: boots a User-Mode Linux guest with IPVS and runs commands in its hosts."""

from __future__ import annotations

import base64
import os
import shlex
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Self

import lvstui
from lvstui.lab import topology
from lvstui.lab.guest import ConsoleMode, Guest
from lvstui.lab.kernel import Kernel, modules_to_load, require_uml
from lvstui.lab.results import CommandResult, LabError, LabUnavailable
from lvstui.lab.spec import HTTP_PORT, TCP_PORT, LabSpec
from lvstui.lab.userland import systemd_userland_dir

DEFAULT_TIMEOUT = 60.0
# Slack on top of a command's own timeout for the round trip through the guest.
REPLY_SLACK = 10.0
PACKAGE_DIR = Path(lvstui.__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent
SERVICES = PACKAGE_DIR / "lab" / "services.py"
KEEPALIVED_CONF = "/etc/keepalived/keepalived.conf"
KEEPALIVED_PIDS = ("/run/keepalived.pid", "/run/keepalived_vrrp.pid", "/run/keepalived_checkers.pid")


@dataclass(frozen=True)
class LabProcess:
    """A background process started by ``Lab.spawn``."""

    handle: int
    pid: int  # in the guest
    host: str | None
    argv: tuple[str, ...]


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
        kernel_args: tuple[str, ...] = (),
        uml: str | None = None,
    ) -> None:
        """``uml``: the linux.uml to boot (else ``LVSTUI_UML``, else the first that boots here:
        kernel.py); ``lab.kernel`` names the one booted."""
        if console not in (None, "pipe", "tty"):
            raise ValueError(f"console must be None, 'pipe' or 'tty', not {console!r}")
        self.spec = spec or LabSpec()
        self.umid = f"lvstui-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._guest = Guest(
            self.umid,
            mem=mem or self.spec.mem,
            console=console,
            workdir=Path(workdir) if workdir is not None else None,
            boot_timeout=boot_timeout,
            kernel_args=kernel_args,
        )
        self._uml = uml
        self.kernel: Kernel | None = None
        self.setup_seconds = 0.0
        self.services: dict[str, LabProcess] = {}  # host name -> its running services.py
        # The Python of the venv (for `lvstui`) and the real interpreter (stdlib-only helpers).
        self.venv_python = sys.executable
        self.python = os.path.realpath(sys.executable)

    # -- life cycle ---------------------------------------------------------------------
    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> Lab:
        """Boots the guest and builds the spec's hosts; on any failure, cleans up and raises."""
        if self._guest.started or self._guest.closed:
            raise LabError("a Lab can be started only once: make a new Lab")
        self.kernel = kernel = require_uml(self._uml)
        if any(h.systemd for h in self.spec.hosts):
            self._systemd_userland()
        try:
            self._guest.boot(kernel.binary, self.python, modules_to_load(kernel, self.spec.extra_modules),
                             module_dir=kernel.modules)
            self._setup()
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        """Powers the guest off (killing it if it does not stop) and removes its temp files."""
        self._guest.close()

    def _setup(self) -> None:
        started = time.monotonic()
        self.sh(None, topology.setup_script(self.spec), timeout=120).check()
        for host in self.spec.hosts:
            if host.systemd:
                args = topology.systemd_host_setup(self.spec, host, uuid.uuid4().hex)
                args["sdland"] = str(self._systemd_userland())
            else:
                args = topology.host_setup(self.spec, host)
            self._call("setup_host", 60, f"set up lab host {host.name}", **args)
        self.start_services(*(h.name for h in self.spec.hosts if h.services))
        systemd_hosts = [h.name for h in self.spec.hosts if h.systemd]
        with ThreadPoolExecutor(max_workers=max(1, len(systemd_hosts))) as pool:
            for _ in pool.map(self.boot_host, systemd_hosts):
                pass
        self.setup_seconds = time.monotonic() - started

    @staticmethod
    def _systemd_userland() -> Path:
        found = systemd_userland_dir()
        if found is None:
            raise LabUnavailable("the lab's systemd hosts need systemd-nspawn: run scripts/userland.sh systemd-hosts"
                                 " (scripts/setup.sh does), which unpacks it into lvstui's cache")
        return found

    # -- systemd hosts ----------------------------------------------------------------
    def _systemd_host(self, name: str) -> None:
        if not self.spec.host(name).systemd:
            raise LabError(f"lab host {name} has no init to boot: HostSpec(..., init='systemd') has")

    def boot_host(self, name: str, *, timeout: float = 120.0) -> dict[str, Any]:
        """Boots systemd host ``name`` (if it is not running) and waits until its init says
        running or degraded. Returns {"state", "boots", "seconds", "failed": [unit, ...]}."""
        self._systemd_host(name)
        return self._host_report(self._call("boot_host", timeout + REPLY_SLACK, f"boot lab host {name}",
                                            name=name, timeout=timeout))

    @staticmethod
    def _host_report(reply: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in reply.items() if k not in ("ok", "id")}

    def reboot_host(self, name: str, *, timeout: float = 180.0) -> dict[str, Any]:
        """``systemctl reboot`` in ``name``: its init stops every unit, the next boot starts on
        the same file system (its /etc kept; /run, /tmp and the kernel's state fresh); waits
        for that boot as ``boot_host`` does."""
        self._systemd_host(name)
        return self._host_report(self._call("reboot_host", timeout + REPLY_SLACK, f"reboot lab host {name}",
                                            name=name, timeout=timeout))

    def poweroff_host(self, name: str, *, timeout: float = 60.0) -> dict[str, Any]:
        """``systemctl poweroff`` in ``name`` (killed if it does not stop); ``boot_host`` starts
        it again. Commands for it raise LabError while it is off."""
        self._systemd_host(name)
        return self._host_report(self._call("poweroff_host", timeout + REPLY_SLACK,
                                            f"power off lab host {name}", name=name, timeout=timeout))

    def start_services(self, *hosts: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Starts the spec's services (HTTP on 80, TCP echo on 9000) in ``hosts`` and waits
        until they listen. A test that stopped them with ``stop_services`` calls this."""
        waits = []
        for name in hosts:
            host = self.spec.host(name)
            if name in self.services or not host.services:
                continue
            ready = "/run/lab-services.ready"
            argv = [self.python, "-I", "-S", str(SERVICES), name, "--ready", ready]
            if "http" in host.services:
                argv += ["--http", str(HTTP_PORT)]
            if "tcp" in host.services:
                argv += ["--tcp", str(TCP_PORT)]
            self.run(name, ["rm", "-f", ready], timeout=timeout).check()
            self.services[name] = self.spawn(name, argv, timeout=timeout)
            waits.append(f"/lab/hosts/{name}/{ready}")
        if waits:
            checks = " && ".join(f"[ -e {w} ]" for w in waits)
            script = f"for i in $(seq {int(timeout * 20)}); do {checks} && exit 0; sleep 0.05; done; exit 1"
            if not self.sh(None, script, timeout=timeout + 5).ok:
                raise LabError(f"the lab services of {', '.join(hosts)} did not start within {timeout:g} s")

    def stop_services(self, *hosts: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Stops the services of ``hosts`` (as if those servers failed)."""
        for name in hosts:
            proc = self.services.pop(name, None)
            if proc is not None:
                self.stop(proc, timeout=timeout)

    def __repr__(self) -> str:
        state = "running" if self.alive else "closed" if self._guest.closed else "not started"
        release = f" kernel={self.kernel.release}" if self.kernel else ""
        return f"<Lab {self.umid} {state}{release} hosts={list(self.spec.names)}>"

    @property
    def alive(self) -> bool:
        return self._guest.alive

    @property
    def boot_seconds(self) -> float:
        """From starting linux.uml to the agent's first answer."""
        return self._guest.boot_seconds

    @property
    def workdir(self) -> Path | None:
        """Where this lab's logs are: <workdir>/<umid>/ (console.log, out/init.log, out/agent.log)."""
        return self._guest.workdir

    @property
    def outdir(self) -> Path:
        """The one real directory the guest can write to (/run/labout in the guest)."""
        return self._guest.outdir

    @property
    def temp_dir(self) -> Path | None:
        """The lab's private temp dir (init scripts, UML's uml_dir), removed on close."""
        return self._guest.temp_dir

    def log_tail(self, lines: int = 15) -> str:
        """The last lines of the guest's console, init and agent logs."""
        return self._guest.log_tail(lines)

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        """The linux.uml process on the real host."""
        return self._guest.process

    @property
    def console_stdin(self) -> IO[bytes] | None:
        """With ``console="pipe"``: write here to type on the guest console (/dev/tty0)."""
        proc = self._guest.process
        return proc.stdin if proc is not None else None

    @property
    def console_stdout(self) -> IO[bytes] | None:
        """With ``console="pipe"``: what the guest console prints. Keep reading it: a full
        pipe stalls the guest's console output."""
        proc = self._guest.process
        return proc.stdout if proc is not None else None

    # -- commands -----------------------------------------------------------------------
    def _call(self, op: str, timeout: float, what: str, /, **args: Any) -> dict[str, Any]:
        return self._guest.call(op, timeout, what, args)

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
        input: str | bytes | None = None,  # like subprocess.run
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

    # -- the networks -------------------------------------------------------------------
    def _port(self, host: str, network: str) -> tuple[str, str]:
        self._check_host(host)
        if network == "lan":
            return topology.lan_port(host), self.spec.bridge
        if network == "mgmt":
            if host not in self.spec.mgmt:
                raise LabError(f"lab host {host} is not on the management network"
                               f" (LabSpec(mgmt=...): {', '.join(self.spec.mgmt) or 'none'})")
            return topology.mgmt_port(host), self.spec.mgmt_bridge
        raise LabError(f"bad lab network {network!r}: use 'lan' (eth0, {self.spec.bridge}) or 'mgmt'"
                       f" (eth1, {self.spec.mgmt_bridge})")

    def disconnect(self, host: str, network: str = "lan", *, timeout: float = DEFAULT_TIMEOUT) -> float:
        """Cuts ``host`` off the LAN (``network="mgmt"``: the management network): its veth end
        in the guest root leaves the bridge (``ip link set v-HOST nomaster``) and stays up, so
        the host keeps its carrier and addresses but hears no one, as behind a failed switch
        (keepalived sees no fault there: a BACKUP becomes MASTER). Returns the guest's clock
        (seconds since the epoch, like documents' ``taken_at``) just after the cut."""
        port, _ = self._port(host, network)
        return float(self.sh(None, f"ip link set {port} nomaster && date +%s.%N", timeout=timeout).check().stdout)

    def reconnect(self, host: str, network: str = "lan", *, timeout: float = DEFAULT_TIMEOUT) -> float:
        """Puts ``host`` back on the network ``disconnect`` cut it off; the guest's clock just after."""
        port, bridge = self._port(host, network)
        script = f"ip link set {port} master {bridge} up && date +%s.%N"
        return float(self.sh(None, script, timeout=timeout).check().stdout)

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
