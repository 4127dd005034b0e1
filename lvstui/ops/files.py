"""Write an edited configuration back: all or nothing, atomically, with a backup.

For every modified file: the bytes on disk must still be the ones lvstui read
(sha256), else :class:`ConfigChangedError` and nothing is written.  Each file
is written to a temporary file in its own directory (same owner and mode),
flushed, the previous content is kept as ``FILE.lvstui-bak`` and the
temporary file is renamed over ``FILE`` (``rename(2)`` is atomic, so keepalived
reading during a reload sees the old or the new file, never half of one).
An optional validator (for instance :func:`lvstui.keepalived.validate.check_config`)
runs on the edited configuration before anything is replaced.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from lvstui.keepalived.errors import ConfigChangedError, KeepalivedConfigError
from lvstui.keepalived.loader import KeepalivedConfig, load

__all__ = ["BACKUP_SUFFIX", "write_atomic", "write_config"]

BACKUP_SUFFIX = ".lvstui-bak"


def _disk_digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise KeepalivedConfigError(f"cannot read: {exc.strerror or exc}", path) from None


def write_atomic(path: Path, data: bytes, like: Path | None = None) -> None:
    """Replace ``path`` by ``data`` atomically (temp file in the same directory, fsync, rename)."""
    directory = path.parent
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".lvstui-tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        ref = like if like is not None and like.exists() else None
        if ref is not None:
            st = ref.stat()
            os.chmod(tmp, st.st_mode & 0o7777)
            if os.geteuid() == 0:
                os.chown(tmp, st.st_uid, st.st_gid)
        else:
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def write_config(config: KeepalivedConfig, validate: Callable[[KeepalivedConfig], None] | None = None,
                 backup: bool = True) -> list[Path]:
    """Write every modified file of ``config``; return the paths written.

    Raises :class:`ConfigChangedError` (a file changed on disk since it was
    read) or whatever ``validate`` raises, before writing anything.
    """
    changed = list(config.modified_files())
    for cfile in changed:
        on_disk = _disk_digest(cfile.path)
        if on_disk != cfile.disk_digest:
            raise ConfigChangedError("changed on disk since lvstui read it: not overwriting "
                                     "(reload the configuration and redo the change)", cfile.path)
    if validate is not None and changed:
        validate(config)
    written = []
    for cfile in changed:
        if backup:
            original = cfile.path.read_bytes()
            if hashlib.sha256(original).hexdigest() != cfile.disk_digest:  # raced since the check above
                raise ConfigChangedError("changed on disk while writing: not overwriting", cfile.path)
            write_atomic(cfile.path.with_name(cfile.path.name + BACKUP_SUFFIX), original, like=cfile.path)
        write_atomic(cfile.path, cfile.data, like=cfile.path)
        written.append(cfile.path)
    return written


def reload_after_write(config: KeepalivedConfig) -> KeepalivedConfig:
    """Re-read the configuration from disk (new digests) after :func:`write_config`."""
    return load(config.main)
