"""The CLI: refusals before any connection, dry runs and the no-terminal rule against a loopback sshd.

Only previews run here (read-only probes of this machine through sshd): nothing is applied.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.setup.sshd_support import Sshd

REPO = Path(__file__).resolve().parents[2]


def lvstui(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lvstui", *args], cwd=REPO, input=stdin, capture_output=True,
                          text=True, timeout=120)


def ssh_args(sshd: Sshd) -> list[str]:
    return ["--ssh-port", str(sshd.port), "--user", "root", "--identity", str(sshd.client_key),
            "--known-hosts", str(sshd.dir / "known_hosts"), "--ssh-config", str(sshd.dir / "none")]


@pytest.mark.parametrize("extra", [["--vip", "1.2.3.4; rm -rf /"], ["--vip", "10.0.0.1", "--port", "80;id"],
                                   ["--vip", "$(reboot)"]])
def test_injection_refused_before_connecting(sshd: Sshd, extra: list[str]) -> None:
    done = lvstui("setup", "realserver", "127.0.0.1", *extra, *ssh_args(sshd), "--accept-new-host-key")
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert not (sshd.dir / "known_hosts").exists()  # no connection was made


def test_bad_host_refused(sshd: Sshd) -> None:
    done = lvstui("setup", "realserver", "rs1;reboot", "--vip", "10.0.0.1")
    assert done.returncode == 2 and "host" in done.stderr


def test_unknown_key_with_yes_is_refused(sshd: Sshd) -> None:
    done = lvstui("setup", "realserver", "127.0.0.1", "--vip", "10.9.9.9", "--yes", *ssh_args(sshd))
    assert done.returncode == 1
    assert "unknown host key ssh-ed25519 SHA256:" in done.stderr and "--accept-new-host-key" in done.stderr
    assert not (sshd.dir / "known_hosts").exists()


def test_dry_run_previews_over_ssh(sshd: Sshd) -> None:
    done = lvstui("setup", "realserver", "127.0.0.1", "--vip", "10.9.9.9", "--persist", "unit", "--dry-run",
                  "--accept-new-host-key", *ssh_args(sshd))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith("127.0.0.1: plan realserver (")
    assert "change    add 10.9.9.9/32 to lo" in out and "$ ip addr add 10.9.9.9/32 dev lo" in out
    assert "+++ /etc/systemd/system/lvstui-vip.service" in out
    assert "verify    10.9.9.9/32 on lo" in out


def test_no_terminal_and_no_yes_prints_and_refuses(sshd: Sshd) -> None:
    done = lvstui("setup", "realserver", "127.0.0.1", "--vip", "10.9.9.9", "--persist", "unit",
                  "--accept-new-host-key", *ssh_args(sshd), stdin="y\n")
    assert done.returncode == 3, done.stderr
    assert "plan realserver" in done.stdout and "no terminal to confirm on" in done.stderr
    assert "changed" not in done.stderr


def test_director_form_errors_are_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "d.toml"
    bad.write_text((REPO / "examples" / "director.toml").read_text().replace('"lvs-pass"', '"far-too-long"'))
    done = lvstui("setup", "director", "--from", str(bad), "--dry-run")
    assert done.returncode == 2 and "at most 8" in done.stderr and done.stderr.count("\n") == 1
    done = lvstui("setup", "director", "--from", str(tmp_path / "missing.toml"))
    assert done.returncode == 2 and "missing.toml" in done.stderr


def _on_terminal(args: list[str], answers: list[tuple[str, str]], timeout: float = 60) -> tuple[int, str]:
    """Run lvstui on a pseudo-terminal, answering each prompt (text seen -> line typed)."""
    import os
    import pty
    import select
    import time

    pid, fd = pty.fork()
    if pid == 0:  # the child: lvstui on the terminal
        os.chdir(REPO)
        os.execv(sys.executable, [sys.executable, "-m", "lvstui", *args])
    seen = b""
    pending = list(answers)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        if pending and pending[0][0].encode() in seen:
            os.write(fd, pending.pop(0)[1].encode() + b"\n")
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), seen.decode(errors="replace")


def test_terminal_asks_for_the_host_key_then_the_plan_and_no_means_nothing(sshd: Sshd) -> None:
    rc, out = _on_terminal(["setup", "realserver", "127.0.0.1", "--vip", "10.9.9.9", "--persist", "unit",
                            *ssh_args(sshd)],
                           [("remember it in known_hosts? [y/N]", "y"), ("Apply ", "n")])
    assert "key fingerprint is SHA256:" in out and "plan realserver" in out, out
    assert rc == 3 and "not applied" in out
    assert (sshd.dir / "known_hosts").read_text() == sshd.known_hosts_line()


def test_terminal_refusing_the_host_key_changes_nothing(sshd: Sshd) -> None:
    rc, out = _on_terminal(["setup", "realserver", "127.0.0.1", "--vip", "10.9.9.9", *ssh_args(sshd)],
                           [("remember it in known_hosts? [y/N]", "n")])
    assert rc == 1 and "plan realserver" not in out, out
    # the operator said no: said so, once, without pointing at --accept-new-host-key
    assert "not accepted: not connected, not remembered (nothing was changed)" in out, out
    assert "--accept-new-host-key" not in out, out
    assert not (sshd.dir / "known_hosts").exists()
