"""Load a keepalived configuration with its included files.

keepalived resolves ``include PATTERN`` with ``glob(GLOB_MARK | GLOB_BRACE)``
after changing directory to the directory of the including file, so a
relative pattern is relative to that file; matches are sorted (per brace
alternative), directories are skipped.  A pattern that matches nothing is
what keepalived 2.2.7 warns about ("Config files missing") and goes on
without, so it is a warning here too (:attr:`KeepalivedConfig.warnings`); a
file that exists but cannot be read is an error: lvstui must not edit a
configuration it cannot see whole.

Reading is bounded (:mod:`lvstui.keepalived.limits`): only regular files, a
cap on each file's size, on all files' bytes together, on the number of
files, on include depth and on the paths one pattern's braces may spell.

Each file is its own :class:`~lvstui.keepalived.syntax.ConfigFile` (and is
written back to its own path); :class:`KeepalivedConfig` maps each include
statement to the files it pulled in.
"""

from __future__ import annotations

import glob
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from lvstui.keepalived.errors import KeepalivedConfigError, location
from lvstui.keepalived.limits import (
    KEEPALIVED_LINE_BYTES,
    MAX_BRACE_ALTERNATIVES,
    MAX_FILE_BYTES,
    MAX_FILES,
    MAX_INCLUDE_DEPTH,
    MAX_TOTAL_BYTES,
)
from lvstui.keepalived.syntax import ConfigFile, Statement

__all__ = ["KeepalivedConfig", "brace_expand", "load", "resolve_include"]


class _TooMany(Exception):
    """More brace alternatives than MAX_BRACE_ALTERNATIVES."""


def brace_expand(pattern: str, limit: int = MAX_BRACE_ALTERNATIVES) -> list[str]:
    """csh-style ``{a,b{c,d}}`` expansion (as glibc's GLOB_BRACE); ``\\{`` is literal.

    :class:`KeepalivedConfigError` when it would spell more than ``limit`` patterns
    (``{a,b}`` twenty times over is a million).
    """
    out: list[str] = []
    try:
        _brace_expand(pattern, out, limit)
    except _TooMany:
        raise KeepalivedConfigError(f"include pattern spells more than {limit} paths") from None
    return out


def _brace_expand(pattern: str, out: list[str], limit: int) -> None:
    depth = 0
    start = -1
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if c == "{":
            if depth == 0:
                start = i
            depth += 1
        elif c == "}" and depth:
            depth -= 1
            if depth == 0:
                inner = pattern[start + 1:i]
                alternatives: list[str] = []
                d = 0
                last = 0
                k = 0
                while k < len(inner):
                    ch = inner[k]
                    if ch == "\\":
                        k += 2
                        continue
                    if ch == "{":
                        d += 1
                    elif ch == "}":
                        d -= 1
                    elif ch == "," and d == 0:
                        alternatives.append(inner[last:k])
                        last = k + 1
                    k += 1
                alternatives.append(inner[last:])
                head, tail = pattern[:start], pattern[i + 1:]
                for alt in alternatives:
                    _brace_expand(head + alt + tail, out, limit)
                return
        i += 1
    if len(out) >= limit:
        raise _TooMany
    out.append(pattern)


def resolve_include(pattern: str, base_dir: Path) -> tuple[list[Path], bool]:
    """Files an include pattern names, and whether it had wildcards."""
    files: list[Path] = []
    wild = False
    for alt in brace_expand(pattern.strip()):
        full = alt if alt.startswith("/") else str(base_dir / alt)
        if glob.has_magic(full):
            wild = True
            # a pattern like /proc/*/*/* names a great many paths: stop one past the cap
            matches = sorted(itertools.islice(glob.iglob(full), MAX_FILES + 1))
            if len(matches) > MAX_FILES:
                raise KeepalivedConfigError(f"include pattern matches more than {MAX_FILES} files")
        else:
            matches = [full] if Path(full).exists() else []
        files.extend(Path(m) for m in matches if not Path(m).is_dir())
    return files, wild


