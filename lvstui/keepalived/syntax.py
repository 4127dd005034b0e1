"""Concrete syntax tree of one keepalived configuration file, lossless.

A :class:`ConfigFile` keeps the exact text it was read from (decoded with
``surrogateescape`` so any byte survives) split into physical lines, and a tree
of :class:`Statement` objects pointing into those lines by line and column.
Writing back is joining the lines: byte-identical by construction.  Comments,
blank lines, indentation and brace placement are never re-generated; an edit
(:mod:`lvstui.keepalived.edit`) replaces a span or inserts/deletes whole lines
and re-parses.

Structure follows keepalived's reader: a statement is the words of one line
segment (lines are cut at ``{`` and ``}``), a ``{`` opens the block of the
statement before it (on the same line or a later one), ``$NAME=VALUE`` lines
are definitions (continued over lines ending in ``\\``), ``include`` lines name
other files (see :mod:`lvstui.keepalived.loader`).
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from lvstui.keepalived.errors import KeepalivedConfigError
from lvstui.keepalived.lexer import LineScan, Piece, scan_line
from lvstui.keepalived.limits import KEEPALIVED_LINE_BYTES, MAX_FILE_BYTES, MAX_LINE_CHARS

__all__ = ["INCLUDE_RE", "Block", "ConfigFile", "Statement", "parse_text", "read_regular"]

INCLUDE_RE = re.compile(r"include[rmwba]?[ \t]")
MAX_DEPTH = 64  # keepalived's deepest real blocks are 4 levels; this only stops runaway input


@dataclass(eq=False)
class Block:
    open_line: int  # 0-based line index of '{'
    open_col: int
    close_line: int = -1
    close_col: int = -1
    children: list[Statement] = field(default_factory=list)


@dataclass(eq=False)
class Statement:
    """One statement: ``words`` on line ``line`` (0-based), maybe with a block."""

    line: int
    words: tuple[Piece, ...]
    condition: str | None = None
    kind: str = "statement"  # "statement", "include", "definition"
    block: Block | None = None
    end_line: int = -1  # last line holding part of this statement (its '}' or a continuation)
    generator: str = ""  # a "~SEQ(...)" / "~LST(...)" prefix, if any
    definition: str | None = None  # NAME of a $NAME= definition

    @property
    def keyword(self) -> str:
        return self.words[0].value if self.words else ""

    @property
    def args(self) -> tuple[str, ...]:
        return tuple(w.value for w in self.words[1:])

    @property
    def start(self) -> int:
        return self.words[0].start if self.words else 0

    @property
    def end(self) -> int:
        return self.words[-1].end if self.words else 0

    @property
    def include_pattern(self) -> str:
        return self.words[1].text if self.kind == "include" and len(self.words) > 1 else ""

    @property
    def children(self) -> list[Statement]:
        return self.block.children if self.block else []

    def walk(self) -> Iterator[Statement]:
        yield self
        for child in self.children:
            yield from child.walk()


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(eq=False)
class ConfigFile:
    """One file: its exact text, its lines and its statement tree."""

    path: Path
    text: str
    statements: list[Statement]
    scans: list[LineScan]
    disk_digest: str  # sha256 of the bytes as read from disk (for changed-on-disk checks)

    @property
    def lines(self) -> list[str]:
        return self.text.split("\n")

    @property
    def data(self) -> bytes:
        return self.text.encode("utf-8", "surrogateescape")

    @property
    def digest(self) -> str:
        return _digest(self.data)

    @property
    def modified(self) -> bool:
        return self.digest != self.disk_digest

    def walk(self) -> Iterator[Statement]:
        for stmt in self.statements:
            yield from stmt.walk()

    def includes(self) -> Iterator[Statement]:
        return (s for s in self.walk() if s.kind == "include")

    def find(self, line: int, keyword: str, args: tuple[str, ...] | None = None) -> Statement | None:
        """The statement starting on 1-based ``line`` with this keyword (and args)."""
        for stmt in self.walk():
            if stmt.line == line - 1 and stmt.keyword == keyword and (args is None or stmt.args == args):
                return stmt
        return None

    def with_text(self, text: str) -> ConfigFile:
        """The same file (same on-disk digest) with new text, re-parsed."""
        return parse_text(text, self.path, disk_digest=self.disk_digest)

    @classmethod
    def read(cls, path: Path, max_bytes: int = MAX_FILE_BYTES) -> ConfigFile:
        """Read and parse one file: a regular file of at most ``max_bytes`` (see :func:`read_regular`)."""
        data = read_regular(path, max_bytes)
        return parse_text(data.decode("utf-8", "surrogateescape"), path, disk_digest=_digest(data))


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def read_regular(path: Path, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of ``path`` if it is a regular file of at most ``max_bytes``.

    keepalived follows symbolic links in includes, so this does too, but the
    type is checked before opening (a FIFO would block, a device could be
    endless) and again on the open descriptor (the name may have been swapped
    in between); the open is non-blocking and the read stops one byte past the
    limit, so a file that grows while read cannot exhaust memory either.
    """
    try:
        before = os.stat(path)
        if not stat.S_ISREG(before.st_mode):
            raise KeepalivedConfigError(f"cannot read: {_kind(before.st_mode)}, not a regular file", path)
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise KeepalivedConfigError(f"cannot read: {_kind(st.st_mode)}, not a regular file", path)
            if st.st_size > max_bytes:
                raise KeepalivedConfigError(f"file too large: {st.st_size} bytes (at most {max_bytes})", path)
            chunks: list[bytes] = []
            size = 0
            while True:
                chunk = os.read(fd, min(1 << 20, max_bytes + 1 - size))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
                if size > max_bytes:
                    raise KeepalivedConfigError(f"file too large: more than {max_bytes} bytes", path)
        finally:
            os.close(fd)
    except OSError as exc:
        raise KeepalivedConfigError(f"cannot read: {exc.strerror or exc}", path) from None
    return b"".join(chunks)


