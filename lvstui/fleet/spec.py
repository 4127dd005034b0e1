"""The fleet file: named keepalived pairs and how each director is reached over SSH.

::

    [defaults]                      # optional: what every director has unless it says otherwise
    command = "lvstui"              # how lvstui is run there (else ipvsadm -S -n is read)
    identity = "~/.ssh/id_ed25519"
    port = 22
    accept_new_host_key = false

    [[pair]]
    name = "web"
    directors = [{ host = "root@lb1" }, { host = "root@lb2", port = 2222 }]

Every bad input is one :class:`FleetError` line: ``FILE:LINE: ...`` where TOML itself does not
parse, else ``FILE: pair "web": director 2: ...`` naming the field.  Nothing is read from the
network here.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lvstui.safeio import FileRefused, read_regular
from lvstui.setup import validate
from lvstui.setup.ssh import parse_target

__all__ = ["DirectorSpec", "FleetError", "FleetSpec", "PairSpec", "load_fleet", "parse_fleet"]

#: a fleet file is a few lines per pair; a bigger one is not read
MAX_BYTES = 1 << 20
DIRECTOR_KEYS = ("host", "command", "identity", "port", "accept_new_host_key")
PAIR_KEYS = ("name", "directors")


class FleetError(ValueError):
    """One line: what is wrong in the fleet file, and where."""


@dataclass(frozen=True, slots=True)
class DirectorSpec:
    target: str  # [USER@]HOST[:PORT], as written
    command: tuple[str, ...] = ("lvstui",)
    identity: str | None = None
    port: int | None = None  # the file's port field (a :PORT in target is parse_target's)
    accept_new_host_key: bool = False

    @property
    def key(self) -> str:
        """Unique within the fleet file: the target, and the port field where one is given."""
        return self.target if self.port is None else f"{self.target} port {self.port}"


@dataclass(frozen=True, slots=True)
class PairSpec:
    name: str
    directors: tuple[DirectorSpec, ...]


@dataclass(frozen=True, slots=True)
class FleetSpec:
    path: str
    pairs: tuple[PairSpec, ...]

    @property
    def directors(self) -> tuple[DirectorSpec, ...]:
        return tuple(d for p in self.pairs for d in p.directors)


def load_fleet(path: Path) -> FleetSpec:
    """The fleet file at *path* (raises FleetError)."""
    try:
        raw = read_regular(path, MAX_BYTES)
    except FileRefused as exc:
        raise FleetError(f"{path}: {exc}") from None
    if raw is None:
        raise FleetError(f"{path}: no such file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FleetError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    return parse_fleet(text, str(path))


def _toml_error(exc: tomllib.TOMLDecodeError, where: str) -> FleetError:
    """``FILE:LINE: message`` from tomllib's ``message (at line L, column C)``."""
    found = re.fullmatch(r"(.*) \(at line (\d+), column (\d+)\)", str(exc))
    if found is None:
        return FleetError(f"{where}: {' '.join(str(exc).split())}")
    message, line, column = found.groups()
    return FleetError(f"{where}:{line}: {' '.join(message.split())} (column {column})")


