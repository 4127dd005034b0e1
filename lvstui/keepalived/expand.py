"""What keepalived actually reads: a logical tree after includes, conditions and definitions.

The concrete syntax tree (:mod:`lvstui.keepalived.syntax`) is what the files
say; this module evaluates it the way keepalived's ``read_line`` does, for one
config-id (``keepalived -i ID``, by default the node name):

* ``@ID``/``@^ID`` lines are kept or dropped;
* ``$NAME=VALUE`` (and multi-line ``$NAME= \\`` ... definitions) are recorded
  and ``$NAME``/``${NAME}`` replaced, recursively, in the lines that follow;
  ``${_PWD}``, ``${_INSTANCE}``, ``${_HASH}`` and ``${_BANG}`` are predefined;
* ``~SEQ(var, start, step, end)``, ``~SEQx(...)`` and ``~LST(var, v1, ...)``
  repeat the rest of their line;
* ``include`` splices the included files in place.

The work is bounded (:mod:`lvstui.keepalived.limits`): a definition that
doubles at every use, ``~SEQ`` ranges multiplied together or an include tree
that fans out would otherwise run for minutes or exhaust memory; past a limit
the expansion stops with one error naming the file and line.

Each resulting :class:`Node` remembers the file and line it came from, and
whether it is *exact* (one statement of the file, editable as written) or was
produced by a substitution (its line is where the definition was used).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from lvstui.keepalived.errors import KeepalivedConfigError
from lvstui.keepalived.lexer import GENERATOR_RE, LineScan, scan_line
from lvstui.keepalived.limits import MAX_INCLUDE_DEPTH, MAX_LINE_CHARS, MAX_STATEMENTS
from lvstui.keepalived.loader import KeepalivedConfig
from lvstui.keepalived.syntax import MAX_DEPTH as MAX_BLOCK_DEPTH
from lvstui.keepalived.syntax import _definition_end

__all__ = ["Node", "default_config_id", "expand"]

# $NAME ends at a blank, ',', ')' or the end of the line; ${NAME} anywhere; only the
# predefined ${_RANDOM MIN MAX} and ${_ENV VAR} take parameters (lib/parser.c find_definition)
_PARAM_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)((?:[ \t]+[A-Za-z0-9_]+)*)\}"
                       r"|\$([A-Za-z_][A-Za-z0-9_]*)(?=[ \t,)]|$)")
MAX_DEPTH = 40


def default_config_id() -> str:
    """keepalived's default config-id: the node name up to its first dot."""
    return os.uname().nodename.split(".")[0]


@dataclass(eq=False)
class Node:
    keyword: str
    args: tuple[str, ...]
    path: Path
    line: int  # 1-based
    exact: bool = True
    children: list[Node] | None = None
    condition: str | None = None

    def child(self, keyword: str) -> Node | None:
        """The last child with this keyword (keepalived: a repeated keyword overrides)."""
        found = None
        for c in self.children or ():
            if c.keyword == keyword:
                found = c
        return found

    def all(self, keyword: str) -> list[Node]:
        return [c for c in self.children or () if c.keyword == keyword]

    def value(self, keyword: str, default: str | None = None) -> str | None:
        c = self.child(keyword)
        if c is None:
            return default
        return " ".join(c.args)


@dataclass
class _State:
    config: KeepalivedConfig
    config_id: str | None
    defs: dict[str, list[str]] = field(default_factory=dict)
    root: list[Node] = field(default_factory=list)
    stack: list[list[Node]] = field(default_factory=list)
    last: Node | None = None
    cwd: Path = Path("/")
    steps: int = 0  # lines read and statements produced so far (bounded by MAX_STATEMENTS)

    def step(self, path: Path, line: int) -> None:
        self.steps += 1
        if self.steps > MAX_STATEMENTS:
            raise KeepalivedConfigError(
                f"expands to more than {MAX_STATEMENTS} lines (includes, $definitions or ~SEQ)", path, line)

    def cond_ok(self, condition: str | None) -> bool:
        if not condition:
            return True
        if condition.startswith("@^"):
            return condition[2:] != self.config_id
        return condition[1:] == self.config_id


def expand(config: KeepalivedConfig, config_id: str | None = None) -> list[Node]:
    """The logical statement tree keepalived would read with ``-i config_id``."""
    state = _State(config=config, config_id=config_id)
    state.stack = [state.root]
    _run_file(state, config.main, 0)
    return state.root


