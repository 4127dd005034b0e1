"""Which peer a command line names: --peer before or after the verb, [peer] in config.toml as the
default, `--peer none` to turn it off, and bad values as one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from lvstui.cli import build_parser
from lvstui.commands.errors import CliError
from lvstui.commands.peer_args import peer_target


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    path = tmp_path / "lvstui" / "config.toml"
    path.parent.mkdir()
    return path


def target(*argv: str):  # type: ignore[no-untyped-def]
    return peer_target(build_parser().parse_args(list(argv)))


def test_before_or_after_the_verb(config: Path) -> None:
    for argv in (["--peer", "root@lb2:2222", "snapshot"], ["snapshot", "--peer", "root@lb2:2222"]):
        peer = target(*argv)
        assert peer is not None and peer.target == "root@lb2:2222" and peer.command == ("lvstui",), argv
        assert peer.origin == "--peer" and not peer.accept_new_host_key
    peer = target("--peer", "lb2", "snapshot", "--peer-command", "sudo /opt/lvstui/bin/lvstui",
                  "--accept-new-host-key")
    assert peer is not None and peer.command == ("sudo", "/opt/lvstui/bin/lvstui") and peer.accept_new_host_key
    assert target("snapshot") is None


def test_the_config_file_is_the_default_and_the_flags_win(config: Path) -> None:
    config.write_text('[peer]\nhost = "lb2"\ncommand = "/usr/local/bin/lvstui"\nidentity = "/root/k"\n')
    peer = target("snapshot")
    assert peer is not None and (peer.target, peer.command, peer.identity) == ("lb2", ("/usr/local/bin/lvstui",),
                                                                              "/root/k")
    assert peer.origin == str(config)
    peer = target("snapshot", "--peer", "lb3", "--peer-identity", "/root/other")
    assert peer is not None and (peer.target, peer.command, peer.identity) == ("lb3", ("/usr/local/bin/lvstui",),
                                                                              "/root/other")
    assert target("--peer", "none", "snapshot") is None


@pytest.mark.parametrize(("text", "message"), [
    ('[peer]\ncommand = "lvstui"\n', "[peer] needs host"),
    ('[peer]\nhost = 5\n', "[peer] host must be a non-empty string"),
    ('[peer]\nhost = "lb2"\nport = 22\n', "[peer] has no 'port'"),
    ('peer = "lb2"\n', "[peer] must be a table"),
])
def test_a_bad_peer_table_is_one_line(config: Path, text: str, message: str) -> None:
    config.write_text(text)
    with pytest.raises(CliError) as err:
        target("snapshot")
    assert message in str(err.value) and str(config) in str(err.value) and err.value.status == 2


@pytest.mark.parametrize("argv", [["--peer", "lb2;reboot", "snapshot"], ["--peer", "lb2:99999", "snapshot"],
                                  ["--peer", "lb2", "--peer-command", "'unclosed", "snapshot"],
                                  ["--peer", "lb2", "--peer-command", "", "snapshot"]])
def test_bad_values_are_refused_before_connecting(config: Path, argv: list[str]) -> None:
    with pytest.raises(CliError) as err:
        target(*argv)
    assert err.value.status == 2 and "\n" not in str(err.value)
