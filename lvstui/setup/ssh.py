"""SSH runner (paramiko): host keys checked like OpenSSH, sudo when not root, jump hosts.

Settings come from ``~/.ssh/config`` (HostName, User, Port, IdentityFile,
UserKnownHostsFile, ProxyJump) with explicit overrides.  Host keys:

* known and matching: go on;
* unknown: refused with its SHA256 fingerprint, unless accepted explicitly
  (``accept_new_host_key`` like ssh's ``accept-new``, or the *confirm_host_key*
  callback says yes); an accepted key is appended to the known_hosts file;
* changed: always refused.

Every failure is a :class:`RunnerError` whose message is one line naming the host.
"""

from __future__ import annotations

import base64
import errno
import getpass
import hashlib
import logging
import os
import secrets
import shlex
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Self

import paramiko

from lvstui.safeio import FileRefused, escape_control, read_regular
from lvstui.setup import validate
from lvstui.setup.runner import ENV, Command, RunnerError, RunResult, ShellRunner, command_text

__all__ = ["SshOptions", "SshRunner", "fingerprint", "parse_target"]

# paramiko's transport thread logs a failure (a ProxyCommand that exits, a dropped connection) with
# its traceback; with no handler Python prints that on stderr.  The failure reaches the caller as
# an exception and becomes one RunnerError line: the log adds nothing.
logging.getLogger("paramiko").addHandler(logging.NullHandler())

#: (host, key type, "SHA256:...") -> accept?
HostKeyConfirm = Callable[[str, str, str], bool]


@dataclass(frozen=True)
class SshOptions:
    user: str | None = None
    port: int | None = None
    identity: str | None = None
    jump: str | None = None
    password: str | None = None          # login password (else keys/agent)
    sudo_password: str | None = None
    accept_new_host_key: bool = False
    config_file: str = "~/.ssh/config"
    known_hosts: str | None = None       # overrides UserKnownHostsFile
    timeout: float = 10.0
    command_timeout: float = 300.0
    allow_agent: bool = True


def fingerprint(key: paramiko.PKey) -> str:
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def parse_target(text: str) -> tuple[str | None, str, int | None]:
    """``[user@]host[:port]`` (IPv6 as ``[addr]:port``) -> (user, host, port)."""
    user, _, rest = text.rpartition("@")
    port_text = None
    if rest.startswith("["):
        host, _, tail = rest[1:].partition("]")
        if tail.startswith(":"):
            port_text = tail[1:]
    elif rest.count(":") == 1:
        host, port_text = rest.split(":")
    else:
        host = rest
    return (validate.user_name(user) if user else None, validate.hostname(host),
            validate.port(port_text, "ssh port") if port_text else None)


#: known_hosts files are text of a few lines per host; a bigger one is not read.
MAX_KNOWN_HOSTS_BYTES = 16 << 20
#: How many ProxyJump hops may be chained (a loop in ~/.ssh/config would never end).
MAX_JUMPS = 8


def _usable_name(name: str) -> bool:
    """A hashed name (``|1|salt|hash``) must decode, or paramiko fails while matching any host."""
    if not name.startswith("|1|"):
        return True
    try:
        paramiko.HostKeys.hash_host("probe", name)
    except Exception:  # noqa: BLE001 - not base64 or not a salt: the line is skipped
        return False
    return True


