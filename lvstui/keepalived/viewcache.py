"""keepalived's configuration view kept between processes, for one-shot commands.

Building the view of a large configuration (reading, lexing, expanding, the frozen view) costs
more than reading the kernel's whole IPVS table, and a script that runs ``lvstui snapshot --json``
every minute would pay it every time for a configuration that did not change.
:func:`cached_view` keeps the built view in ``$XDG_CACHE_HOME/lvstui/keepalived-view/``
(``~/.cache/lvstui``), one file per main configuration file and config-id, and uses it only when
every input of the view is as it was when it was built:

* every file read (the main file and each included one): path, device, inode, size, and mtime
  and ctime in nanoseconds (``touch -d`` can put an mtime back, not a ctime);
* every include statement's matches, resolved again (a new file in an included directory);
* the config-id, lvstui's version, the Python that wrote it and the stamps of the modules that
  build the view (another lvstui never uses this one's view).

A view is cached only when none of its files changed in the :data:`SETTLE_SECONDS` before it was
read: file times come from a coarse clock, so a write just after the read could leave the same
stamps (git's "racily clean" index entries).

The cache is only ever speed, never trusted for more: anything wrong with it (absent, corrupt,
another format, another owner, a link, a directory others can write, an unexpected class) and the
view is built from the files, exactly as without a cache, and the cache file rewritten.

Why pickle: loading it rebuilds the frozen dataclasses in C, several times faster than rebuilding
them in Python from JSON.  Unpickling can call what the file names, so (1) the file is used only
when it is a regular file (opened with ``O_NOFOLLOW``), owned by this user, 0600, in a directory
chain of this user's (or root's) that nobody else can write; whoever can write there can already
run code as this user; and (2) :class:`_ViewUnpickler` resolves only the view's own classes and
``pathlib.PosixPath``: a planted or damaged file can name no other callable.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import pickle
import stat
import sys
import time
from pathlib import Path, PosixPath
from typing import TYPE_CHECKING, Any

from lvstui import __version__
from lvstui.cachedir import cache_dir
from lvstui.keepalived import view as view_module
from lvstui.keepalived.view import ConfigView
from lvstui.safeio import FileRefused, read_regular

if TYPE_CHECKING:
    from lvstui.keepalived.loader import KeepalivedConfig

__all__ = ["SETTLE_SECONDS", "cached_view"]

FORMAT = 1
#: A file changed less than this long before the read makes its view uncacheable (see above).
SETTLE_SECONDS = 2.0
#: The cache files kept (one per main file and config-id); the oldest go first.
KEEP_FILES = 8
MAX_CACHE_BYTES = 256 << 20

# (path, st_dev, st_ino, st_size, st_mtime_ns, st_ctime_ns)
Stamp = tuple[str, int, int, int, int, int]


def _directory() -> Path:
    return cache_dir() / "keepalived-view"


def _stamp(path: Path) -> Stamp | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (str(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _code_stamp() -> tuple[object, ...]:
    """lvstui's version, the Python and the modules whose code decides what the view is."""
    parts: list[object] = [FORMAT, __version__, sys.version, sys.implementation.cache_tag]
    here = Path(__file__).parent  # not imported: a view from the cache needs no parser
    for name in ("view", "expand", "lexer", "syntax", "loader", "limits", "errors"):
        parts.append(_stamp(here / f"{name}.py"))
    return tuple(parts)


def _includes(config: KeepalivedConfig) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    """(including file, pattern, matched files) of every include statement, in order."""
    out = []
    for path, cfile in config.files.items():
        for stmt in cfile.includes():
            out.append((str(path), stmt.include_pattern,
                        tuple(str(p) for p in config.included_by(path, stmt))))
    return tuple(out)


def _includes_unchanged(includes: tuple[tuple[str, str, tuple[str, ...]], ...]) -> bool:
    if not includes:
        return True
    from lvstui.keepalived.loader import resolve_include

    for including, pattern, matches in includes:
        try:
            found, _ = resolve_include(pattern, Path(including).parent)
        except Exception:  # noqa: BLE001 - any doubt: build the view from the files
            return False
        if tuple(str(p) for p in found) != matches:
            return False
    return True


class _ViewUnpickler(pickle.Unpickler):
    """Resolves the view's dataclasses and PosixPath, nothing else."""

    allowed = frozenset(name for name, obj in vars(view_module).items()
                         if isinstance(obj, type) and obj.__module__ == view_module.__name__)

    def find_class(self, module: str, name: str) -> Any:
        if module == view_module.__name__ and name in self.allowed:
            return getattr(view_module, name)
        if module == "pathlib" and name == "PosixPath":
            return PosixPath
        raise pickle.UnpicklingError(f"{module}.{name} is not part of a configuration view")


def _by_fields(obj: Any) -> tuple[type, tuple[object, ...]]:
    """A view dataclass as its class and its fields' values: unpickling calls the class, which is
    several times faster than dataclasses' generic ``__setstate__`` (it looks the fields up again
    for every object)."""
    return type(obj), tuple(getattr(obj, f.name) for f in dataclasses.fields(obj))


