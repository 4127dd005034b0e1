"""Resource limits of the keepalived configuration reader.

lvstui reads the running keepalived's configuration for the dashboard and
before every operation, as root.  A hostile or broken file must not hang it
or exhaust the machine's memory: an include of a FIFO or a device, a huge
file, an include tree that fans out, or a ``$DEFINITION``/``~SEQ`` that
multiplies.  Each limit is far above what a real configuration needs (the
largest public ones are a few hundred KiB with some thousand statements) and
each breach is one :class:`~lvstui.keepalived.errors.KeepalivedConfigError`
naming the file and line.
"""

from __future__ import annotations

__all__ = [
    "KEEPALIVED_LINE_BYTES",
    "MAX_BRACE_ALTERNATIVES",
    "MAX_FILES",
    "MAX_FILE_BYTES",
    "MAX_INCLUDE_DEPTH",
    "MAX_LINE_CHARS",
    "MAX_STATEMENTS",
    "MAX_TOTAL_BYTES",
]

MAX_FILE_BYTES = 2 << 20  # one file (a full read of 2 MiB of real statements takes about 3 s)
MAX_TOTAL_BYTES = 8 << 20  # all files of one configuration together
MAX_FILES = 2000  # files pulled in by includes
MAX_INCLUDE_DEPTH = 32  # include nesting
MAX_BRACE_ALTERNATIVES = 4096  # paths one include pattern's {a,b} alternatives may spell
MAX_STATEMENTS = 150_000  # statements keepalived would read after includes, $DEFINITIONs and ~SEQ
MAX_LINE_CHARS = 64 << 10  # one line, as written or after $DEFINITION substitution
KEEPALIVED_LINE_BYTES = 1023  # keepalived's fgets() buffer: it reads a longer line in pieces