def load_known_hosts(path: Path) -> tuple[list[paramiko.hostkeys.HostKeyEntry], set[bytes]]:
    """The entries of one known_hosts file, and the keys it marks ``@revoked``.

    As OpenSSH does, a line that cannot be parsed is skipped; ``@cert-authority`` lines are
    skipped too (lvstui does not check host certificates: such hosts need their key itself).
    """
    try:
        raw = read_regular(path, MAX_KNOWN_HOSTS_BYTES)
    except FileRefused as exc:
        raise RunnerError(f"cannot read {path}: {exc}") from None
    entries, revoked = [], set()
    for line in (raw or b"").decode("utf-8", "replace").splitlines():
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        marker = ""
        if text.startswith("@"):
            marker, _, text = text.partition(" ")
            if marker not in ("@revoked", "@cert-authority"):
                continue
        try:
            entry = paramiko.hostkeys.HostKeyEntry.from_line(text)
        except Exception:  # noqa: BLE001 - an unparsable line is skipped, as ssh does
            continue
        if entry is None or entry.key is None:
            continue
        if not all(_usable_name(name) for name in entry.hostnames):
            continue
        if marker == "@revoked":
            revoked.add(entry.key.asbytes())
        elif not marker:
            entries.append(entry)
    return entries, revoked


class _UnknownHostKey(Exception):
    def __init__(self, name: str, key: paramiko.PKey) -> None:
        super().__init__(name)
        self.name, self.key = name, key


class _RevokedHostKey(_UnknownHostKey):
    pass


class _DeclinedHostKey(_UnknownHostKey):
    """The operator was asked (the confirm callback) and said no."""


class _HostKeyPolicy(paramiko.MissingHostKeyPolicy):
    def __init__(self, accept: bool, confirm: HostKeyConfirm | None, known_hosts: Path,
                 revoked: set[bytes]) -> None:
        self.accept, self.confirm, self.known_hosts, self.revoked = accept, confirm, known_hosts, revoked

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        if key.asbytes() in self.revoked:
            raise _RevokedHostKey(hostname, key)
        if not self.accept:
            if self.confirm is None:
                raise _UnknownHostKey(hostname, key)
            if not self.confirm(hostname, key.get_name(), fingerprint(key)):
                raise _DeclinedHostKey(hostname, key)
        self.known_hosts.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with open(self.known_hosts, "a", encoding="ascii") as f:
            f.write(f"{hostname} {key.get_name()} {key.get_base64()}\n")
        client.get_host_keys().add(hostname, key.get_name(), key)


