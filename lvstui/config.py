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

    [peer]            # the keepalived pair's other director, read over SSH (as --peer)
    host = "root@lb2.example.net"
    command = "lvstui"          # how lvstui is run there (default lvstui)
    identity = "~/.ssh/id_ed25519"
"""

from __future__ import annotations

import contextlib
import datetime
import math
import os
import re
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lvstui.safeio import FileRefused, read_regular

__all__ = ["Config", "ConfigError", "PeerConfig", "config_path", "load_config", "save_theme"]


class ConfigError(Exception):
    """The config file exists but cannot be used (one-line message)."""


@dataclass(frozen=True, slots=True)
class PeerConfig:
    """``[peer]``: the other director of the pair (``--peer`` and its options win over it)."""

    host: str
    command: str = "lvstui"
    identity: str | None = None


@dataclass(frozen=True, slots=True)
class Config:
    theme: str | None = None
    interval: float | None = None
    keys: tuple[tuple[str, str], ...] = ()  # binding id -> keys, from the [keys] table
    path: Path | None = None
    peer: PeerConfig | None = None


def config_path(environ: dict[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME") or ""
    root = Path(base) if base and Path(base).is_absolute() else Path(env.get("HOME", "~")).expanduser() / ".config"
    return root / "lvstui" / "config.toml"


#: The longest refresh interval the config may ask for (an hour; inf or 1e300 would never refresh).
MAX_INTERVAL = 3600.0
#: A config file is a few lines; anything this big is not one (and is not read into memory).
MAX_CONFIG_BYTES = 1 << 20


def _read(path: Path) -> dict[str, Any]:
    """The parsed file ({} if absent): a regular file (a FIFO or a device is refused unread), size capped.

    A symlinked config.toml (dotfile managers) is followed: it is the user's own file.
    """
    try:
        raw = read_regular(path, MAX_CONFIG_BYTES)
    except FileRefused as exc:
        raise ConfigError(f"{path}: {exc}") from None
    if raw is None:
        return {}
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}:{line}: not UTF-8 (byte 0x{raw[exc.start]:02x}); TOML files are UTF-8") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    except RecursionError:  # tomllib recurses per nested array or inline table
        raise ConfigError(f"{path}: not valid TOML (nested too deeply)") from None


def load_config(path: Path | None = None) -> Config:
    """Read the config; a missing file is an empty config, a broken one raises ConfigError."""
    path = path or config_path()
    data = _read(path)
    theme = data.get("theme")
    if theme is not None and not isinstance(theme, str):
        raise ConfigError(f"{path}: theme must be a string, not {theme!r}")
    interval = data.get("interval")
    if interval is not None:
        if (isinstance(interval, bool) or not isinstance(interval, int | float)
                or not 0 < interval <= MAX_INTERVAL):
            raise ConfigError(f"{path}: interval must be a positive number of seconds (at most "
                              f"{MAX_INTERVAL:g}), not {interval!r}")
        interval = float(interval)
    keys = data.get("keys", {})
    if not isinstance(keys, dict) or not all(isinstance(k, str) and isinstance(v, str) and v.strip()
                                             for k, v in keys.items()):
        raise ConfigError(f"{path}: [keys] must map binding ids to key names, e.g. \"app.quit\" = \"q,ctrl+q\"")
    return Config(theme=theme, interval=interval, keys=tuple(sorted(keys.items())), path=path,
                  peer=_peer(data.get("peer"), path))


def _peer(table: Any, path: Path) -> PeerConfig | None:
    if table is None:
        return None
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [peer] must be a table with host = \"[USER@]HOST[:PORT]\"")
    unknown = sorted(set(table) - {"host", "command", "identity"})
    if unknown:
        raise ConfigError(f"{path}: [peer] has no {unknown[0]!r} (it takes host, command, identity)")
    for key in ("host", "command", "identity"):
        value = table.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ConfigError(f"{path}: [peer] {key} must be a non-empty string, not {value!r}")
    if "host" not in table:
        raise ConfigError(f"{path}: [peer] needs host = \"[USER@]HOST[:PORT]\"")
    return PeerConfig(host=table["host"].strip(), command=table.get("command", "lvstui"),
                      identity=table.get("identity"))


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _toml_key(key: str) -> str:
    """A key as TOML needs it: bare when it may be, else a quoted string ("app.quit" stays one key)."""
    return key if _BARE_KEY.fullmatch(key) else _toml_string(key)


def _toml_string(value: str) -> str:
    out = []
    for ch in value:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise ConfigError(f"cannot write {type(value).__name__} values to the config")


def _dump_table(data: dict[str, Any], prefix: tuple[str, ...], lines: list[str]) -> None:
    if prefix:
        lines.append("\n[" + ".".join(_toml_key(p) for p in prefix) + "]")
    lines.extend(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in data.items() if not isinstance(v, dict))
    for key, table in data.items():
        if isinstance(table, dict):
            _dump_table(table, (*prefix, key), lines)


def _dump(data: dict[str, Any]) -> str:
    """TOML text that :mod:`tomllib` reads back equal to *data* (what :func:`_read` returned, edited)."""
    lines: list[str] = []
    _dump_table(data, (), lines)
    return "\n".join(lines).lstrip("\n") + "\n"


def save_theme(theme: str, path: Path | None = None) -> Path:
    """Remember ``theme`` in the config file, keeping its other keys; returns the path written."""
    path = path or config_path()
    data = _read(path)
    data["theme"] = theme
    text = _dump(data)
    target = Path(os.path.realpath(path))  # a symlinked config.toml: replace its target, keep the link
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        # a unique temporary name (never a fixed one a link could be planted at), then rename
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write ({exc.strerror or exc})") from None
    return path
