"""The lab's control server: runs in the guest's root namespace, stdlib only.

``lvstui lab`` starts it with the real Python (``-I -S``); it supervises what a user may
break (each real server's HTTP and TCP services, keepalived in each director, the
client's traffic) and listens on unix sockets: ``/run/lvstui-lab.sock`` in the guest root
and ``/run/lvstui-lab.sock`` inside every director's own file system, so a program in lb1
reaches it with ``LVSTUI_LAB_CONTROL=/run/lvstui-lab.sock``.  It also receives syslog on
``/dev/log`` (shared by every lab host) and appends it to each director's /var/log/syslog,
so keepalived's log lines reach the dashboard's log pane.

Protocol: one line of words per connection (``stop rs1 http``), one JSON line back:
``{"ok": true, "message": "..."}``.  ``serve_lines`` and ``send`` are its one server and
client: ``lvstui lab``'s relay on the real host (session.py), ``lvstui lab ctl`` and the
lab panel use them too.  They live here, not in a module of their own, because the guest
runs this file by itself (``python -I -S control.py``: no package, no sys.path).  Usage::

    control.py serve CONFIG.json        # the server
    control.py send SOCKET WORD...      # one request, prints the message; exit 0 ok, 1 refused
    control.py syslog SOCKET FILE       # only the syslog receiver (into FILE; FILE.ready once bound)
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TextIO

SOCKET_NAME = "/run/lvstui-lab.sock"
TRAFFIC_STATE = "/run/lvstui-traffic.json"
TRAFFIC_STATS = "/run/lvstui-traffic.stats"
KINDS = ("http", "tcp")

HELP = """\
actions:
  status                      what runs where, the traffic and its answers
  stop|start|restart RS [http|tcp]   a real server's services (rs1..rs3; both if no kind)
  stop|start keepalived LB    keepalived in a director (lb1, lb2)
  load N                      steady HTTP requests per second (0-200)
  burst [SECONDS]             a burst of HTTP load (+30 req/s, default 15 s)
  hold N                      long-lived TCP connections to port 9000 (0-200)
  drain RS / restore RS       lvstui drain-host / restore-host of RS's address, in lb1"""
SYSTEMD_HELP = """
  reboot|poweroff|boot SD     a systemd host (lvstui lab --systemd-hosts: sd1 with systemd-networkd,
                              sd2 with ifupdown): its init stops every unit, the next boot starts
                              on the same file system"""


class ActionRefused(Exception):
    pass


# -- the line protocol: one request line of words, one JSON line back ------------------
Handler = Callable[[list[str]], tuple[bool, str]]
MAX_REQUEST = 4096


