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
from dataclasses import dataclass
from pathlib import Path

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


def _privsep_argv(tmp: Path, argv: list[str]) -> list[str]:
    """sshd needs its privilege separation user and /run/sshd. Where this machine has neither
    (openssh-server not installed: scripts/userland.sh unpacked it), give sshd a private mount
    namespace with a passwd that has the user and a tmpfs /run: nothing changes on the host."""
    if Path("/run/sshd").is_dir() and any(line.startswith("sshd:") for line in Path("/etc/passwd").read_text().splitlines()):
        return argv
    passwd = tmp / "passwd"
    passwd.write_text(Path("/etc/passwd").read_text() + "sshd:x:998:65534:test sshd:/run/sshd:/usr/sbin/nologin\n")
    script = ('mount -t tmpfs -o mode=755 tmpfs /run && mkdir -m 755 /run/sshd && '
              f'mount --bind {passwd} /etc/passwd && exec "$@"')
    return ["unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", script, "sh", *argv]


def start_sshd(tmp: Path) -> Sshd:
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
        f"ListenAddress 127.0.0.1:{port}\nHostKey {host_key}\nAuthorizedKeysFile {auth}\n"
        f"PidFile {tmp}/sshd.pid\nPermitRootLogin prohibit-password\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nLogLevel ERROR\n")
    process = subprocess.Popen(_privsep_argv(tmp, [SSHD, "-D", "-e", "-f", str(config)]),
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

