"""The fleet file: what it accepts, and one line naming the place for everything it refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from lvstui.cli import main
from lvstui.fleet.spec import DirectorSpec, FleetError, load_fleet, parse_fleet

REPO = Path(__file__).resolve().parents[2]

GOOD = """
[defaults]
command = "sudo lvstui"
identity = "~/.ssh/fleet"
port = 2200

[[pair]]
name = "web"
directors = [{ host = "root@lb1" }, { host = "root@lb2:22", identity = "/k", accept_new_host_key = true }]

[[pair]]
name = "solo"
directors = [{ host = "[2001:db8::1]", command = "lvstui", port = 22 }]
"""


def test_a_good_file_with_defaults_and_overrides() -> None:
    spec = parse_fleet(GOOD, "f.toml")
    assert [p.name for p in spec.pairs] == ["web", "solo"]
    lb1, lb2 = spec.pairs[0].directors
    assert lb1 == DirectorSpec("root@lb1", ("sudo", "lvstui"), "~/.ssh/fleet", 2200, False)
    # a port in the host wins over the defaults' port; the director's own fields over the defaults
    assert lb2 == DirectorSpec("root@lb2:22", ("sudo", "lvstui"), "/k", None, True)
    assert spec.pairs[1].directors[0] == DirectorSpec("[2001:db8::1]", ("lvstui",), "~/.ssh/fleet", 22, False)
    assert len(spec.directors) == 3


def test_the_example_file_parses() -> None:
    spec = load_fleet(REPO / "examples" / "fleet.toml")
    assert [p.name for p in spec.pairs] == ["web", "dns"] and len(spec.directors) == 4


PAIR = '[[pair]]\nname = "web"\n'
BAD = {
    "toml": ('[[pair]]\nname = "web\n', "f.toml:2: "),
    "no pair": ("[defaults]\n", "f.toml: no pair: add [[pair]]"),
    "unknown table": ('[pairs]\nname = "x"\n', "f.toml: unknown table 'pairs'"),
    "defaults not a table": ('defaults = 3\n' + PAIR + 'directors = [{host = "a"}]', "f.toml: defaults: a table"),
    "unknown default": ('[defaults]\nhost = "a"\n' + PAIR + 'directors = [{host = "a"}]',
                        "f.toml: [defaults]: unknown field 'host'"),
    "no name": ('[[pair]]\ndirectors = [{host = "a"}]\n', "f.toml: pair 1: name: a non-empty string"),
    "name twice": (PAIR + 'directors = [{host = "a"}]\n' + PAIR + 'directors = [{host = "b"}]\n',
                   'f.toml: pair "web": the name is used twice'),
    "no directors": (PAIR, 'f.toml: pair "web": directors: a list of one or more'),
    "empty directors": (PAIR + "directors = []\n", 'f.toml: pair "web": directors: a list'),
    "director not a table": (PAIR + 'directors = ["lb1"]\n', 'f.toml: pair "web": director 1: a table like'),
    "no host": (PAIR + 'directors = [{port = 22}]\n', 'f.toml: pair "web": director 1: host: missing'),
    "bad host": (PAIR + 'directors = [{host = "lb 1"}]\n', "f.toml: pair \"web\": director 1: host 'lb 1': "),
    "host twice": (PAIR + 'directors = [{host = "a"}, {host = "a"}]\n',
                   'f.toml: pair "web": director 2: a is already in pair "web"'),
    "port type": (PAIR + 'directors = [{host = "a", port = "22"}]\n',
                  'f.toml: pair "web": director 1: port: an integer, not a string'),
    "port bool": (PAIR + 'directors = [{host = "a", port = true}]\n', "port: an integer, not a boolean"),
    "port range": (PAIR + 'directors = [{host = "a", port = 70000}]\n', 'pair "web": director 1: port'),
    "two ports": (PAIR + 'directors = [{host = "a:22", port = 23}]\n', "has a port, and port = 23 too"),
    "empty command": (PAIR + 'directors = [{host = "a", command = " "}]\n', "director 1: command: empty"),
    "bad quoting": (PAIR + 'directors = [{host = "a", command = "lvstui \'x"}]\n', "director 1: command: "),
    "unknown field": (PAIR + 'directors = [{host = "a", user = "root"}]\n',
                      "director 1: unknown field 'user' (known: host, command"),
    "accept type": (PAIR + 'directors = [{host = "a", accept_new_host_key = "yes"}]\n',
                    "accept_new_host_key: a boolean, not a string"),
    "empty identity": (PAIR + 'directors = [{host = "a", identity = ""}]\n', "identity: empty"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_every_bad_input_is_one_line_naming_where(case: str) -> None:
    text, expected = BAD[case]
    with pytest.raises(FleetError) as exc:
        parse_fleet(text, "f.toml")
    message = str(exc.value)
    assert expected in message and "\n" not in message, message
    assert message.startswith("f.toml:")


def test_the_command_says_one_line_and_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "fleet.toml"
    bad.write_text(PAIR + 'directors = [{host = "a", port = "x"}]\n')
    assert main(["fleet", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err == f'lvstui: {bad}: pair "web": director 1: port: an integer, not a string\n'
    assert main(["fleet", str(tmp_path / "missing.toml")]) == 2
    assert capsys.readouterr().err == f"lvstui: {tmp_path / 'missing.toml'}: no such file\n"
    assert main(["fleet"]) == 2
    assert "give the fleet FILE" in capsys.readouterr().err
    assert main(["fleet", "--demo", "--parallel", "0"]) == 2
    assert capsys.readouterr().err == "lvstui: --parallel must be between 1 and 256\n"
    bad.write_bytes(b"\xff\xfe")
    assert main(["fleet", str(bad)]) == 2
    assert capsys.readouterr().err == f"lvstui: {bad}: not UTF-8 text (byte 0)\n"


@pytest.mark.parametrize("keys", ['"app.quit" = 3', '"fleet.sort_next" = " "', 'fleet.sort_next = "o"'])
def test_a_bad_keys_table_is_the_dashboards_one_line_and_exit_2(keys: str, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """The fleet reads the config's [keys] as the dashboard does: the same refusal, before any screen."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    config = tmp_path / "lvstui" / "config.toml"
    config.parent.mkdir()
    config.write_text(f"[keys]\n{keys}\n")
    assert main(["--demo"]) == 2
    dashboard = capsys.readouterr().err
    assert main(["fleet", "--demo"]) == 2
    fleet = capsys.readouterr().err
    assert fleet == dashboard == (f'lvstui: {config}: [keys] must map binding ids to key names, '
                                  'e.g. "app.quit" = "q,ctrl+q"\n')