def parse_fleet(text: str, where: str = "fleet.toml") -> FleetSpec:
    """The fleet file's *text* (*where* names it in errors)."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _toml_error(exc, where) from None
    unknown = sorted(set(doc) - {"defaults", "pair"})
    if unknown:
        raise FleetError(f"{where}: unknown table {unknown[0]!r} (a fleet file has [defaults] and [[pair]])")
    defaults = doc.get("defaults", {})
    if not isinstance(defaults, dict):
        raise FleetError(f"{where}: defaults: a table, not {_kind(defaults)}")
    _known(defaults, DIRECTOR_KEYS[1:], f"{where}: [defaults]")
    base = _director({"host": "defaults.invalid", **defaults}, f"{where}: [defaults]", None)
    pairs = doc.get("pair")
    if not isinstance(pairs, list) or not pairs:
        raise FleetError(f"{where}: no pair: add [[pair]] tables with a name and directors")
    out: list[PairSpec] = []
    seen_pairs: set[str] = set()
    seen_directors: dict[str, str] = {}
    for i, pair in enumerate(pairs, 1):
        if not isinstance(pair, dict):
            raise FleetError(f"{where}: pair {i}: a table, not {_kind(pair)}")
        name = pair.get("name")
        if not isinstance(name, str) or not name.strip() or not name.isprintable():
            raise FleetError(f"{where}: pair {i}: name: a non-empty string on one line, not {_kind(name)}")
        here = f'{where}: pair "{name}"'
        if name in seen_pairs:
            raise FleetError(f"{here}: the name is used twice")
        seen_pairs.add(name)
        _known(pair, PAIR_KEYS, here)
        directors = pair.get("directors")
        if not isinstance(directors, list) or not directors:
            raise FleetError(f"{here}: directors: a list of one or more {{ host = \"[USER@]HOST[:PORT]\" }}, "
                             f"not {_kind(directors)}")
        specs = []
        for j, d in enumerate(directors, 1):
            spec = _director(d, f"{here}: director {j}", base)
            if spec.key in seen_directors:
                raise FleetError(f"{here}: director {j}: {spec.key} is already in pair "
                                 f'"{seen_directors[spec.key]}"')
            seen_directors[spec.key] = name
            specs.append(spec)
        out.append(PairSpec(name, tuple(specs)))
    return FleetSpec(where, tuple(out))


def _kind(value: Any) -> str:
    return {dict: "a table", list: "a list", str: "a string", bool: "a boolean", int: "an integer",
            float: "a number", type(None): "nothing"}.get(type(value), type(value).__name__)


def _known(table: dict[str, Any], keys: tuple[str, ...], where: str) -> None:
    unknown = sorted(set(table) - set(keys))
    if unknown:
        raise FleetError(f"{where}: unknown field {unknown[0]!r} (known: {', '.join(keys)})")


def _field(table: dict[str, Any], key: str, kind: type, where: str, default: Any) -> Any:
    value = table.get(key, default)
    if value is not default and (not isinstance(value, kind) or (kind is int and isinstance(value, bool))):
        raise FleetError(f"{where}: {key}: {_kind(kind())}, not {_kind(value)}")
    return value


def _director(d: Any, where: str, base: DirectorSpec | None) -> DirectorSpec:
    if not isinstance(d, dict):
        raise FleetError(f"{where}: a table like {{ host = \"root@lb1\" }}, not {_kind(d)}")
    _known(d, DIRECTOR_KEYS, where)
    host = _field(d, "host", str, where, None)
    if host is None:
        raise FleetError(f"{where}: host: missing ([USER@]HOST[:PORT])")
    try:
        parse_target(host)
    except ValueError as exc:
        raise FleetError(f"{where}: host {host!r}: {exc}") from None
    command_text = _field(d, "command", str, where, None)
    try:
        command = tuple(shlex.split(command_text)) if command_text is not None else None
    except ValueError as exc:
        raise FleetError(f"{where}: command: {exc}") from None
    if command == ():
        raise FleetError(f"{where}: command: empty")
    identity = _field(d, "identity", str, where, None)
    if identity is not None and not identity.strip():
        raise FleetError(f"{where}: identity: empty")
    port = _field(d, "port", int, where, None)
    if port is not None:
        try:
            validate.port(str(port), "port")
        except ValueError as exc:
            raise FleetError(f"{where}: {exc}") from None
        if parse_target(host)[2] is not None:
            raise FleetError(f"{where}: host {host!r} has a port, and port = {port} too: keep one")
    accept = _field(d, "accept_new_host_key", bool, where, None)
    return DirectorSpec(
        target=host,
        command=command or (base.command if base else ("lvstui",)),
        identity=identity if identity is not None else (base.identity if base else None),
        port=port if port is not None else (base.port if base and parse_target(host)[2] is None else None),
        accept_new_host_key=accept if accept is not None else (base.accept_new_host_key if base else False))