def _dumps(view: ConfigView) -> bytes:
    buf = io.BytesIO()
    pickler = pickle.Pickler(buf, pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = {getattr(view_module, name): _by_fields for name in _ViewUnpickler.allowed
                              if dataclasses.is_dataclass(getattr(view_module, name))}
    pickler.dump(view)
    return buf.getvalue()


def _trusted_dir(directory: Path, create: bool) -> bool:
    """*directory* and its parents up to the cache's base are ours (or root's), links refused,
    and writable by nobody else."""
    if create:
        try:
            os.makedirs(directory, mode=0o700, exist_ok=True)
        except OSError:
            return False
    me = os.geteuid()
    base = cache_dir().parent
    for d in (directory, directory.parent, base):
        try:
            st = os.lstat(d)
        except OSError:
            return False
        if not stat.S_ISDIR(st.st_mode) or st.st_uid not in (me, 0) or st.st_mode & 0o022:
            return False
    return True


def _file_name(main: Path, config_id: str | None) -> str:
    digest = hashlib.sha256(repr((str(main), config_id)).encode("utf-8", "surrogateescape")).hexdigest()
    return f"{digest[:32]}.pickle"


def _read_cache(path: Path) -> bytes | None:
    """The cache file's bytes if it is a regular file (no link followed) of ours, 0600, not too large."""
    try:
        return read_regular(path, MAX_CACHE_BYTES, follow=False, owners={os.geteuid()}, private=True)
    except FileRefused:
        return None


def _load(main: Path, config_id: str | None) -> tuple[ConfigView, tuple[Path, ...]] | None:
    """The cached view and its files when every input is unchanged; None otherwise."""
    directory = _directory()
    if not _trusted_dir(directory, create=False):
        return None
    raw = _read_cache(directory / _file_name(main, config_id))
    if raw is None:
        return None
    try:
        buf = io.BytesIO(raw)
        header = _ViewUnpickler(buf).load()
        if not isinstance(header, tuple) or len(header) != 5:
            return None
        code, key, stamps, includes, _written = header
        if code != _code_stamp() or key != (str(main), config_id):
            return None
        if any(_stamp(Path(s[0])) != s for s in stamps) or not _includes_unchanged(includes):
            return None
        view = _ViewUnpickler(buf).load()  # a pickle of its own: its own memo
    except Exception:  # noqa: BLE001 - a damaged cache is a miss, whatever it raises
        return None
    if not isinstance(view, ConfigView):
        return None
    return view, tuple(Path(s[0]) for s in stamps)


def _store(main: Path, config_id: str | None, config: KeepalivedConfig, view: ConfigView,
           started: float) -> None:
    """Write the cache file atomically; silently nothing when anything is in doubt."""
    stamps = []
    for path in config.files:
        st = _stamp(path)
        if st is None or st[5] / 1e9 > started - SETTLE_SECONDS:
            return  # gone, or changed while (or just before) it was read: not cacheable
        stamps.append(st)
    directory = _directory()
    if not _trusted_dir(directory, create=True):
        return
    header = (_code_stamp(), (str(main), config_id), tuple(stamps), _includes(config), time.time())
    try:
        data = pickle.dumps(header, pickle.HIGHEST_PROTOCOL) + _dumps(view)
    except Exception:  # noqa: BLE001 - a view that does not pickle is simply not cached
        return
    final = directory / _file_name(main, config_id)
    tmp = directory / f".{final.name}.{os.getpid()}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            with os.fdopen(os.dup(fd), "wb") as f:
                f.write(data)
        finally:
            os.close(fd)
        os.replace(tmp, final)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        return
    _prune(directory)


def _prune(directory: Path) -> None:
    """Keep the KEEP_FILES most recent cache files (each keepalived restart in another mount
    namespace has a path of its own through /proc/PID/root)."""
    try:
        entries = sorted((e.stat(follow_symlinks=False).st_mtime_ns, e.path) for e in os.scandir(directory)
                         if e.name.endswith(".pickle"))
    except OSError:
        return
    for _, path in entries[:-KEEP_FILES]:
        try:
            os.unlink(path)
        except OSError:
            pass


def cached_view(main: Path, config_id: str | None = None, *, use_cache: bool = True
                ) -> tuple[ConfigView, tuple[Path, ...]]:
    """The view of the configuration at *main* for *config_id*, and the files it was read from.

    Exactly ``build_view(load(main), config_id)`` (same errors: KeepalivedConfigError), taken from
    the cache when every input is unchanged.
    """
    main = Path(main).absolute()
    if use_cache:
        hit = _load(main, config_id)
        if hit is not None:
            return hit
    # imported only now: a view from the cache needs no parser
    from lvstui.keepalived.loader import load
    from lvstui.keepalived.view import build_view

    started = time.time()
    config = load(main)
    view = build_view(config, config_id)
    if use_cache:
        _store(main, config_id, config, view, started)
    return view, tuple(config.files)