@dataclass(eq=False)
class KeepalivedConfig:
    """A main file and every file it includes, each parsed losslessly."""

    main: Path
    files: dict[Path, ConfigFile]
    includes: dict[tuple[Path, int], tuple[Path, ...]] = field(default_factory=dict)
    # what keepalived warns about and goes on (an include matching no file): "k.conf:3: ..."
    warnings: list[str] = field(default_factory=list)
    bytes_read: int = 0

    @property
    def main_file(self) -> ConfigFile:
        return self.files[self.main]

    def file(self, path: Path | str) -> ConfigFile:
        try:
            return self.files[Path(path)]
        except KeyError:
            raise KeepalivedConfigError("not part of this configuration", path) from None

    def included_by(self, path: Path, stmt: Statement) -> tuple[Path, ...]:
        return self.includes.get((path, stmt.line), ())

    def modified_files(self) -> Iterator[ConfigFile]:
        return (f for f in self.files.values() if f.modified)

    def with_file(self, new: ConfigFile) -> KeepalivedConfig:
        """This configuration with one file replaced (its include lines must be unchanged)."""
        files = dict(self.files)
        files[new.path] = new
        old = self.files[new.path]
        old_inc = [(s.line, s.include_pattern) for s in old.includes()]
        new_inc = [(s.line, s.include_pattern) for s in new.includes()]
        if [p for _, p in old_inc] != [p for _, p in new_inc]:
            raise KeepalivedConfigError("an edit may not add or remove include lines", new.path)
        includes = {k: v for k, v in self.includes.items() if k[0] != new.path}
        for (line_old, _), (line_new, _) in zip(old_inc, new_inc, strict=True):
            includes[(new.path, line_new)] = self.includes.get((new.path, line_old), ())
        return replace(self, files=files, includes=includes)

    def roundtrips(self) -> list[Path]:
        """Files whose text does not give back the bytes read (should be none)."""
        return [f.path for f in self.files.values() if f.modified]


def load(path: Path | str) -> KeepalivedConfig:
    """Read and parse ``path`` and every file it includes; :class:`KeepalivedConfigError` on any problem."""
    main = Path(path).absolute()
    config = KeepalivedConfig(main=main, files={})
    _load_file(config, main, [])
    return config


def _load_file(config: KeepalivedConfig, path: Path, chain: list[Path]) -> None:
    if path in chain:
        raise KeepalivedConfigError(f"include loop: {' -> '.join(p.name for p in chain + [path])}", chain[-1])
    if len(chain) > MAX_INCLUDE_DEPTH:
        raise KeepalivedConfigError(f"includes nested more than {MAX_INCLUDE_DEPTH} deep", path)
    if path in config.files:
        return
    if len(config.files) >= MAX_FILES:
        raise KeepalivedConfigError(f"more than {MAX_FILES} files included", path)
    cfile = ConfigFile.read(path, max_bytes=MAX_FILE_BYTES)
    config.bytes_read += len(cfile.data)
    if config.bytes_read > MAX_TOTAL_BYTES:
        raise KeepalivedConfigError(f"the included files together have more than {MAX_TOTAL_BYTES} bytes", path)
    config.files[path] = cfile
    _warn_long_lines(config, cfile)
    for stmt in cfile.includes():
        pattern = stmt.include_pattern
        try:
            matches, wild = resolve_include(pattern, path.parent)
        except KeepalivedConfigError as exc:
            raise KeepalivedConfigError(f"include '{pattern}': {exc.reason}", path, stmt.line + 1) from None
        if not matches:
            # keepalived 2.2.7: "(Line 3) Config files missing '...'." and it goes on without them
            what = "matches no file" if wild else "no such file"
            config.warnings.append(f"{location(path, stmt.line + 1)}: include '{pattern}': {what}"
                                   " (keepalived warns and goes on without it)")
        config.includes[(path, stmt.line)] = tuple(matches)
        for match in matches:
            try:
                _load_file(config, match, chain + [path])
            except KeepalivedConfigError as exc:
                if exc.line is None and exc.path == match:
                    raise KeepalivedConfigError(f"include '{pattern}': {exc.reason}", path, stmt.line + 1) from None
                raise


def _warn_long_lines(config: KeepalivedConfig, cfile: ConfigFile) -> None:
    """keepalived reads 1023 bytes at a time: the rest of a longer line is a line of its own to it."""
    # fgets(buf, 1024): 1023 bytes a time, the newline included; a line of 1023 leaves only its newline
    long = [i for i, line in enumerate(cfile.lines)
            if len(line) > KEEPALIVED_LINE_BYTES // 4
            and len(line.encode("utf-8", "surrogateescape")) > KEEPALIVED_LINE_BYTES]
    for i in long[:3]:
        config.warnings.append(f"{location(cfile.path, i + 1)}: line longer than {KEEPALIVED_LINE_BYTES} bytes:"
                               " keepalived reads the rest of it as another line")
    if len(long) > 3:
        config.warnings.append(f"{location(cfile.path, None)}: {len(long) - 3} more lines longer than"
                               f" {KEEPALIVED_LINE_BYTES} bytes")
