"""Load a keepalived configuration with its included files.

keepalived resolves ``include PATTERN`` with ``glob(GLOB_MARK | GLOB_BRACE)``
after changing directory to the directory of the including file, so a
relative pattern is relative to that file; matches are sorted (per brace
alternative), directories are skipped.  A plain pattern (no wildcard) that
matches nothing or a file that cannot be read is an error here: lvstui must
not edit a configuration it cannot see whole.

Each file is its own :class:`~lvstui.keepalived.syntax.ConfigFile` (and is
written back to its own path); :class:`KeepalivedConfig` maps each include
statement to the files it pulled in.
"""

from __future__ import annotations

import glob
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from lvstui.keepalived.errors import KeepalivedConfigError
from lvstui.keepalived.syntax import ConfigFile, Statement

__all__ = ["KeepalivedConfig", "brace_expand", "load", "resolve_include"]

MAX_INCLUDE_DEPTH = 32


def brace_expand(pattern: str) -> list[str]:
    """csh-style ``{a,b{c,d}}`` expansion (as glibc's GLOB_BRACE); ``\\{`` is literal."""
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
                out: list[str] = []
                for alt in alternatives:
                    out.extend(brace_expand(head + alt + tail))
                return out
        i += 1
    return [pattern]


def resolve_include(pattern: str, base_dir: Path) -> tuple[list[Path], bool]:
    """Files an include pattern names, and whether it had wildcards."""
    files: list[Path] = []
    wild = False
    for alt in brace_expand(pattern.strip()):
        full = alt if alt.startswith("/") else str(base_dir / alt)
        if glob.has_magic(full):
            wild = True
            matches = sorted(glob.glob(full))
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
        raise KeepalivedConfigError("includes nested too deeply", path)
    if path in config.files:
        return
    cfile = ConfigFile.read(path)
    config.files[path] = cfile
    for stmt in cfile.includes():
        pattern = stmt.include_pattern
        matches, wild = resolve_include(pattern, path.parent)
        if not matches and not wild:
            raise KeepalivedConfigError(f"include '{pattern}': no such file", path, stmt.line + 1)
        config.includes[(path, stmt.line)] = tuple(matches)
        for match in matches:
            try:
                _load_file(config, match, chain + [path])
            except KeepalivedConfigError as exc:
                if exc.line is None and exc.path == match:
                    raise KeepalivedConfigError(f"include '{pattern}': {exc.reason}", path, stmt.line + 1) from None
                raise