class SshRunner(ShellRunner):
    """A connection to one host; use as a context manager or call connect()/close()."""

    def __init__(self, target: str, options: SshOptions = SshOptions(),
                 confirm_host_key: HostKeyConfirm | None = None, *, _via: tuple[str, ...] = ()) -> None:
        user, host, port = parse_target(target)
        self.target = target
        self.host = host
        self.options = options
        self.confirm_host_key = confirm_host_key
        self._via = _via  # the hosts this one is reached from (ProxyJump), to stop a loop
        cfg = self._config(host)
        where = f"{host}: {self.options.config_file}"
        try:
            self.hostname = validate.hostname(cfg.get("hostname", host), "HostName")
            self.user = validate.user_name(options.user or user or cfg.get("user") or getpass.getuser())
            self.port = options.port or port or validate.port(cfg.get("port", "22"), "Port")
        except validate.ValidationError as exc:
            raise RunnerError(f"{where}: {exc}") from None
        ident = [options.identity] if options.identity else cfg.get("identityfile", [])
        self.identities = [os.path.expanduser(i) for i in ident if os.path.exists(os.path.expanduser(i))]
        if options.identity and not self.identities:
            raise RunnerError(f"{host}: identity file {options.identity} not found")
        files = options.known_hosts or cfg.get("userknownhostsfile") or "~/.ssh/known_hosts"
        self.known_hosts = [Path(os.path.expanduser(f)) for f in files.split()]
        global_files = cfg.get("globalknownhostsfile") or "/etc/ssh/ssh_known_hosts"
        self.global_known_hosts = [] if options.known_hosts else [Path(f) for f in global_files.split()]
        jump = options.jump or cfg.get("proxyjump")
        self.jump = None if jump in (None, "none") else jump
        proxy = None if options.jump else cfg.get("proxycommand")
        self.proxy_command = None if proxy in (None, "none") else proxy
        if self.jump and self.proxy_command:
            raise RunnerError(f"{where}: both ProxyJump and ProxyCommand are set for {host}: keep one")
        if self.jump and len(_via) >= MAX_JUMPS:
            raise RunnerError(f"{host}: more than {MAX_JUMPS} ProxyJump hops "
                              f"({' -> '.join((*_via, host))}): a loop in {self.options.config_file}?")
        self._client: paramiko.SSHClient | None = None
        self._jump_runner: SshRunner | None = None
        self._sudo = False  # not root: every command through sudo (see _exec)
        self._sudo_prompt = self._sudo_started = ""

    def _config(self, host: str) -> dict[str, Any]:
        path = Path(os.path.expanduser(self.options.config_file))
        try:
            raw = read_regular(path, MAX_KNOWN_HOSTS_BYTES)
        except FileRefused as exc:
            raise RunnerError(f"{host}: cannot read {path}: {exc}") from None
        if raw is None:
            return {}
        try:
            return dict(paramiko.SSHConfig.from_text(raw.decode("utf-8", "replace")).lookup(host))
        except Exception as exc:  # noqa: BLE001 - a broken config is one message
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise RunnerError(f"{host}: cannot read {path}: {reason}") from None

    # -- connection -------------------------------------------------------
    def __enter__(self) -> Self:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def connect(self) -> None:
        client = paramiko.SSHClient()
        entries: list[paramiko.hostkeys.HostKeyEntry] = []
        revoked: set[bytes] = set()
        try:
            for f in [*self.global_known_hosts, *self.known_hosts]:
                more, gone = load_known_hosts(f)
                entries += more
                revoked |= gone
        except RunnerError as exc:
            raise RunnerError(f"{self.host}: {exc}") from None
        for entry in entries:  # a key marked @revoked is never trusted, whatever line lists it
            if entry.key.asbytes() not in revoked:
                for name in entry.hostnames:
                    client.get_host_keys().add(name, entry.key.get_name(), entry.key)
        client.set_missing_host_key_policy(
            _HostKeyPolicy(self.options.accept_new_host_key, self.confirm_host_key, self.known_hosts[0], revoked))
        where = f"{self.host} ({self.user}@{self.hostname}:{self.port})"
        sock: Any = None
        if self.jump:
            sock = self._jump_channel()
        elif self.proxy_command:
            try:
                sock = paramiko.ProxyCommand(self.proxy_command)
            except (paramiko.SSHException, OSError, ValueError) as exc:
                raise RunnerError(f"{where}: ProxyCommand {self.proxy_command!r} cannot start: {exc}") from None
        try:
            client.connect(self.hostname, self.port, username=self.user, password=self.options.password,
                           key_filename=self.identities or None,  # type: ignore[arg-type]  # paramiko takes a list too
                           allow_agent=self.options.allow_agent,
                           timeout=self.options.timeout, banner_timeout=self.options.timeout,
                           auth_timeout=self.options.timeout, sock=sock)
        except _RevokedHostKey as exc:
            client.close()
            raise RunnerError(
                f"{self.host}: REFUSED: the host key {exc.key.get_name()} {fingerprint(exc.key)} of {exc.name} "
                "is marked @revoked in known_hosts (nothing was changed)") from None
        except _DeclinedHostKey as exc:
            client.close()
            raise RunnerError(
                f"{self.host}: host key {exc.key.get_name()} {fingerprint(exc.key)} of {exc.name} not accepted: "
                "not connected, not remembered (nothing was changed)") from None
        except _UnknownHostKey as exc:
            client.close()
            raise RunnerError(
                f"{self.host}: unknown host key {exc.key.get_name()} {fingerprint(exc.key)} for {exc.name}; "
                "check it and accept it with --accept-new-host-key (nothing was changed)") from None
        except paramiko.BadHostKeyException as exc:
            client.close()
            raise RunnerError(
                f"{self.host}: REFUSED: the host key CHANGED "
                f"(known_hosts has {fingerprint(exc.expected_key)}, "
                f"the server offers {fingerprint(exc.key)}); possible man-in-the-middle. If the host was "
                f"reinstalled, remove the old key with ssh-keygen -R {self.hostname}") from None
        except paramiko.AuthenticationException:
            client.close()
            how = "password" if self.options.password else "keys/agent"
            raise RunnerError(f"{where}: login refused (authentication failed with {how})") from None
        except TimeoutError:
            client.close()
            raise RunnerError(
                f"{where}: no answer within {self.options.timeout:g} s (host unreachable?)") from None
        except socket.gaierror:
            client.close()
            raise RunnerError(f"{self.host}: cannot resolve host name {self.hostname}") from None
        except paramiko.ssh_exception.NoValidConnectionsError as exc:
            client.close()
            errors = list(exc.errors.values())
            if all(isinstance(e, OSError) and e.errno == errno.ECONNREFUSED for e in errors):
                raise RunnerError(f"{where}: connection refused") from None
            first = errors[0] if errors else None
            reason = first.strerror if isinstance(first, OSError) else first
            raise RunnerError(f"{where}: host unreachable ({reason})") from None
        except paramiko.SSHException as exc:
            client.close()
            if str(exc) == "No authentication methods available":  # paramiko found nothing to try
                raise RunnerError(f"{where}: login refused (no identity file, agent key or password to try)"
                                  ) from None
            raise RunnerError(f"{where}: ssh: {exc}") from None
        except OSError as exc:
            client.close()
            raise RunnerError(f"{where}: {exc.strerror or exc}") from None
        self._client = client
        self._setup_sudo()

    def _jump_channel(self) -> paramiko.Channel:
        assert self.jump is not None
        jump_options = replace(self.options, jump=None, user=None, port=None, identity=self.options.identity,
                               password=None)
        hops = [h.strip() for h in self.jump.split(",") if h.strip()]
        if not hops:
            raise RunnerError(f"{self.host}: ProxyJump {self.jump!r} names no host")
        # "a,b": reach b through a, then this host through b
        jump_options = replace(jump_options, jump=",".join(hops[:-1]) or None)
        self._jump_runner = SshRunner(hops[-1], jump_options, self.confirm_host_key,
                                      _via=(*self._via, self.host))
        self._jump_runner.connect_transport_only()
        transport = self._jump_runner._transport()
        try:
            return transport.open_channel("direct-tcpip", (self.hostname, self.port), ("127.0.0.1", 0),
                                          timeout=self.options.timeout)
        except (paramiko.SSHException, OSError) as exc:
            self._jump_runner.close()
            raise RunnerError(f"{self.host}: jump host {self.jump} cannot reach "
                              f"{self.hostname}:{self.port}: {exc}") from None

    def connect_transport_only(self) -> None:
        """Connect without checking sudo (a jump host needs no privileges)."""
        self._sudo_checked = True
        self.connect()

    def _transport(self) -> paramiko.Transport:
        if self._client is None or self._client.get_transport() is None:
            raise RunnerError(f"{self.host}: not connected")
        transport = self._client.get_transport()
        assert transport is not None
        return transport

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._jump_runner is not None:
            self._jump_runner.close()
            self._jump_runner = None

    # -- privileges -------------------------------------------------------
    # Not root: every command runs as ``sudo -k -S -p PROMPT -- sh -c 'echo STARTED >&2; ...'``.
    # The password is sent only when PROMPT (unique per connection) appears on stderr, and the
    # command's own input only once STARTED shows that sudo let it run: whether sudo asks or
    # not (a NOPASSWD rule), the password never becomes the command's input.
    def _setup_sudo(self) -> None:
        if getattr(self, "_sudo_checked", False):
            return
        uid = self._raw("id -u", b"", self.options.timeout)
        if uid.ok and uid.stdout.strip() == "0":
            self._sudo = False
            return
        token = secrets.token_hex(8)
        self._sudo_prompt = f"[lvstui-sudo-{token}] password:"
        self._sudo_started = f"[lvstui-sudo-{token}] started"
        self._sudo = True
        probe = self._exec("true", b"", self.options.timeout)
        if probe.ok:
            return
        self.close()
        if probe.rc == _SUDO_NEEDS_PASSWORD:
            raise RunnerError(f"{self.host}: {self.user} is not root and sudo needs a password "
                              "(none given; nothing was changed)")
        if probe.rc == _SUDO_REFUSED_PASSWORD:
            raise RunnerError(f"{self.host}: sudo refused the password for {self.user} (nothing was changed)")
        if probe.rc == 127 and self._sudo_started.encode() not in probe.raw_stderr:
            raise RunnerError(f"{self.host}: {self.user} is not root and sudo is not installed")
        raise RunnerError(f"{self.host}: {self.user} is not root and sudo refused: "
                          f"{_one_line(probe.stderr) or f'exit {probe.rc}'} (nothing was changed)")

    # -- execution --------------------------------------------------------
    def _exec(self, shell_text: str, stdin: bytes, timeout: float | None) -> RunResult:
        timeout = timeout or self.options.command_timeout
        if not self._sudo:
            return self._raw(shell_text, stdin, timeout)
        return self._raw(self._under_sudo(shell_text), stdin, timeout, sudo=True)

    def _under_sudo(self, shell_text: str) -> str:
        inner = f"printf '%s\\n' {shlex.quote(self._sudo_started)} >&2; {shell_text}"
        return f"sudo -k -S -p {shlex.quote(self._sudo_prompt)} -- sh -c {shlex.quote(inner)}"

    def stream(self, command: Command, *, stall: float, first: float | None = None) -> Iterator[bytes]:
        """Run a long-lived *command* (as root, like every command here); yield its output
        line by line.  Ends when the command exits; raises :class:`RunnerError` (one line)
        when it fails, the connection drops, or no line came for *stall* seconds (*first*
        seconds for the first line, when given: a command may take longer to start)."""
        shell_text = f"{ENV} {command_text(command)}"
        out, err = bytearray(), bytearray()
        try:
            channel = self._transport().open_session(timeout=self.options.timeout)
            channel.exec_command(self._under_sudo(shell_text) if self._sudo else shell_text)
            if self._sudo:
                early = self._sudo_handshake(channel, out, err, time.monotonic() + self.options.timeout)
                if early is not None:
                    channel.close()
                    raise RunnerError(f"{self.host}: {_one_line(early.stderr) or f'exit {early.rc}'}")
            channel.shutdown_write()
            waiting = first if first is not None else stall
            channel.settimeout(waiting)
            try:
                while True:
                    while b"\n" in out:
                        line, _, rest = bytes(out).partition(b"\n")
                        out[:] = rest
                        if waiting != stall:
                            waiting = stall
                            channel.settimeout(stall)
                        yield line
                    if len(out) > MAX_STREAM_LINE:
                        raise RunnerError(f"{self.host}: a line of more than {MAX_STREAM_LINE} bytes")
                    while channel.recv_stderr_ready() and len(err) < 65536:
                        err += channel.recv_stderr(65536)
                    try:
                        data = channel.recv(65536)
                    except TimeoutError:
                        raise RunnerError(f"{self.host}: nothing for {waiting:g} s from {command_text(command)}"
                                          ) from None
                    if not data:
                        break
                    out += data
                while channel.recv_stderr_ready() and len(err) < 65536:
                    err += channel.recv_stderr(65536)
                rc = channel.recv_exit_status()
            finally:
                channel.close()
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise RunnerError(f"{self.host}: connection lost: {exc}") from None
        if out:
            yield bytes(out)
        if rc != 0:
            reason = _one_line(escape_control(err.decode("utf-8", "replace"))) or f"exit {rc}"
            raise RunnerError(f"{self.host}: {command_text(command)}: {reason}")

    def _raw(self, shell_text: str, stdin: bytes, timeout: float, *, sudo: bool = False) -> RunResult:
        try:
            channel = self._transport().open_session(timeout=self.options.timeout)
            channel.settimeout(timeout)
            channel.exec_command(shell_text)
            out, err = bytearray(), bytearray()
            deadline = time.monotonic() + timeout
            if sudo:
                early = self._sudo_handshake(channel, out, err, deadline)
                if early is not None:
                    channel.close()
                    return early
            if stdin:
                channel.sendall(stdin)
            channel.shutdown_write()
            while True:
                if channel.recv_ready():
                    out += channel.recv(65536)
                elif channel.recv_stderr_ready():
                    err += channel.recv_stderr(65536)
                elif channel.exit_status_ready():
                    break
                elif time.monotonic() > deadline:
                    channel.close()
                    return RunResult(124, bytes(out), bytes(err) + f"timed out after {timeout:g} s".encode())
                else:
                    time.sleep(0.005)
            # the command has exited: read to EOF, but a daemon it started may keep the
            # pipes open, so stop once nothing more came for a moment
            quiet_until = time.monotonic() + 1.0
            while not channel.eof_received and time.monotonic() < quiet_until:
                if channel.recv_ready():
                    out += channel.recv(65536)
                    quiet_until = time.monotonic() + 1.0
                elif channel.recv_stderr_ready():
                    err += channel.recv_stderr(65536)
                    quiet_until = time.monotonic() + 1.0
                else:
                    time.sleep(0.005)
            while channel.recv_ready():
                out += channel.recv(65536)
            while channel.recv_stderr_ready():
                err += channel.recv_stderr(65536)
            rc = channel.recv_exit_status()
            channel.close()
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise RunnerError(f"{self.host}: connection lost: {exc}") from None
        return RunResult(rc, bytes(out), bytes(err))

    def _sudo_handshake(self, channel: paramiko.Channel, out: bytearray, err: bytearray,
                        deadline: float) -> RunResult | None:
        """Answer sudo's prompt (once) and wait until the command started; None when it did.

        Otherwise the result to return: sudo wants a password none was given for, refused the
        one given (it asks again), exited without running the command, or the time ran out.
        """
        prompt, started = self._sudo_prompt.encode(), self._sudo_started.encode() + b"\n"
        answered = False
        while True:
            if started in err:
                before, _, after = bytes(err).partition(started)
                err[:] = before.replace(prompt, b"") + after
                return None
            if err.count(prompt) > int(answered):
                if answered:
                    return RunResult(_SUDO_REFUSED_PASSWORD, bytes(out), bytes(err.replace(prompt, b"")))
                if not self.options.sudo_password:
                    return RunResult(_SUDO_NEEDS_PASSWORD, bytes(out), bytes(err.replace(prompt, b"")))
                channel.sendall(self.options.sudo_password.encode() + b"\n")
                answered = True
            if channel.recv_ready():
                out += channel.recv(65536)
            elif channel.recv_stderr_ready():
                err += channel.recv_stderr(65536)
            elif channel.exit_status_ready() and not channel.recv_stderr_ready():
                while channel.recv_stderr_ready():
                    err += channel.recv_stderr(65536)
                if started in err or err.count(prompt) > int(answered):
                    continue
                return RunResult(channel.recv_exit_status(), bytes(out), bytes(err.replace(prompt, b"")))
            elif time.monotonic() > deadline:
                return RunResult(124, bytes(out), bytes(err.replace(prompt, b"")) + b"timed out waiting for sudo")
            else:
                time.sleep(0.005)


#: Exit statuses of :meth:`SshRunner._sudo_handshake` (chosen unlike any tool's).
_SUDO_NEEDS_PASSWORD = 241
#: The longest line :meth:`SshRunner.stream` takes (a snapshot of a very large table is one line).
MAX_STREAM_LINE = 256 * 1024 * 1024
_SUDO_REFUSED_PASSWORD = 242


def _one_line(text: str) -> str:
    return " ".join(text.split())[:300]
