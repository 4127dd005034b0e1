"""The SSH layer against a real sshd on 127.0.0.1 (read-only commands, temp files only)."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lvstui.setup.runner import RunnerError, Script
from lvstui.setup.ssh import SshOptions, SshRunner, parse_target
from tests.setup.sshd_support import Sshd, free_port, keygen


def options(sshd: Sshd, **kw: object) -> SshOptions:
    base = dict(user="root", port=sshd.port, identity=str(sshd.client_key), allow_agent=False,
                known_hosts=str(sshd.dir / "known_hosts"), config_file=str(sshd.dir / "no_config"),
                timeout=5.0)
    base.update(kw)
    return SshOptions(**base)  # type: ignore[arg-type]


def test_unknown_host_key_is_refused_with_its_fingerprint(sshd: Sshd) -> None:
    with pytest.raises(RunnerError) as err:
        SshRunner("127.0.0.1", options(sshd)).connect()
    expected = "SHA256:" + __import__("base64").b64encode(__import__("hashlib").sha256(
        __import__("base64").b64decode(sshd.host_key.with_suffix(".pub").read_text().split()[1])).digest()
    ).decode().rstrip("=")
    message = str(err.value)
    assert message.startswith("127.0.0.1: unknown host key ssh-ed25519 ")
    assert expected in message and "\n" not in message
    assert not (sshd.dir / "known_hosts").exists()


def test_accept_new_writes_known_hosts_then_runs(sshd: Sshd) -> None:
    with SshRunner("127.0.0.1", options(sshd, accept_new_host_key=True)) as runner:
        assert runner.run(["id", "-u"]).stdout.strip() == "0"
    assert (sshd.dir / "known_hosts").read_text() == sshd.known_hosts_line()
    # the second time the key is known: no acceptance needed
    with SshRunner("127.0.0.1", options(sshd)) as runner:
        assert runner.run(["echo", "a b;c"]).stdout == "a b;c\n"


def test_confirm_callback_sees_the_fingerprint(sshd: Sshd) -> None:
    seen: list[tuple[str, str, str]] = []

    def confirm(host: str, kind: str, fp: str) -> bool:
        seen.append((host, kind, fp))
        return False

    with pytest.raises(RunnerError) as err:
        SshRunner("127.0.0.1", options(sshd), confirm).connect()
    assert seen and seen[0][0] == f"[127.0.0.1]:{sshd.port}" and seen[0][2].startswith("SHA256:")
    # the operator said no: said so, without pointing at a command-line flag
    assert str(err.value) == (f"127.0.0.1: host key ssh-ed25519 {seen[0][2]} of [127.0.0.1]:{sshd.port} not "
                              "accepted: not connected, not remembered (nothing was changed)")
    assert not (sshd.dir / "known_hosts").exists()


def test_confirmed_host_key_is_remembered(sshd: Sshd) -> None:
    with SshRunner("127.0.0.1", options(sshd), lambda host, kind, fp: True) as runner:
        assert runner.run(["true"]).ok
    assert (sshd.dir / "known_hosts").read_text() == sshd.known_hosts_line()


def test_changed_host_key_is_always_refused(sshd: Sshd) -> None:
    other = keygen(sshd.dir / "other_ed25519")
    (sshd.dir / "known_hosts").write_text(sshd.known_hosts_line(other))
    with pytest.raises(RunnerError) as err:
        SshRunner("127.0.0.1", options(sshd, accept_new_host_key=True)).connect()
    assert "host key CHANGED" in str(err.value) and str(err.value).startswith("127.0.0.1: REFUSED")
    assert (sshd.dir / "known_hosts").read_text() == sshd.known_hosts_line(other)


def test_refused_login_names_the_host(sshd: Sshd) -> None:
    stranger = keygen(sshd.dir / "stranger")
    (sshd.dir / "known_hosts").write_text(sshd.known_hosts_line())
    with pytest.raises(RunnerError, match=r"^127\.0\.0\.1 \(root@127\.0\.0\.1:\d+\): login refused"):
        SshRunner("127.0.0.1", options(sshd, identity=str(stranger))).connect()


def test_closed_port_is_one_line(sshd: Sshd) -> None:
    port = free_port()
    with pytest.raises(RunnerError, match=f"127.0.0.1:{port}\\): connection refused$"):
        SshRunner("127.0.0.1", options(sshd, port=port)).connect()


def test_ssh_config_supplies_port_user_identity_and_known_hosts(sshd: Sshd) -> None:
    (sshd.dir / "kh").write_text(sshd.known_hosts_line())
    (sshd.dir / "config").write_text(
        f"Host rs9\n  HostName 127.0.0.1\n  Port {sshd.port}\n  User root\n"
        f"  IdentityFile {sshd.client_key}\n  UserKnownHostsFile {sshd.dir / 'kh'}\n")
    opts = SshOptions(config_file=str(sshd.dir / "config"), allow_agent=False, timeout=5.0)
    with SshRunner("rs9", opts) as runner:
        assert (runner.hostname, runner.port, runner.user) == ("127.0.0.1", sshd.port, "root")
        assert runner.run(Script("echo $((6*7))")).stdout == "42\n"


def test_files_over_ssh_atomic_with_backup(sshd: Sshd, tmp_path: Path) -> None:
    target = tmp_path / "work" / "f.conf"
    with SshRunner("127.0.0.1", options(sshd, accept_new_host_key=True)) as runner:
        assert runner.read_file(str(target)) is None
        runner.write_file(str(target), b"one\n", mode=0o640)
        info = runner.read_file(str(target))
        assert info is not None and (info.content, info.mode, info.owner) == (b"one\n", 0o640, "root")
        backup = tmp_path / "bk" / "f.conf"
        runner.write_file(str(target), b"two\n", backup_to=str(backup))
        assert target.read_text() == "two\n" and backup.read_text() == "one\n"
        runner.restore_file(str(target), str(backup))
        assert target.read_text() == "one\n"
        runner.restore_file(str(target), None)
        assert not target.exists()
        assert sorted(p.name for p in (tmp_path / "work").iterdir()) == []


def test_jump_host_direct_tcpip(sshd: Sshd) -> None:
    (sshd.dir / "known_hosts").write_text(sshd.known_hosts_line())
    opts = options(sshd, jump=f"root@127.0.0.1:{sshd.port}")
    with SshRunner("127.0.0.1", opts) as runner:
        assert runner._jump_runner is not None
        assert runner.run(["true"]).ok
        assert runner.run(Script("echo $SSH_CONNECTION")).stdout.split()[0] == "127.0.0.1"


def test_parse_target() -> None:
    assert parse_target("admin@rs1:2222") == ("admin", "rs1", 2222)
    assert parse_target("[2001:db8::1]:22") == (None, "2001:db8::1", 22)
    assert parse_target("2001:db8::1") == (None, "2001:db8::1", None)
    with pytest.raises(ValueError):
        parse_target("rs1;reboot")


def test_proxy_command_from_ssh_config_is_used(sshd: Sshd) -> None:
    """ProxyCommand was silently ignored (lvstui connected directly); HostName here cannot be
    reached directly, so only the proxy (a relay started by ssh config) gets through."""
    relay = sshd.dir / "relay.py"
    relay.write_text(
        "import socket, sys, threading, pathlib\n"
        "pathlib.Path(sys.argv[1]).write_text(sys.argv[2] + ' ' + sys.argv[3])\n"
        "s = socket.create_connection(('127.0.0.1', int(sys.argv[3])))\n"
        "def up():\n"
        "    while (d := sys.stdin.buffer.read1(65536)):\n"
        "        s.sendall(d)\n"
        "    s.shutdown(socket.SHUT_WR)\n"
        "threading.Thread(target=up, daemon=True).start()\n"
        "while (d := s.recv(65536)):\n"
        "    sys.stdout.buffer.write(d); sys.stdout.buffer.flush()\n")
    used = sshd.dir / "proxy-used"
    (sshd.dir / "kh").write_text(sshd.known_hosts_line().replace("[127.0.0.1]", "[unreachable.invalid]"))
    (sshd.dir / "config").write_text(
        f"Host rs9\n  HostName unreachable.invalid\n  Port {sshd.port}\n  User root\n"
        f"  IdentityFile {sshd.client_key}\n  UserKnownHostsFile {sshd.dir / 'kh'}\n"
        f"  ProxyCommand {sys.executable} {relay} {used} %h %p\n")
    opts = SshOptions(config_file=str(sshd.dir / "config"), allow_agent=False, timeout=5.0)
    with SshRunner("rs9", opts) as runner:
        assert runner.run(["echo", "through"]).stdout == "through\n"
    assert used.read_text() == f"unreachable.invalid {sshd.port}"


@pytest.mark.parametrize(("config", "expected"), [
    ("Host rs9\n  Port notanumber\n", r"^rs9: .*config: Port: 'notanumber' is not a whole number$"),
    ("Host rs9\n  Port 99999\n", r"^rs9: .*config: Port: 99999 is out of range"),
    ("Host rs9\n  User root;id\n", r"^rs9: .*config: user: 'root;id' is not a valid user name$"),
    ("Host rs9\n  HostName bad_host$(id)\n", r"^rs9: .*config: HostName: .* is not a valid host name"),
    ("Host rs9\n  ProxyJump rs9\n", r"^rs9: more than 8 ProxyJump hops \(rs9 -> rs9 ->"),
    ("Host a\n  ProxyJump b\nHost b\n  ProxyJump a\nHost rs9\n  ProxyJump a\n", r"ProxyJump hops .*a -> b -> a"),
    ("Host rs9\n  ProxyJump a\n  ProxyCommand nc %h %p\n", r"both ProxyJump and ProxyCommand"),
    ("Host rs9\n  ProxyCommand /nonexistent/proxy %h\n", r"^rs9 \(.*\): "),
])
def test_bad_ssh_config_is_one_line(sshd: Sshd, config: str, expected: str) -> None:
    (sshd.dir / "config").write_text(config)
    opts = SshOptions(config_file=str(sshd.dir / "config"), known_hosts=str(sshd.dir / "kh"), allow_agent=False,
                      timeout=3.0, identity=str(sshd.client_key), user=None)
    with pytest.raises(RunnerError) as err:
        SshRunner("rs9", opts).connect()
    assert re.search(expected, str(err.value)), str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("marker", ["@cert-authority", "@revoked"])
def test_known_hosts_markers(sshd: Sshd, marker: str) -> None:
    """@cert-authority lines are skipped (the host's own key is still needed); a key marked
    @revoked is refused even when another line lists it, and accept-new never takes it."""
    pub = sshd.host_key.with_suffix(".pub").read_text().split()
    junk = "host ssh-ed25519 !!!notbase64\n\xff\xfe garbage line\n|1|x|y ssh-rsa AAAA\n"
    (sshd.dir / "known_hosts").write_text(f"{marker} * {pub[0]} {pub[1]}\n{junk}{sshd.known_hosts_line()}",
                                          encoding="latin-1")
    if marker == "@cert-authority":
        with SshRunner("127.0.0.1", options(sshd)) as runner:
            assert runner.run(["true"]).ok
        return
    with pytest.raises(RunnerError) as err:
        SshRunner("127.0.0.1", options(sshd, accept_new_host_key=True)).connect()
    assert "is marked @revoked" in str(err.value) and str(err.value).startswith("127.0.0.1: REFUSED")


def test_allow_agent_is_honoured(sshd: Sshd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The client key only in a real ssh-agent: used with allow_agent, never without."""
    sock = tmp_path / "agent.sock"
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(sock)], stdout=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if sock.exists():
                break
            time.sleep(0.05)
        monkeypatch.setenv("SSH_AUTH_SOCK", str(sock))
        subprocess.run(["ssh-add", "-q", str(sshd.client_key)], check=True, capture_output=True)
        (sshd.dir / "known_hosts").write_text(sshd.known_hosts_line())
        with SshRunner("127.0.0.1", options(sshd, identity=None, allow_agent=True)) as runner:
            assert runner.run(["true"]).ok
        with pytest.raises(RunnerError, match=r"login refused \(no identity file, agent key or password to try\)$"):
            SshRunner("127.0.0.1", options(sshd, identity=None, allow_agent=False)).connect()
    finally:
        agent.terminate()
        agent.wait(5)
