"""Reading small files lvstui did not write, as root, without being fooled by them.

lvstui runs as root on directors; some of what it reads sits where another user may
plant a file or a link (keepalived's dumps in /tmp, a plan file given on the command
line, the user's config).  :func:`read_regular` opens without blocking (a FIFO never
hangs the caller), optionally without following a link at the name, and refuses
before reading anything that is not a regular file, is owned by a user it should not
be, or is larger than the caller's cap.  A refusal is :class:`FileRefused`, one line
without the path (the caller names the file).

Text from elsewhere (a remote file, a command's output on a host that may be compromised)
is shown through :func:`escape_control`: an escape sequence or a carriage return cannot
move the cursor, recolour or hide a line of a diff.  No Textual, no Rich: every layer uses it.
"""

from __future__ import annotations

import errno
import os
import stat
import unicodedata
from collections.abc import Collection
from pathlib import Path

__all__ = ["FileRefused", "escape_control", "read_regular"]


class FileRefused(Exception):
    """The file cannot be used; the message is one line and does not repeat the path."""


def read_regular(path: str | Path, limit: int, *, follow: bool = True,
                 owners: Collection[int] | None = None, private: bool = False) -> bytes | None:
    """The bytes of *path*, or None when it does not exist.

    *follow* False: a symbolic link at *path* is refused (``O_NOFOLLOW``).  *owners*: the
    uids allowed to own the file.  *private*: a file that its group or others may read or
    write is refused.  Anything but a regular file, or more than *limit* bytes, is refused unread.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | (0 if follow else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow:
            raise FileRefused("is a symbolic link (not followed)") from None
        raise FileRefused(exc.strerror or str(exc)) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise FileRefused(f"not a regular file ({_kind(st.st_mode)})")
        if owners is not None and st.st_uid not in owners:
            allowed = " or ".join("root" if uid == 0 else f"uid {uid}" for uid in sorted(owners))
            raise FileRefused(f"owned by uid {st.st_uid}, not by {allowed}: not trusted")
        if private and st.st_mode & 0o077:
            raise FileRefused(f"mode {stat.S_IMODE(st.st_mode):04o}, not private to its owner: not trusted")
        if st.st_size > limit:
            raise FileRefused(f"too large ({st.st_size} bytes, at most {limit})")
        chunks: list[bytes] = []
        size = 0
        while size <= limit:  # the file may grow after fstat: never read past the cap
            chunk = os.read(fd, min(1 << 16, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise FileRefused(f"too large (more than {limit} bytes)")
        return b"".join(chunks)
    except OSError as exc:
        raise FileRefused(exc.strerror or str(exc)) from None
    finally:
        os.close(fd)


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a device"),
                       (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "a special file"


def escape_control(text: str, *, newlines: bool = True) -> str:
    """*text* with every control or invisible formatting character shown as ``\\xNN``/``\\uNNNN``.

    Escaped: C0/C1 controls and DEL (ESC, CR, backspace ...), Unicode format characters
    (bidirectional overrides, zero-width ones) and line/paragraph separators.  Kept: tab, and
    newline unless *newlines* is False (a one-line message).  Printable text is unchanged,
    so escaping twice changes nothing more.
    """
    out = []
    for ch in text:
        if ch == "\t" or (ch == "\n" and newlines):
            out.append(ch)
        elif unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Cs"):
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000
                       else f"\\U{code:08x}")
        else:
            out.append(ch)
    return "".join(out)