def _def_value_line(scan: LineScan) -> str:
    return scan.raw[len(scan.indent):scan.code_end]


def _run_file(state: _State, path: Path, depth: int) -> None:
    if depth > MAX_INCLUDE_DEPTH:
        raise KeepalivedConfigError(f"includes nested more than {MAX_INCLUDE_DEPTH} deep", path)
    cfile = state.config.files[path]
    lines = cfile.lines
    scans = cfile.scans
    include_lines = {s.line for s in cfile.includes()}
    saved_cwd = state.cwd
    state.cwd = path.parent
    i = 0
    while i < len(lines):
        scan = scans[i]
        if scan.blank:
            i += 1
            continue
        if scan.definition is not None:
            state.step(path, i + 1)
            end = i
            if scan.continued:
                end = _definition_end(scans, lines, i)
            if state.cond_ok(scan.condition):
                first = scan.raw[scan.code_start:scan.code_end].split("=", 1)[1].lstrip(" \t")
                values = [first] if first else []
                for j in range(i + 1, end + 1):
                    if not scans[j].blank:
                        values.append(_def_value_line(scans[j]))
                state.defs[scan.definition] = values if scan.continued else [first]
                if scan.continued:
                    state.defs.setdefault("\0multi", []).append(scan.definition)
            i = end + 1
            continue
        if i in include_lines and state.cond_ok(scan.condition):
            state.step(path, i + 1)
            stmt = next(s for s in cfile.includes() if s.line == i)
            for included in state.config.included_by(path, stmt):
                _run_file(state, included, depth + 1)
            i += 1
            continue
        _process(state, scan, path, i + 1, exact=True, depth=0)
        i += 1
    state.cwd = saved_cwd


def _is_multi(state: _State, name: str) -> bool:
    return name in state.defs.get("\0multi", [])


def _builtin(state: _State, name: str) -> str | None:
    return {"_PWD": str(state.cwd), "_INSTANCE": state.config_id or "", "_HASH": "#",
            "_BANG": "!"}.get(name)


def _substitute(state: _State, text: str, path: Path, line: int) -> list[str] | None:
    """Replace parameters in ``text``; None when nothing was replaced."""
    changed = False
    for _ in range(MAX_DEPTH):
        out: list[str] = []
        pos = 0
        multi: list[str] | None = None
        replaced = False
        for m in _PARAM_RE.finditer(text):
            name = m.group(1) or m.group(3)
            if m.group(2):  # parameters: only for predefined functions, which lvstui leaves alone
                continue
            if name in state.defs and name != "\0multi":
                value = state.defs[name]
                if _is_multi(state, name):
                    if text[m.end():].strip(" \t"):
                        continue  # keepalived expands a multi-line definition only at the end of a line
                    out.append(text[pos:m.start()])
                    lines = list(value) or [""]
                    multi = [("".join(out) + lines[0])] + lines[1:]
                    multi[-1] = multi[-1] + text[m.end():]
                    return multi
                out.append(text[pos:m.start()])
                out.append(value[0] if value else "")
            else:
                builtin = _builtin(state, name)
                if builtin is None:
                    continue
                out.append(text[pos:m.start()])
                out.append(builtin)
            pos = m.end()
            replaced = True
        if not replaced:
            return [text] if changed else None
        out.append(text[pos:])
        text = "".join(out)
        if len(text) > MAX_LINE_CHARS:
            raise KeepalivedConfigError(f"$definitions make a line of more than {MAX_LINE_CHARS} characters",
                                        path, line)
        changed = True
    raise KeepalivedConfigError(f"parameter substitution does not end: {text[:60]!r}", path, line)


def _generators(spec: str, path: Path, line: int) -> list[list[tuple[str, str]]] | None:
    """Parse the ~SEQ/~LST prefix of a line into (name, value) rows, nested loops flattened."""
    specs: list[list[list[tuple[str, str]]]] = []
    i = 0
    while True:
        m = GENERATOR_RE.match(spec, i)
        if not m:
            break
        depth = 0
        j = m.end() - 1
        while j < len(spec):
            depth += {"(": 1, ")": -1}.get(spec[j], 0)
            if depth == 0:
                break
            j += 1
        inner = spec[m.end():j]
        kind = m.group(1)
        rows = _seq_rows(inner, kind == "SEQx", path, line) if kind.startswith("SEQ") else _lst_rows(inner)
        if rows is None:
            return None
        specs.append(rows)
        i = j + 1
        while i < len(spec) and spec[i] in " \t":
            i += 1
    total = 1
    for rows in specs:
        total *= len(rows)
        if total > MAX_STATEMENTS:
            raise KeepalivedConfigError(f"~SEQ/~LST makes more than {MAX_STATEMENTS} lines", path, line)
    combos: list[list[tuple[str, str]]] = [[]]
    for rows in specs:
        combos = [c + r for c in combos for r in rows]
    return combos


