"""One physical line of keepalived.conf, scanned the way keepalived's lib/parser.c reads it.

keepalived reads a line, strips the end-of-line characters and leading blanks,
cuts the comment (``#`` or ``!`` anywhere outside double quotes; ``\\#`` and
``\\!`` are escaped), drops or keeps a line starting ``@ID``/``@^ID``
(conditional configuration), recognises ``$NAME=VALUE`` definitions and
``~SEQ``/``~LST`` generators, and finally splits the rest at every ``{`` and
``}`` outside double quotes.  Each resulting segment is a statement: words
separated by blanks, where ``"..."`` and ``'...'`` quote.

:func:`scan_line` records where each of those parts is (column offsets into
the raw line), so that the concrete syntax tree can be written back byte for
byte and an edit can replace exactly one span.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

__all__ = ["DEFINITION_RE", "GENERATOR_RE", "LineScan", "Piece", "quote_word", "scan_line", "unquote"]

BLANKS = " \t"
# $NAME=VALUE: no blank before '=', name of A-Za-z0-9_ not starting with a digit
DEFINITION_RE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)=")
GENERATOR_RE = re.compile(r"~(SEQx?|LST)\(")


@dataclass(frozen=True, slots=True)
class Piece:
    """A word, ``{`` or ``}`` of a line; ``start``/``end`` are columns in the raw line."""

    kind: str  # "word", "open", "close"
    start: int
    end: int
    text: str  # raw text, quotes included

    @property
    def value(self) -> str:
        return unquote(self.text) if self.kind == "word" else self.text


@dataclass(frozen=True, slots=True)
class LineScan:
    raw: str
    indent: str  # leading blanks
    code_start: int  # first column after the indent and any @condition
    code_end: int  # end of the code, trailing blanks and comment excluded
    comment_start: int | None  # column of the '#'/'!' starting the comment
    condition: str | None  # "@main", "@^backup" or None
    continued: bool  # the code ends with an unquoted '\' (multi-line definition)
    definition: str | None  # NAME of a "$NAME=" line
    generator_end: int  # column after the ~SEQ(...)/~LST(...) prefixes (== code_start if none)
    pieces: tuple[Piece, ...]
    error: str | None  # an unterminated quote, reported by the caller with file and line

    @property
    def code(self) -> str:
        return self.raw[self.code_start:self.code_end]

    @property
    def blank(self) -> bool:
        """Nothing for keepalived on this line (empty, blanks or a comment only)."""
        return self.code_end <= len(self.indent) and self.condition is None


def _line_body(raw: str) -> str:
    return raw.rstrip("\r\n")


def _comment_start(body: str, start: int) -> tuple[int | None, bool, bool]:
    """Column where the comment starts, whether a quote is left open, whether the line ends in '\\'."""
    quote = False
    i = start
    n = len(body)
    while i < n:
        c = body[i]
        if c == '"':
            quote = not quote
        elif c == "\\":
            if i + 1 >= n:
                return None, quote, True
            i += 2
            continue
        elif not quote and c in "!#":
            return i, quote, False
        i += 1
    return None, quote, False


def _split_pieces(body: str, start: int, end: int) -> list[Piece]:
    """Split ``body[start:end]`` into words and braces as keepalived does.

    Braces split outside double quotes (keepalived's brace scan honours only
    ``"``); ``${NAME}`` stays inside its word.  Within a word, ``"`` and ``'``
    quote and ``\\`` escapes.
    """
    pieces: list[Piece] = []
    i = start
    while i < end:
        c = body[i]
        if c in BLANKS:
            i += 1
            continue
        if c in "{}":
            pieces.append(Piece("open" if c == "{" else "close", i, i + 1, c))
            i += 1
            continue
        j = i
        quote = ""
        while j < end:
            c = body[j]
            if quote:
                if c == "\\" and j + 1 < end:
                    j += 2
                    continue
                if c == quote:
                    quote = ""
                elif quote == "'" and c in "{}":
                    break  # keepalived splits at braces inside single quotes
                j += 1
                continue
            if c in BLANKS or c in "{}":
                break
            if c == "\\" and j + 1 < end:
                j += 2
                continue
            if c in "\"'":
                quote = c
            elif c == "$" and j + 1 < end and body[j + 1] == "{":
                close = body.find("}", j + 2, end)
                if close != -1:
                    j = close + 1
                    continue
            j += 1
        if j == i:  # a lone quote char swallowed nothing: take one char to make progress
            j = i + 1
        pieces.append(Piece("word", i, j, body[i:j]))
        i = j
    return pieces


def _generator_end(body: str, start: int, end: int) -> int:
    """Skip ``~SEQ(...)``/``~SEQx(...)``/``~LST(...)`` prefixes (their parentheses may hold braces)."""
    i = start
    while True:
        m = GENERATOR_RE.match(body, i, end)
        if not m:
            return i
        depth = 0
        j = m.end() - 1
        while j < end:
            if body[j] == "(":
                depth += 1
            elif body[j] == ")":
                depth -= 1
                if depth == 0:
                    break
            j += 1
        if j >= end:
            return i  # malformed: leave it to the words
        j += 1
        while j < end and body[j] in BLANKS:
            j += 1
        i = j


CACHED_LINE_CHARS = 4096  # longer lines are scanned afresh: the cache must not pin megabytes


def scan_line(raw: str) -> LineScan:
    """Scan one line (cached when short: LineScan is immutable and configurations repeat lines a lot)."""
    if len(raw) > CACHED_LINE_CHARS:
        return _scan_line(raw)
    return _scan_line_cached(raw)


def _scan_line(raw: str) -> LineScan:
    body = _line_body(raw)
    indent_end = len(body) - len(body.lstrip(BLANKS))
    indent = body[:indent_end]
    comment, open_quote, continued = _comment_start(body, indent_end)
    end = comment if comment is not None else len(body)
    if continued:
        end = len(body) - 1
    while end > indent_end and body[end - 1] in BLANKS:
        end -= 1
    error = "unterminated quote" if open_quote else None
    code_start = indent_end
    condition = None
    if end > indent_end and body[indent_end] == "@":
        j = indent_end
        while j < end and body[j] not in BLANKS:
            j += 1
        condition = body[indent_end:j]
        while j < end and body[j] in BLANKS:
            j += 1
        code_start = j
    definition = None
    pieces: tuple[Piece, ...] = ()
    generator_end = code_start
    m = DEFINITION_RE.match(body, code_start, end) if code_start < end else None
    if m:
        definition = m.group(1)
    elif code_start < end:
        generator_end = _generator_end(body, code_start, end)
        pieces = tuple(_split_pieces(body, generator_end, end))
    return LineScan(raw=raw, indent=indent, code_start=code_start, code_end=end,
                    comment_start=comment, condition=condition, continued=continued,
                    definition=definition, generator_end=generator_end, pieces=pieces,
                    error=error)


_scan_line_cached = functools.lru_cache(maxsize=1 << 16)(_scan_line)


_ESCAPES = {"a": "\a", "b": "\b", "E": "\x1b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


def unquote(text: str) -> str:
    """The value keepalived sees for a word: quotes removed, ``\\C`` escapes resolved."""
    if "\\" not in text and '"' not in text and "'" not in text:
        return text  # nearly every word: nothing to resolve, no loop over its characters
    out: list[str] = []
    quote = ""
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n:
            nxt = text[i + 1]
            out.append(_ESCAPES.get(nxt, nxt) if quote else nxt)
            i += 2
            continue
        if quote and c == quote:
            quote = ""
        elif not quote and c in "\"'":
            quote = c
        else:
            out.append(c)
        i += 1
    return "".join(out)


_SAFE_WORD = re.compile(r"[^\s\"'{}#!\\]+")


def quote_word(value: str) -> str:
    """Spell ``value`` as one keepalived word, quoting only when needed."""
    if _SAFE_WORD.fullmatch(value):
        return value
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
