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

SSHD = "/usr/sbin/sshd"


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


def start_sshd(tmp: Path) -> Sshd:
    if not shutil.which("ssh-keygen") or not os.path.exists(SSHD):
        raise RuntimeError("openssh-server is not installed (scripts/setup.sh installs it)")
    os.makedirs("/run/sshd", exist_ok=True)  # sshd's privilege separation directory
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
    process = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stderr=subprocess.DEVNULL)
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

