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
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Self

import paramiko

from lvstui.setup import validate
from lvstui.setup.runner import RunnerError, RunResult, ShellRunner

__all__ = ["SshOptions", "SshRunner", "fingerprint", "parse_target"]

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


class _UnknownHostKey(Exception):
    def __init__(self, name: str, key: paramiko.PKey) -> None:
        super().__init__(name)
        self.name, self.key = name, key


class _HostKeyPolicy(paramiko.MissingHostKeyPolicy):
    def __init__(self, accept: bool, confirm: HostKeyConfirm | None, known_hosts: Path) -> None:
        self.accept, self.confirm, self.known_hosts = accept, confirm, known_hosts

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        ok = self.accept or (self.confirm is not None
                             and self.confirm(hostname, key.get_name(), fingerprint(key)))
        if not ok:
            raise _UnknownHostKey(hostname, key)
        self.known_hosts.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with open(self.known_hosts, "a", encoding="ascii") as f:
            f.write(f"{hostname} {key.get_name()} {key.get_base64()}\n")
        client.get_host_keys().add(hostname, key.get_name(), key)


class SshRunner(ShellRunner):
    """A connection to one host; use as a context manager or call connect()/close()."""

    def __init__(self, target: str, options: SshOptions = SshOptions(),
                 confirm_host_key: HostKeyConfirm | None = None) -> None:
        user, host, port = parse_target(target)
        self.target = target
        self.host = host
        self.options = options
        self.confirm_host_key = confirm_host_key
        cfg = self._config(host)
        self.hostname = cfg.get("hostname", host)
        self.user = options.user or user or cfg.get("user") or getpass.getuser()
        self.port = options.port or port or int(cfg.get("port", 22))
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
        self._client: paramiko.SSHClient | None = None
        self._jump_runner: SshRunner | None = None
        self._sudo: str = ""  # "", "nopass" or "password"

    def _config(self, host: str) -> dict[str, Any]:
        path = Path(os.path.expanduser(self.options.config_file))
        if not path.is_file():
            return {}
        try:
            return dict(paramiko.SSHConfig.from_path(str(path)).lookup(host))
        except Exception as exc:  # noqa: BLE001 - a broken config is one message
            raise RunnerError(f"{host}: cannot read {path}: {exc}") from None

    # -- connection -------------------------------------------------------
    def __enter__(self) -> Self:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def connect(self) -> None:
        client = paramiko.SSHClient()
        for f in [*self.global_known_hosts, *self.known_hosts]:
            if f.is_file():
                try:
                    client.get_host_keys().load(str(f))
                except (OSError, paramiko.SSHException) as exc:
                    raise RunnerError(f"{self.host}: cannot read {f}: {exc}") from None
        client.set_missing_host_key_policy(
            _HostKeyPolicy(self.options.accept_new_host_key, self.confirm_host_key, self.known_hosts[0]))
        sock = self._jump_channel() if self.jump else None
        where = f"{self.host} ({self.user}@{self.hostname}:{self.port})"
        try:
            client.connect(self.hostname, self.port, username=self.user, password=self.options.password,
                           key_filename=self.identities or None,  # type: ignore[arg-type]  # paramiko takes a list too allow_agent=self.options.allow_agent,
                           timeout=self.options.timeout, banner_timeout=self.options.timeout,
                           auth_timeout=self.options.timeout, sock=sock)
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
        self._jump_runner = SshRunner(self.jump, jump_options, self.confirm_host_key)
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
    def _setup_sudo(self) -> None:
        if getattr(self, "_sudo_checked", False):
            return
        uid = self._raw("id -u", b"", self.options.timeout)
        if uid.ok and uid.stdout.strip() == "0":
            self._sudo = ""
            return
        probe = self._raw("sudo -n true", b"", self.options.timeout)
        if probe.ok:
            self._sudo = "nopass"
            return
        if probe.rc == 127:
            self.close()
            raise RunnerError(f"{self.host}: {self.user} is not root and sudo is not installed")
        if not self.options.sudo_password:
            self.close()
            raise RunnerError(f"{self.host}: {self.user} is not root and sudo needs a password "
                              "(none given; nothing was changed)")
        check = self._raw("sudo -k -S -p '' -- true", self.options.sudo_password.encode() + b"\n",
                          self.options.timeout)
        if not check.ok:
            self.close()
            raise RunnerError(f"{self.host}: sudo refused the password for {self.user} (nothing was changed)")
        self._sudo = "password"

    # -- execution --------------------------------------------------------
    def _exec(self, shell_text: str, stdin: bytes, timeout: float | None) -> RunResult:
        if self._sudo == "nopass":
            shell_text = "sudo -n -- " + shell_text
        elif self._sudo == "password":
            assert self.options.sudo_password is not None
            shell_text = "sudo -k -S -p '' -- " + shell_text
            stdin = self.options.sudo_password.encode() + b"\n" + stdin
        return self._raw(shell_text, stdin, timeout or self.options.command_timeout)

    def _raw(self, shell_text: str, stdin: bytes, timeout: float) -> RunResult:
        try:
            channel = self._transport().open_session(timeout=self.options.timeout)
            channel.settimeout(timeout)
            channel.exec_command(shell_text)
            if stdin:
                channel.sendall(stdin)
            channel.shutdown_write()
            out, err = bytearray(), bytearray()
            deadline = time.monotonic() + timeout
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
