"""Write an edited configuration back: all or nothing, atomically, through symlinks, with a backup.

For every modified file: the bytes on disk must still be the ones lvstui read
(sha256), else :class:`ConfigChangedError` and nothing is written.  A file that
is a symbolic link (as configuration management leaves keepalived.conf) is
written through to its target, which keeps its mode and owner; the link stays
a link.  Each target is written to a temporary file in its own directory
(``.NAME.*.lvstui-tmp``: a leading dot, so no ``include conf.d/*`` matches it),
flushed, and renamed over the target (``rename(2)`` is atomic, so keepalived
reading during a reload sees the old or the new file, never half of one).

The previous content of every file is kept in lvstui's state directory, never
beside the file (a backup beside it would match an ``include`` glob and
keepalived would load it too): ``STATE/backups/20261202T010203Z-PID-XXXX/`` holds
one write's files under their full target paths
(``.../etc/keepalived/conf.d/web.conf``); :attr:`Written.backup` says where, and
the journal entry of the change repeats it.

A multi-file write is all or nothing: when a file cannot be written (disk full,
read-only, permissions), the files already written are put back byte for byte
and :class:`WriteFailed` says so in one line.  An optional validator (for
instance :func:`lvstui.keepalived.validate.check_config`) runs on the edited
configuration before anything is replaced.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lvstui.keepalived.errors import ConfigChangedError, KeepalivedConfigError
from lvstui.keepalived.loader import KeepalivedConfig, load
from lvstui.ops.journal import state_dir

__all__ = ["WriteFailed", "Written", "backup_root", "write_atomic", "write_config"]


class WriteFailed(KeepalivedConfigError):
    """A file could not be written; the files written before it were put back (the message says
    whether that worked)."""


@dataclass(frozen=True, slots=True)
class Written:
    path: Path  # the file as the configuration names it (may be a symbolic link)
    target: Path  # the file actually replaced (``path`` with its links resolved)
    backup: Path | None  # the previous content (None: there was no file)


def backup_root() -> Path:
    """Where lvstui keeps the previous content of the files it rewrites."""
    return state_dir() / "backups"


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise KeepalivedConfigError(f"cannot read: {_reason(exc)}", path) from None


def _digest(data: bytes | None) -> str | None:
    return hashlib.sha256(data).hexdigest() if data is not None else None


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


def _backup_dir(root: Path) -> Path:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    while True:
        candidate = root / f"{stamp}-{os.getpid()}-{secrets.token_hex(2)}"
        try:
            candidate.mkdir(mode=0o700)
            return candidate
        except FileExistsError:
            continue


def _keep_backups(targets: list[tuple[Path, bytes | None]], root: Path) -> dict[Path, Path]:
    """Copies of the files about to be replaced, in a new directory under ``root``; refuses
    (nothing written yet) when they cannot be kept."""
    kept: dict[Path, Path] = {}
    if all(original is None for _, original in targets):
        return kept
    try:
        directory = _backup_dir(root)
        for target, original in targets:
            if original is None:
                continue
            backup = directory / target.relative_to(target.anchor)
            backup.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            write_atomic(backup, original, like=target)
            kept[target] = backup
    except OSError as exc:
        raise WriteFailed(f"cannot keep a backup in {root} ({_reason(exc)}): nothing was written",
                          targets[0][0]) from None
    return kept


def _put_back(done: list[tuple[Path, Path, bytes | None]], backups: dict[Path, Path]) -> list[str]:
    """Give every file written its previous bytes again; the problems, one short phrase each."""
    problems = []
    for path, target, original in reversed(done):
        try:
            if _read(target) == original:
                continue
            if original is None:
                target.unlink(missing_ok=True)
            else:
                write_atomic(target, original, like=target)
        except (OSError, KeepalivedConfigError) as exc:
            reason = _reason(exc) if isinstance(exc, OSError) else str(exc)
            where = f": its previous content is {backups[target]}" if target in backups else ""
            problems.append(f"PUT BACK FAILED for {path} ({reason}){where}")
    return problems


def write_config(config: KeepalivedConfig, validate: Callable[[KeepalivedConfig], None] | None = None,
                 backup: bool = True, backup_dir: Path | None = None) -> list[Written]:
    """Write every modified file of ``config``, all or nothing; say what was written and where the
    previous content is kept (``backup_dir``, default :func:`backup_root`).

    Raises :class:`ConfigChangedError` (a file changed on disk since it was read) or whatever
    ``validate`` raises, before writing anything; :class:`WriteFailed` when a file cannot be
    written (the ones written before it were put back).
    """
    changed = list(config.modified_files())
    plan: list[tuple[Path, Path, bytes | None, bytes]] = []  # (path, target, original, new)
    for cfile in changed:
        target = Path(os.path.realpath(cfile.path))
        original = _read(target)
        if _digest(original) != cfile.disk_digest:
            raise ConfigChangedError("changed on disk since lvstui read it: not overwriting "
                                     "(reload the configuration and redo the change)", cfile.path)
        plan.append((cfile.path, target, original, cfile.data))
    if not plan:
        return []
    if validate is not None:
        validate(config)
    backups = _keep_backups([(t, o) for _, t, o, _ in plan], backup_dir or backup_root()) if backup else {}
    done: list[tuple[Path, Path, bytes | None]] = []
    for path, target, original, data in plan:
        failure: KeepalivedConfigError | None = None
        if _digest(_read(target)) != _digest(original):  # raced since the check above
            failure = ConfigChangedError("changed on disk while writing: not overwriting", path)
        else:
            done.append((path, target, original))
            try:
                write_atomic(target, data, like=target)
            except OSError as exc:
                failure = WriteFailed(f"cannot write ({_reason(exc)})", path)
        if failure is not None:
            problems = _put_back(done, backups)
            others = [str(p.name) for p, _, _ in done if p != path]
            if problems:
                tail = "; ".join(problems)
            elif others:
                were = "they were" if len(others) > 1 else "it was"
                tail = f"{', '.join(others)} put back as {were}: nothing was changed"
            else:
                tail = "nothing was changed"
            raise type(failure)(f"{failure.reason}; {tail}", failure.path) from None
    return [Written(path, target, backups.get(target)) for path, target, _, _ in plan]


def reload_after_write(config: KeepalivedConfig) -> KeepalivedConfig:
    """Re-read the configuration from disk (new digests) after :func:`write_config`."""
    return load(config.main)
