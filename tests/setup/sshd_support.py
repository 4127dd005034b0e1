"""A real OpenSSH server on 127.0.0.1 (high port) for testing the SSH layer.

Only loopback, only a temporary host key and authorized_keys; the tests run
read-only commands and touch files in their own temporary directory.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from lvstui.lab.userland import tool_path

SSHD = tool_path("sshd") or "/usr/sbin/sshd"  # the system's, else scripts/userland.sh's


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def keygen(path: Path, kind: str = "ed25519") -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-f", str(path)], check=True)
    return path


@dataclass
class Sshd:
    port: int
    dir: Path
    host_key: Path
    client_key: Path
    process: subprocess.Popen[bytes]

    def known_hosts_line(self, key: Path | None = None) -> str:
        pub = (key or self.host_key).with_suffix(".pub").read_text().split()
        return f"[127.0.0.1]:{self.port} {pub[0]} {pub[1]}\n"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(5)


def _privsep_argv(tmp: Path, argv: list[str], user: str | None = None, password: str | None = None,
                  sudoers: str | None = None, setup: tuple[str, ...] = ()) -> list[str]:
    """sshd needs its privilege separation user and /run/sshd. Where this machine has neither
    (openssh-server not installed: scripts/userland.sh unpacked it), give sshd a private mount
    namespace with a passwd that has the user and a tmpfs /run: nothing changes on the host.

    With *user*: an unprivileged login user (its home in *tmp*, *password* for sudo) and
    *sudoers* as /etc/sudoers, both seen only inside that namespace.  *setup*: more shell
    commands run in the namespace before sshd starts (a tmpfs over a directory, files in it)."""
    has_privsep = Path("/run/sshd").is_dir() and any(
        line.startswith("sshd:") for line in Path("/etc/passwd").read_text().splitlines())
    if has_privsep and user is None and not setup:
        return argv
    lines = Path("/etc/passwd").read_text()
    if not any(line.startswith("sshd:") for line in lines.splitlines()):
        lines += "sshd:x:998:65534:test sshd:/run/sshd:/usr/sbin/nologin\n"
    mounts = []
    if user is not None:
        # its home and authorized_keys on the namespace's /run (pytest's tmp is root's 0700)
        lines += f"{user}:x:4242:4242:lvstui test user:/run/lvstui-test:/bin/sh\n"
        pw_hash = subprocess.run(["openssl", "passwd", "-6", password or "unused"], capture_output=True,
                                 text=True, check=True).stdout.strip()
        shadow = tmp / "shadow"
        shadow.write_text(Path("/etc/shadow").read_text() + f"{user}:{pw_hash}:20000:0:99999:7:::\n")
        shadow.chmod(0o640)
        rules = tmp / "sudoers"
        rules.write_text("Defaults !lecture\nroot ALL=(ALL:ALL) ALL\n" + (sudoers or ""))
        rules.chmod(0o440)
        empty = tmp / "sudoers.d"
        empty.mkdir(exist_ok=True)
        mounts += ["mkdir -m 755 /run/lvstui-test", f"cp {tmp}/authorized_keys /run/lvstui-test/",
                   "chmod 644 /run/lvstui-test/authorized_keys", f"mount --bind {shadow} /etc/shadow",
                   f"mount --bind {rules} /etc/sudoers",
                   f"mount --bind {empty} /etc/sudoers.d"]
    passwd = tmp / "passwd"
    passwd.write_text(lines)
    run = "mount -t tmpfs -o mode=755 tmpfs /run && mkdir -m 755 /run/sshd"
    script = " && ".join([run, f"mount --bind {passwd} /etc/passwd", *mounts, *setup, 'exec "$@"'])
    return ["unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", script, "sh", *argv]


def start_sshd(tmp: Path, user: str | None = None, password: str | None = None,
               sudoers: str | None = None, setup: tuple[str, ...] = ()) -> Sshd:
    if not shutil.which("ssh-keygen") or not os.path.exists(SSHD):
        raise RuntimeError("openssh-server is not available (scripts/setup.sh provides it)")
    host_key = keygen(tmp / "host_ed25519")
    client_key = keygen(tmp / "client_ed25519")
    auth = tmp / "authorized_keys"
    auth.write_text(client_key.with_suffix(".pub").read_text())
    auth.chmod(0o600)
    port = free_port()
    config = tmp / "sshd_config"
    config.write_text(
        f"ListenAddress 127.0.0.1:{port}\nHostKey {host_key}\n"
        f"AuthorizedKeysFile {auth} /run/lvstui-test/authorized_keys\n"
        f"PidFile {tmp}/sshd.pid\nPermitRootLogin prohibit-password\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nLogLevel ERROR\n")
    process = subprocess.Popen(_privsep_argv(tmp, [SSHD, "-D", "-e", "-f", str(config)], user, password, sudoers,
                                             setup),
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    else:
        process.kill()
        raise RuntimeError("sshd did not start")
    return Sshd(port, tmp, host_key, client_key, process)


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[Sshd]:
    """A real sshd on 127.0.0.1 for one test (conftest.py files import this fixture)."""
    server = start_sshd(tmp_path)
    try:
        yield server
    finally:
        server.stop()