def _seq_rows(inner: str, hexa: bool, path: Path, line: int) -> list[list[tuple[str, str]]] | None:
    parts = [p.strip() for p in inner.split(",")]
    try:
        nums = [int(p, 0) for p in parts[1:]]
    except ValueError:
        return None
    if len(nums) == 1:
        end = nums[0]
        start, step = (1 if end > 0 else -1), (1 if end > 0 else -1)
    elif len(nums) == 2:
        start, end = nums
        step = 1 if end >= start else -1
    elif len(nums) == 3:
        start, step, end = nums
    else:
        return None
    if step == 0:
        return None
    if max(0, (end - start) // step + 1) > MAX_STATEMENTS:  # (len(range()) overflows past 2**63)
        raise KeepalivedConfigError(f"~SEQ makes more than {MAX_STATEMENTS} lines", path, line)
    fmt = "{:x}" if hexa else "{}"
    return [[(parts[0], fmt.format(v))] for v in range(start, end + (1 if step > 0 else -1), step)]


def _lst_rows(inner: str) -> list[list[tuple[str, str]]] | None:
    groups = re.findall(r"\{([^}]*)\}|([^,{}]+)", inner)
    items = [(g[0].split(",") if g[0] or not g[1] else [g[1]]) for g in groups]
    items = [[x.strip() for x in item] for item in items if any(x.strip() for x in item)]
    if len(items) < 2:
        return None
    names = items[0]
    return [list(zip(names, values, strict=False)) for values in items[1:]]


def _process(state: _State, scan: LineScan, path: Path, line: int, exact: bool, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise KeepalivedConfigError("parameter substitution nested too deeply", path, line)
    if not state.cond_ok(scan.condition):
        return
    state.step(path, line)
    if scan.definition is not None:
        first = scan.raw[scan.code_start:scan.code_end].split("=", 1)[1].lstrip(" \t")
        state.defs[scan.definition] = [first]
        return
    if scan.generator_end > scan.code_start:
        rows = _generators(scan.raw[scan.code_start:scan.generator_end], path, line)
        rest = scan.raw[scan.generator_end:scan.code_end]
        if rows is None:
            raise KeepalivedConfigError("invalid ~SEQ/~LST specification", path, line)
        for row in rows:
            for name, value in row:
                state.defs[name] = [value]
            _process(state, scan_line(rest), path, line, exact=False, depth=depth + 1)
        return
    code = scan.raw[scan.code_start:scan.code_end]
    if "$" in code:
        expanded = _substitute(state, code, path, line)
        if expanded is not None:
            for text in expanded:
                _process(state, scan_line(text), path, line, exact=False, depth=depth + 1)
            return
    _emit(state, scan, path, line, exact)


def _emit(state: _State, scan: LineScan, path: Path, line: int, exact: bool) -> None:
    group: list[str] = []

    def flush() -> None:
        if group:
            node = Node(keyword=group[0], args=tuple(group[1:]), path=path, line=line, exact=exact,
                        condition=scan.condition)
            state.stack[-1].append(node)
            state.last = node
            group.clear()

    for piece in scan.pieces:
        if piece.kind == "word":
            group.append(piece.value)
            continue
        flush()
        if piece.kind == "open":
            owner = state.last
            if owner is None or owner.children is not None:
                owner = Node(keyword="", args=(), path=path, line=line, exact=False)
                state.stack[-1].append(owner)
            owner.children = []
            state.stack.append(owner.children)
            if len(state.stack) > MAX_BLOCK_DEPTH:
                raise KeepalivedConfigError(f"blocks nested more than {MAX_BLOCK_DEPTH} deep", path, line)
            state.last = None
        else:
            if len(state.stack) > 1:
                state.stack.pop()
            state.last = None
    flush()