def bind_unix(path: str, kind: socket.SocketKind, mode: int) -> socket.socket:
    """A unix socket bound at ``path`` (a stale socket file there is replaced), mode ``mode``."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    sock = socket.socket(socket.AF_UNIX, kind)
    sock.bind(path)
    os.chmod(path, mode)
    return sock


def answer_one(conn: socket.socket, handle: Handler) -> None:
    """Reads one request line (at most MAX_REQUEST bytes, 30 s), answers ``handle(words)``
    as ``{"ok": ..., "message": ...}``, closes the connection.  A client that goes away
    is not an error of the server."""
    with conn:
        try:
            conn.settimeout(30)
            data = b""
            while b"\n" not in data and len(data) < MAX_REQUEST:
                chunk = conn.recv(MAX_REQUEST)
                if not chunk:
                    break
                data += chunk
            ok, message = handle(data.decode("utf-8", "replace").split())
            conn.settimeout(None)  # the answer may take as long as the action did
            conn.sendall((json.dumps({"ok": ok, "message": message}) + "\n").encode())
        except OSError:
            pass


def serve_lines(path: str, handle: Handler, mode: int = 0o666, name: str = "lab-control") -> socket.socket:
    """Listens on the unix socket ``path``; each connection is answered in its own thread.
    Closing the returned socket stops the accepting thread."""
    sock = bind_unix(path, socket.SOCK_STREAM, mode)
    sock.listen(16)

    def accept() -> None:
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:  # closed
                return
            threading.Thread(target=answer_one, args=(conn, handle), daemon=True).start()

    threading.Thread(target=accept, name=name, daemon=True).start()
    return sock


def host_root(host: str) -> str:
    return f"/lab/hosts/{host}"


def in_host(host: str, argv: list[str]) -> list[str]:
    root = host_root(host)
    return ["nsenter", f"--net=/run/netns/{host}", f"--uts=/lab/ns/{host}.uts", f"--root={root}",
            f"--wd={root}", "--", *argv]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is not alive
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def write_json(path: str, data: dict[str, Any]) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump(data, f)
    os.replace(tmp, path)


class Control:
    def __init__(self, config: dict[str, Any]) -> None:
        self.cfg = config
        self.vip: str = config["vip"]
        self.addresses: dict[str, str] = config["addresses"]
        self.real_servers: list[str] = config["real_servers"]
        self.directors: list[str] = config["directors"]
        self.client: str = config["client"]
        self.procs: dict[tuple[str, str], subprocess.Popen[bytes]] = {}
        self.traffic: subprocess.Popen[bytes] | None = None
        self.load = {"rate": float(config.get("rate", 5)), "burst_until": 0.0,
                     "burst_rate": float(config.get("burst_rate", 30)), "hold": int(config.get("hold", 9)),
                     "life": config.get("life", [8, 30])}
        self.lock = threading.Lock()
        # open for the server's life: the services' and keepalived's output go here too
        self.log: TextIO = open(config.get("log", "/run/labout/control.log"), "a", buffering=1)  # noqa: SIM115

    def say(self, message: str) -> None:
        self.log.write(f"{time.monotonic():.3f} {message}\n")

    # -- processes ----------------------------------------------------------------------
    def _spawn(self, host: str, argv: list[str]) -> subprocess.Popen[bytes]:
        env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
        return subprocess.Popen(in_host(host, argv), stdin=subprocess.DEVNULL, stdout=self.log,
                                stderr=self.log, env=env, cwd="/", start_new_session=True)

    @staticmethod
    def _end(proc: subprocess.Popen[bytes], grace: float = 3.0) -> None:
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue

    def _listening(self, host: str, port: int) -> bool:
        try:
            with socket.create_connection((self.addresses[host], port), timeout=1):
                return True
        except OSError:
            return False

    def start_service(self, host: str, kind: str, wait: bool = True) -> str:
        proc = self.procs.get((host, kind))
        if proc is not None and proc.poll() is None:
            return f"{host} {kind} is already running"
        port = self.cfg["ports"][kind]
        argv = [self.cfg["python"], "-I", "-S", self.cfg["services_py"], host, f"--{kind}", str(port)]
        self.procs[(host, kind)] = self._spawn(host, argv)
        if wait:
            self.wait_listening(host, kind)
        return f"{host} {kind} started (port {port})"

    def wait_listening(self, host: str, kind: str) -> None:
        port = self.cfg["ports"][kind]
        deadline = time.monotonic() + 30
        while not self._listening(host, port):
            if time.monotonic() > deadline or self.procs[(host, kind)].poll() is not None:
                raise ActionRefused(f"{host} {kind} did not start listening on port {port}")
            time.sleep(0.05)

    def stop_service(self, host: str, kind: str) -> str:
        proc = self.procs.pop((host, kind), None)
        if proc is None or proc.poll() is not None:
            return f"{host} {kind} is not running"
        self._end(proc)
        return f"{host} {kind} stopped (port {self.cfg['ports'][kind]} refuses connections now)"

    def keepalived_pid(self, host: str) -> int | None:
        try:
            with open(f"{host_root(host)}/run/keepalived.pid") as f:
                pid = int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        return pid if alive(pid) else None

    def stop_keepalived(self, host: str) -> str:
        pid = self.keepalived_pid(host)
        if pid is None:
            return f"keepalived is not running in {host}"
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        while alive(pid):
            if time.monotonic() > deadline:
                raise ActionRefused(f"keepalived in {host} (pid {pid}) did not stop within 20 s")
            time.sleep(0.1)
        return f"keepalived stopped in {host} (its VIP and IPVS services are gone from {host})"

    def start_keepalived(self, host: str) -> str:
        if self.keepalived_pid(host) is not None:
            return f"keepalived is already running in {host}"
        argv = in_host(host, self.cfg["keepalived_argv"])
        r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise ActionRefused(f"keepalived did not start in {host}: {(r.stderr or r.stdout).strip()[:300]}")
        deadline = time.monotonic() + 20
        while self.keepalived_pid(host) is None:
            if time.monotonic() > deadline:
                raise ActionRefused(f"keepalived did not come up in {host} within 20 s")
            time.sleep(0.1)
        return f"keepalived started in {host}"

    # -- traffic ------------------------------------------------------------------------
    def write_load(self) -> None:
        write_json(host_root(self.client) + TRAFFIC_STATE, {**self.load, "vip": self.vip})

    def start_traffic(self) -> str:
        if self.traffic is not None and self.traffic.poll() is None:
            return "traffic is already running"
        self.write_load()
        argv = [self.cfg["python"], "-I", "-S", self.cfg["traffic_py"], TRAFFIC_STATE, TRAFFIC_STATS]
        self.traffic = self._spawn(self.client, argv)
        return "traffic started"

    def stats(self) -> dict[str, Any]:
        try:
            with open(host_root(self.client) + TRAFFIC_STATS) as f:
                data: dict[str, Any] = json.load(f)
                return data
        except (OSError, ValueError):
            return {}

    def status(self) -> str:
        lines = []
        for host in self.real_servers:
            state = [f"{k} {'up' if (p := self.procs.get((host, k))) and p.poll() is None else 'STOPPED'}"
                     for k in KINDS]
            lines.append(f"{host} ({self.addresses[host]}): {', '.join(state)}")
        for host in self.directors:
            pid = self.keepalived_pid(host)
            lines.append(f"{host}: keepalived {'pid ' + str(pid) if pid else 'STOPPED'}")
        s = self.stats()
        burst = max(0.0, self.load["burst_until"] - time.time())
        lines.append(f"traffic: {self.load['rate']:g} req/s" + (f" + burst {burst:.0f} s" if burst else "")
                     + f", {self.load['hold']} long-lived TCP connections wanted, {s.get('held', 0)} held")
        if s:
            hosts = ", ".join(f"{h} {n}" for h, n in sorted(s.get("by_host", {}).items()))
            lines.append(f"answers: {s.get('ok', 0)} ok ({hosts}), {s.get('failed', 0)} failed")
        return "\n".join(lines)

    def menu(self) -> str:
        """The actions a panel offers, one per line: WORDS<TAB>label."""
        items = []
        for host in self.real_servers:
            for kind, label in (("http", "HTTP (port 80)"), ("tcp", "TCP echo (port 9000)")):
                items.append((f"stop {host} {kind}", f"{host}: stop {label}"))
                items.append((f"start {host} {kind}", f"{host}: start {label}"))
        for host in self.directors:
            items.append((f"stop keepalived {host}", f"{host}: stop keepalived"))
            items.append((f"start keepalived {host}", f"{host}: start keepalived"))
        items += [("burst 15", f"client: burst, +{self.load['burst_rate']:g} HTTP requests/s for 15 s"),
                  ("load 20", "client: steady HTTP load 20 requests/s"),
                  ("load 5", "client: steady HTTP load 5 requests/s (the start)"),
                  ("hold 30", "client: hold 30 long-lived TCP connections"),
                  ("hold 9", "client: hold 9 long-lived TCP connections (the start)")]
        return "\n".join(f"{words}\t{label}" for words, label in items)

    # -- requests -----------------------------------------------------------------------
    def _rs(self, name: str) -> str:
        if name not in self.real_servers:
            raise ActionRefused(f"no real server {name!r} (real servers: {', '.join(self.real_servers)})")
        return name

    def _lb(self, name: str) -> str:
        if name not in self.directors:
            raise ActionRefused(f"no director {name!r} (directors: {', '.join(self.directors)})")
        return name

    @staticmethod
    def _number(word: str, low: float, high: float, what: str) -> float:
        try:
            value = float(word)
        except ValueError:
            raise ActionRefused(f"{what} must be a number, not {word!r}") from None
        if not low <= value <= high:
            raise ActionRefused(f"{what} must be between {low:g} and {high:g}, not {word}")
        return value

    def handle(self, words: list[str]) -> str:
        if not words or words[0] in ("help", "actions"):
            return HELP + (SYSTEMD_HELP if self.cfg.get("systemd_hosts") else "")
        verb, rest = words[0], words[1:]
        if verb == "status" and not rest:
            return self.status()
        if verb == "menu" and not rest:
            return self.menu()
        if verb == "start-traffic" and not rest:
            return self.start_traffic()
        if verb in ("stop", "start", "restart") and rest:
            if rest[0] == "keepalived" and len(rest) == 2 and verb != "restart":
                host = self._lb(rest[1])
                return self.stop_keepalived(host) if verb == "stop" else self.start_keepalived(host)
            if rest[0] in self.directors and len(rest) == 1 and verb != "restart":
                return self.stop_keepalived(rest[0]) if verb == "stop" else self.start_keepalived(rest[0])
            host = self._rs(rest[0])
            if len(rest) > 2 or (len(rest) == 2 and rest[1] not in KINDS):
                raise ActionRefused(f"{verb} {host} takes http, tcp or nothing (both), not {' '.join(rest[1:])!r}")
            kinds = [rest[1]] if len(rest) == 2 else list(KINDS)
            out = []
            for kind in kinds:
                if verb in ("stop", "restart"):
                    out.append(self.stop_service(host, kind))
                if verb in ("start", "restart"):
                    out.append(self.start_service(host, kind))
            return "\n".join(out)
        if verb == "load" and len(rest) == 1:
            self.load["rate"] = self._number(rest[0], 0, 200, "load (requests per second)")
            self.write_load()
            return f"steady HTTP load set to {self.load['rate']:g} requests per second"
        if verb == "burst" and len(rest) <= 1:
            seconds = self._number(rest[0], 1, 600, "burst seconds") if rest else 15.0
            self.load["burst_until"] = time.time() + seconds
            self.write_load()
            return f"burst: +{self.load['burst_rate']:g} requests per second for {seconds:g} s"
        if verb == "hold" and len(rest) == 1:
            self.load["hold"] = int(self._number(rest[0], 0, 200, "hold (connections)"))
            self.write_load()
            return f"holding {self.load['hold']} long-lived TCP connections to {self.vip}:9000"
        if verb in ("drain", "restore") and len(rest) in (1, 2):
            host = self._rs(rest[0])
            lb = self._lb(rest[1]) if len(rest) == 2 else self.directors[0]
            argv = [self.cfg["venv_python"], "-m", "lvstui", f"{verb}-host", self.addresses[host]]
            env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
                   "HOME": "/root", "PYTHONPATH": self.cfg["repo"]}
            r = subprocess.run(in_host(lb, argv), capture_output=True, text=True, timeout=120, env=env)
            text = (r.stdout + r.stderr).strip()
            if r.returncode != 0:
                command = f"lvstui {verb}-host {self.addresses[host]}"
                raise ActionRefused(f"{command} in {lb} failed ({r.returncode}): {text}")
            return text or f"{verb} {host}: done"
        raise ActionRefused(f"unknown action {' '.join(words)!r}; try 'help'")

    def answer(self, words: list[str]) -> tuple[bool, str]:
        """One request, one at a time: (ok, message); a refusal or a failure is the message."""
        self.say(f"request: {words}")
        try:
            with self.lock:
                ok, message = True, self.handle(words)
        except ActionRefused as exc:
            ok, message = False, str(exc)
        except Exception as exc:  # noqa: BLE001 - reported to the caller
            ok, message = False, f"{type(exc).__name__}: {exc}"
        reply = {"ok": ok, "message": message}
        self.say(f"reply: {reply}")
        return ok, message

    def listen(self, path: str) -> None:
        serve_lines(path, self.answer)

    def syslog(self, path: str = "/dev/log") -> None:
        relay_syslog(path, [f"{host_root(h)}/var/log/syslog" for h in self.directors])

    def shutdown(self, *_: object) -> None:
        for proc in [*self.procs.values(), *([self.traffic] if self.traffic else [])]:
            self._end(proc, grace=1)
        sys.exit(0)


def relay_syslog(path: str, files: list[str]) -> threading.Thread:
    """A syslog receiver on the unix datagram socket ``path`` (``/dev/log``): each message is
    appended to every file of ``files`` as a syslog line from host "lab".  Returns its thread,
    started once the socket is bound."""
    sock = bind_unix(path, socket.SOCK_DGRAM, 0o666)
    for f in files:
        os.makedirs(os.path.dirname(f), exist_ok=True)

    def receive() -> None:
        while True:
            msg = sock.recv(65536).decode("utf-8", "replace")
            msg = re.sub(r"^<\d+>", "", msg).rstrip("\n\0")
            line = msg[:15] + " lab " + msg[16:] if len(msg) > 16 else msg
            for f in files:
                with open(f, "a") as fh:
                    fh.write(line + "\n")

    thread = threading.Thread(target=receive, name="lab-syslog", daemon=True)
    thread.start()
    return thread


def serve(config_path: str) -> int:
    with open(config_path) as f:
        control = Control(json.load(f))
    signal.signal(signal.SIGTERM, control.shutdown)
    control.syslog()
    for host in control.real_servers:  # all at once: Python starts slowly in UML
        for kind in KINDS:
            control.start_service(host, kind, wait=False)
    for host in control.real_servers:
        for kind in KINDS:
            control.wait_listening(host, kind)
    control.listen(SOCKET_NAME)
    for host in control.directors:
        control.listen(host_root(host) + SOCKET_NAME)
    open(control.cfg["ready"], "w").close()
    control.say("ready")
    while True:
        time.sleep(3600)


def send(path: str, words: list[str], timeout: float = 150.0) -> tuple[bool, str]:
    """One request to a control socket: (ok, message)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(path)
        sock.sendall((" ".join(words) + "\n").encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    reply = json.loads(data.decode())
    return bool(reply["ok"]), str(reply["message"])


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "serve":
        return serve(argv[1])
    if len(argv) == 3 and argv[0] == "syslog":  # syslog alone, for lab tests without the server
        receiver = relay_syslog(argv[1], [argv[2]])
        open(argv[2] + ".ready", "w").close()
        receiver.join()
        return 0
    if len(argv) >= 2 and argv[0] == "send":
        try:
            ok, message = send(argv[1], argv[2:])
        except (OSError, ValueError) as exc:
            print(f"lab control at {argv[1]}: {exc}", file=sys.stderr)
            return 2
        print(message, file=sys.stdout if ok else sys.stderr)
        return 0 if ok else 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
