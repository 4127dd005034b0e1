"""sudo over SSH against a real sshd and the real sudo: an unprivileged login user whose
/etc/sudoers rules exist only in sshd's private mount namespace (nothing changes on the host)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lvstui.setup.runner import RunnerError
from lvstui.setup.ssh import SshOptions, SshRunner
from tests.setup.sshd_support import Sshd, start_sshd

USER, PASSWORD = "lvtest", "s3cret-pw"
# a password for everything, except sh and env (what lvstui runs through sudo): the case where
# sudo does not ask although a password was given
MIXED = f"{USER} ALL=(ALL:ALL) ALL\n{USER} ALL=(ALL:ALL) NOPASSWD: /usr/bin/env, /bin/sh, /usr/bin/sh\n"
PASSWORD_ONLY = f"{USER} ALL=(ALL:ALL) ALL\n"


def _start(tmp_path: Path, sudoers: str) -> Iterator[Sshd]:
    server = start_sshd(tmp_path, user=USER, password=PASSWORD, sudoers=sudoers)
    (server.dir / "known_hosts").write_text(server.known_hosts_line())
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def mixed_sshd(tmp_path: Path) -> Iterator[Sshd]:
    yield from _start(tmp_path, MIXED)


@pytest.fixture
def password_sshd(tmp_path: Path) -> Iterator[Sshd]:
    yield from _start(tmp_path, PASSWORD_ONLY)


def _options(sshd: Sshd, sudo_password: str | None) -> SshOptions:
    return SshOptions(user=USER, port=sshd.port, identity=str(sshd.client_key), allow_agent=False,
                      known_hosts=str(sshd.dir / "known_hosts"), config_file=str(sshd.dir / "no_config"),
                      sudo_password=sudo_password, timeout=5.0)


def test_nopasswd_rule_never_turns_the_password_into_the_file(mixed_sshd: Sshd, tmp_path: Path) -> None:
    """The reported bug: the password, sent before sudo asked, became the first line of the file."""
    target = tmp_path / "out" / "written.conf"
    with SshRunner("127.0.0.1", _options(mixed_sshd, PASSWORD)) as runner:
        assert runner.run(["id", "-un"]).stdout == "root\n"
        runner.write_file(str(target), b"first line\nsecond line\n")
        echoed = runner.run(["cat"], stdin=b"only this\n")
    lines = target.read_text().splitlines()
    assert lines[0] == "first line", lines
    assert lines == ["first line", "second line"]
    assert echoed.stdout == "only this\n" and PASSWORD not in echoed.stdout + echoed.stderr
    assert target.stat().st_uid == 0


def test_password_sent_when_sudo_asks(password_sshd: Sshd, tmp_path: Path) -> None:
    target = tmp_path / "pw" / "written.conf"
    with SshRunner("127.0.0.1", _options(password_sshd, PASSWORD)) as runner:
        assert runner.run(["id", "-u"]).stdout == "0\n"
        runner.write_file(str(target), b"first line\n")
        echoed = runner.run(["cat"], stdin=b"input\n")
    assert target.read_text() == "first line\n"
    assert echoed.stdout == "input\n" and "lvstui-sudo" not in echoed.stderr


def test_wrong_or_missing_sudo_password_is_one_line(password_sshd: Sshd) -> None:
    with pytest.raises(RunnerError) as wrong:
        SshRunner("127.0.0.1", _options(password_sshd, "not-it")).connect()
    assert str(wrong.value) == f"127.0.0.1: sudo refused the password for {USER} (nothing was changed)"
    with pytest.raises(RunnerError) as missing:
        SshRunner("127.0.0.1", _options(password_sshd, None)).connect()
    assert "sudo needs a password (none given" in str(missing.value) and "\n" not in str(missing.value)