def _definition_end(scans: list[LineScan], lines: list[str], start: int) -> int:
    """Last line of a multi-line ``$NAME= \\`` definition starting at ``start``."""
    if not scans[start].continued:
        return start
    j = start + 1
    last = start
    while j < len(lines):
        if lines[j].rstrip("\r") == "":
            return last  # an empty line ends the definition
        if scans[j].blank and not scans[j].continued:
            j += 1  # comment-only lines are skipped by keepalived, inside definitions too
            continue
        last = j
        if not scans[j].continued:
            return j
        j += 1
    return last


def parse_text(text: str, path: Path | str, disk_digest: str | None = None) -> ConfigFile:
    """Parse one file's text; raise :class:`KeepalivedConfigError` naming file and line on bad syntax."""
    path = Path(path)
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if len(line) > MAX_LINE_CHARS:  # (a line of a million words takes seconds to scan)
            raise KeepalivedConfigError(f"line of {len(line)} characters (at most {MAX_LINE_CHARS};"
                                        f" keepalived reads {KEEPALIVED_LINE_BYTES} bytes at a time)", path, i + 1)
    scans = [scan_line(line) for line in lines]
    root: list[Statement] = []
    stack: list[tuple[list[Statement], Statement | None]] = [(root, None)]
    last: Statement | None = None  # the statement a following '{' would open

    i = 0
    while i < len(lines):
        scan = scans[i]
        if scan.error:
            raise KeepalivedConfigError(scan.error, path, i + 1)
        if scan.definition is not None:
            end = _definition_end(scans, lines, i)
            for j in range(i + 1, end + 1):
                if scans[j].error:
                    raise KeepalivedConfigError(scans[j].error or "", path, j + 1)
            word = Piece("word", scan.code_start, scan.code_end, scan.raw[scan.code_start:scan.code_end])
            stmt = Statement(line=i, words=(word,), condition=scan.condition, kind="definition",
                             end_line=end, definition=scan.definition)
            stack[-1][0].append(stmt)
            last = None
            i = end + 1
            continue
        generator = scan.raw[scan.code_start:scan.generator_end].rstrip(" \t")
        group: list[Piece] = []

        def flush(group: list[Piece] = group, scan: LineScan = scan, i: int = i) -> None:
            # this line's pieces, bound here: flush runs within the iteration that defines it
            nonlocal last, generator
            if not group:
                return
            kind = "include" if len(group) == 2 and group[1].text == "\0include" else "statement"
            if kind == "include":
                rest = Piece("word", group[1].start, group[1].end, scan.raw[group[1].start:group[1].end])
                words: tuple[Piece, ...] = (group[0], rest)
            else:
                words = tuple(group)
            stmt = Statement(line=i, words=words, condition=scan.condition, kind=kind, end_line=i,
                             generator=generator)
            generator = ""
            stack[-1][0].append(stmt)
            last = stmt
            group.clear()

        pieces = scan.pieces
        if pieces and pieces[0].start == scan.generator_end and INCLUDE_RE.match(scan.raw, pieces[0].start) \
                and len(pieces) > 1:
            # keepalived takes an include line whole, before it splits at braces ({a,b} globs)
            group[:] = [pieces[0], Piece("word", pieces[1].start, scan.code_end, "\0include")]
            flush()
            pieces = ()
        for piece in pieces:
            if piece.kind == "word":
                group.append(piece)
                continue
            flush()
            if piece.kind == "open":
                owner = last
                if owner is None or owner.block is not None or stack[-1][0][-1] is not owner:
                    raise KeepalivedConfigError("unexpected '{' (no keyword before it)", path, i + 1)
                owner.block = Block(open_line=i, open_col=piece.start)
                stack.append((owner.block.children, owner))
                if len(stack) > MAX_DEPTH:
                    raise KeepalivedConfigError(f"blocks nested more than {MAX_DEPTH} deep", path, i + 1)
                last = None
            else:
                if len(stack) == 1:
                    raise KeepalivedConfigError("unbalanced '}'", path, i + 1)
                _, owner = stack.pop()
                assert owner is not None and owner.block is not None
                owner.block.close_line = i
                owner.block.close_col = piece.start
                owner.end_line = i
                last = None
        flush()
        i += 1
    if len(stack) > 1:
        owner = stack[-1][1]
        assert owner is not None
        raise KeepalivedConfigError(f"unbalanced '{{': the block of '{owner.keyword}' is not closed", path,
                          owner.line + 1)
    digest = disk_digest if disk_digest is not None else _digest(text.encode("utf-8", "surrogateescape"))
    return ConfigFile(path=path, text=text, statements=root, scans=scans, disk_digest=digest)
