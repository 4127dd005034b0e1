"""The user's configuration: ``$XDG_CONFIG_HOME/lvstui/config.toml`` (default ``~/.config``).

Read with :mod:`tomllib` into a frozen :class:`Config`.  Command-line flags win
over the file.  The dashboard writes the file back only to remember the theme
the operator chose; keys lvstui does not know are kept as they were.

Example::

    theme = "light"
    interval = 2.0

    [keys]            # remap any key by its binding id (see the help screen, ?)
    "app.quit" = "q,ctrl+q"
    "table.down" = "down,j,n"
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Config", "ConfigError", "config_path", "load_config", "save_theme"]


class ConfigError(Exception):
    """The config file exists but cannot be used (one-line message)."""


@dataclass(frozen=True, slots=True)
class Config:
    theme: str | None = None
    interval: float | None = None
    keys: tuple[tuple[str, str], ...] = ()  # binding id -> keys, from the [keys] table
    path: Path | None = None


def config_path(environ: dict[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME") or ""
    root = Path(base) if base and Path(base).is_absolute() else Path(env.get("HOME", "~")).expanduser() / ".config"
    return root / "lvstui" / "config.toml"


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror or exc}") from None


def load_config(path: Path | None = None) -> Config:
    """Read the config; a missing file is an empty config, a broken one raises ConfigError."""
    path = path or config_path()
    data = _read(path)
    theme = data.get("theme")
    if theme is not None and not isinstance(theme, str):
        raise ConfigError(f"{path}: theme must be a string, not {theme!r}")
    interval = data.get("interval")
    if interval is not None:
        if isinstance(interval, bool) or not isinstance(interval, int | float) or interval <= 0:
            raise ConfigError(f"{path}: interval must be a positive number of seconds, not {interval!r}")
        interval = float(interval)
    keys = data.get("keys", {})
    if not isinstance(keys, dict) or not all(isinstance(k, str) and isinstance(v, str) and v.strip()
                                             for k, v in keys.items()):
        raise ConfigError(f"{path}: [keys] must map binding ids to key names, e.g. \"app.quit\" = \"q,ctrl+q\"")
    return Config(theme=theme, interval=interval, keys=tuple(sorted(keys.items())), path=path)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise ConfigError(f"cannot write {type(value).__name__} values to the config")


def _dump(data: dict[str, Any]) -> str:
    lines = [f"{key} = {_toml_value(v)}" for key, v in data.items() if not isinstance(v, dict)]
    for key, table in data.items():
        if isinstance(table, dict):
            lines.append(f"\n[{key}]")
            lines.extend(f"{k} = {_toml_value(v)}" for k, v in table.items() if not isinstance(v, dict))
    return "\n".join(lines) + "\n"


def save_theme(theme: str, path: Path | None = None) -> Path:
    """Remember ``theme`` in the config file, keeping its other keys; returns the path written."""
    path = path or config_path()
    data = _read(path)
    data["theme"] = theme
    text = _dump(data)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".toml.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write ({exc.strerror or exc})") from None
    return path
