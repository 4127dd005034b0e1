"""The user config file: what lvstui writes back reads back equal, and it is written safely."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest

from lvstui.config import MAX_CONFIG_BYTES, ConfigError, config_path, load_config, save_theme

# every kind of value a user may have put in config.toml (save_theme keeps them all), as TOML text
ROUND_TRIP: list[tuple[str, str]] = [
    ("dotted binding ids", '[keys]\n"app.quit" = "q,ctrl+q"\n"table.down" = "down,j,n"\n'),
    ("keys needing quotes", '[keys]\n"a b" = "x"\n"" = "y"\n"ä" = "z"\n"q\\"uote" = "w"\n"back\\\\slash" = "v"\n'),
    ("control characters", 'theme = "a\\u0001b\\tc\\nd\\u007fe\\u001b[31m"\n[keys]\n"x\\u0000y" = "\\u0000"\n'),
    ("unicode", 'theme = "日本語 ☃ \U0001f600"\nnote = "\u2028\u2029"\n'),
    ("numbers", "interval = 2.5\nn = -3\nbig = 4611686018427387904\nf = 1e300\ntiny = 5e-324\nneg = -0.0\n"),
    ("inf", "a = inf\nb = -inf\n"),
    ("booleans and arrays", 'on = true\noff = false\nlist = [1, 2, 3]\nmixed = ["a", 1, [true]]\n'),
    ("dates", "when = 2026-12-02T01:02:03Z\nday = 2026-12-02\nat = 01:02:03\nlocal = 2026-12-02T01:02:03\n"),
    ("nested tables", 'x = 2\n[a.b."c.d"]\ne = 1\n[keys]\n"app.quit" = "q"\n'),
    ("inline tables in arrays", 'servers = [{name = "a", w = 1}, {name = "b.c"}]\n'),
    ("array of tables", '[[servers]]\nname = "a"\n[[servers]]\nname = "b"\n'),
    ("empty table", "[empty]\n"),
    ("multi-line strings", 'theme = """\nline1\nline2"""\nraw = \'C:\\path\'\n'),
]


@pytest.mark.parametrize(("label", "text"), ROUND_TRIP, ids=[r[0] for r in ROUND_TRIP])
def test_save_theme_round_trips_every_value(label: str, text: str) -> None:
    path = config_path()
    path.parent.mkdir(parents=True)
    path.write_text(text, encoding="utf-8")
    data = tomllib.loads(text)
    save_theme("light")
    back = tomllib.loads(path.read_text(encoding="utf-8"))
    assert back == {**data, "theme": "light"}
    assert load_config().theme == "light" or "keys" in data


def test_theme_saved_twice_keeps_dotted_keys_loadable() -> None:
    """The reported bug: after `t` the [keys] table was written unquoted and the next start failed."""
    path = config_path()
    path.parent.mkdir(parents=True)
    path.write_text('[keys]\n"app.quit" = "q,ctrl+q"\n"table.down" = "down,j"\n')
    save_theme("light")
    save_theme("dark")
    config = load_config()
    assert config.theme == "dark"
    assert dict(config.keys) == {"app.quit": "q,ctrl+q", "table.down": "down,j"}


def test_save_theme_never_writes_through_a_fixed_temporary_name(tmp_path: Path) -> None:
    """A link planted at config.toml.tmp must not make lvstui overwrite its target."""
    path = config_path()
    path.parent.mkdir(parents=True)
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    for name in ("config.toml.tmp", "config.tmp", ".config.toml.tmp"):
        (path.parent / name).symlink_to(victim)
    save_theme("light")
    assert victim.read_text() == "precious\n"
    assert load_config().theme == "light"
    assert sorted(p.name for p in path.parent.iterdir()) == sorted(
        ["config.toml", "config.toml.tmp", "config.tmp", ".config.toml.tmp"])


def test_save_theme_keeps_a_symlinked_config(tmp_path: Path) -> None:
    """A config.toml that is a link (dotfile managers): the target is updated, the link stays."""
    path = config_path()
    path.parent.mkdir(parents=True)
    real = tmp_path / "dotfiles" / "lvstui.toml"
    real.parent.mkdir()
    real.write_text('interval = 3.0\n')
    path.symlink_to(real)
    save_theme("light")
    assert path.is_symlink()
    assert tomllib.loads(real.read_text()) == {"interval": 3.0, "theme": "light"}


def test_non_utf8_config_is_one_line() -> None:
    path = config_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(b'interval = 2.0\ntheme = "\xff\xfe"\n')
    with pytest.raises(ConfigError, match=r"config.toml:2: not UTF-8") as info:
        load_config()
    assert "\n" not in str(info.value)


def test_config_that_is_a_fifo_or_huge_is_refused_unread() -> None:
    path = config_path()
    path.parent.mkdir(parents=True)
    os.mkfifo(path)  # a plain open() would block forever: no writer ever comes
    with pytest.raises(ConfigError, match="not a regular file"):
        load_config()
    path.unlink()
    with path.open("wb") as fh:
        fh.truncate(MAX_CONFIG_BYTES + 1)
    with pytest.raises(ConfigError, match="too large"):
        load_config()
