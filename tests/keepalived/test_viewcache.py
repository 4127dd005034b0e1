"""keepalived's configuration view kept between processes: the same view, or none at all."""

from __future__ import annotations

import io
import os
import pickle
import time
from pathlib import Path

import pytest

from lvstui.keepalived import loader, viewcache
from lvstui.keepalived.errors import KeepalivedConfigError
from lvstui.keepalived.loader import load
from lvstui.keepalived.view import build_view
from lvstui.keepalived.viewcache import cached_view
from tests.keepalived.support import sample_files

SAMPLES = sample_files()


@pytest.fixture(autouse=True)
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "cache-home"
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    return home


def _cache_files(home: Path) -> list[Path]:
    d = home / "lvstui" / "keepalived-view"
    return sorted(d.glob("*.pickle")) if d.is_dir() else []


def _no_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    """From here on, reading the configuration fails: only the cache can answer."""
    def boom(path: object) -> object:
        raise AssertionError(f"the configuration was parsed again: {path}")
    monkeypatch.setattr(loader, "load", boom)


@pytest.mark.parametrize("config_id", [None, "main"])
@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_cached_view_is_the_fresh_view(path: Path, config_id: str | None, cache_home: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    config = load(path)
    fresh = build_view(config, config_id)
    first, files = cached_view(path, config_id)
    assert first == fresh and files == tuple(config.files)
    assert len(_cache_files(cache_home)) == 1  # the shared samples are old: cacheable
    _no_parsing(monkeypatch)
    again, files_again = cached_view(path, config_id)
    assert again == fresh and again is not fresh
    assert files_again == files


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


VS = "virtual_server 10.0.0.{n} 80 {{\n  lb_kind DR\n  protocol TCP\n  real_server 10.1.0.{n} 80 {{\n  }}\n}}\n"


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A main file including conf.d/*.conf, cacheable at once (no settling time)."""
    monkeypatch.setattr(viewcache, "SETTLE_SECONDS", 0.0)
    main = tmp_path / "etc" / "keepalived.conf"
    _write(main, "global_defs {\n  router_id lb1\n}\ninclude conf.d/*.conf\n")
    _write(tmp_path / "etc" / "conf.d" / "a.conf", VS.format(n=1))
    time.sleep(0.05)  # the files' ctime (a coarse clock) before the read starts
    return main


def _keys(main: Path) -> list[str]:
    view, _ = cached_view(main)
    assert view == build_view(load(main))
    return [vs.key for vs in view.virtual_servers]


def test_a_changed_include_invalidates(tree: Path, cache_home: Path) -> None:
    assert _keys(tree) == ["tcp:10.0.0.1:80"]
    assert len(_cache_files(cache_home)) == 1
    _write(tree.parent / "conf.d" / "a.conf", VS.format(n=1) + VS.format(n=2))
    time.sleep(0.05)
    assert _keys(tree) == ["tcp:10.0.0.1:80", "tcp:10.0.0.2:80"]


def test_a_new_or_removed_included_file_invalidates(tree: Path) -> None:
    assert _keys(tree) == ["tcp:10.0.0.1:80"]
    _write(tree.parent / "conf.d" / "b.conf", VS.format(n=3))  # no file read changed: the glob did
    time.sleep(0.05)
    assert _keys(tree) == ["tcp:10.0.0.1:80", "tcp:10.0.0.3:80"]
    (tree.parent / "conf.d" / "a.conf").unlink()
    assert _keys(tree) == ["tcp:10.0.0.3:80"]


def test_the_same_size_and_mtime_still_invalidates(tree: Path) -> None:
    """``touch -d`` puts an mtime back; the ctime (and the inode of a replaced file) still differ."""
    inc = tree.parent / "conf.d" / "a.conf"
    assert _keys(tree) == ["tcp:10.0.0.1:80"]
    st = inc.stat()
    inc.write_text(VS.format(n=7))  # same length
    os.utime(inc, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert inc.stat().st_size == st.st_size and inc.stat().st_mtime_ns == st.st_mtime_ns
    assert _keys(tree) == ["tcp:10.0.0.7:80"]


def test_config_id_and_main_file_are_part_of_the_key(tree: Path, cache_home: Path) -> None:
    _write(tree.parent / "conf.d" / "a.conf", "@lb1 " + VS.format(n=1).replace("\n", "\n@lb1 ", 6))
    time.sleep(0.05)
    assert [vs.key for vs in cached_view(tree, "lb1")[0].virtual_servers] == ["tcp:10.0.0.1:80"]
    assert cached_view(tree, "lb2")[0].virtual_servers == ()
    assert [vs.key for vs in cached_view(tree, "lb1")[0].virtual_servers] == ["tcp:10.0.0.1:80"]
    assert len(_cache_files(cache_home)) == 2


def test_a_file_changed_just_before_the_read_is_not_cached(tmp_path: Path, cache_home: Path) -> None:
    main = tmp_path / "keepalived.conf"
    _write(main, VS.format(n=1))  # its ctime is now: a write in the same clock tick would look the same
    view, _ = cached_view(main)
    assert view == build_view(load(main))
    assert _cache_files(cache_home) == []


def test_errors_are_the_parsers_and_not_cached(tree: Path, cache_home: Path) -> None:
    _write(tree.parent / "conf.d" / "a.conf", "virtual_server 10.0.0.1 80 {\n" * 200)
    time.sleep(0.05)
    with pytest.raises(KeepalivedConfigError):
        build_view(load(tree))
    with pytest.raises(KeepalivedConfigError):
        cached_view(tree)
    assert _cache_files(cache_home) == []


@pytest.mark.parametrize("damage", ["truncated", "garbage", "mode", "owner", "link", "dir-mode"])
def test_a_damaged_or_foreign_cache_is_ignored(tree: Path, cache_home: Path, damage: str,
                                               tmp_path: Path) -> None:
    good = build_view(load(tree))
    cached_view(tree)
    (path,) = _cache_files(cache_home)
    other = tmp_path / "other.pickle"
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif damage == "garbage":
        path.write_bytes(b"\x80\x05not a pickle at all")
    elif damage == "mode":
        path.chmod(0o644)
    elif damage == "owner":
        if os.geteuid() != 0:
            pytest.skip("chown needs root")
        os.chown(path, 12345, -1)
    elif damage == "link":
        other.write_bytes(path.read_bytes())
        other.chmod(0o600)
        path.unlink()
        path.symlink_to(other)
    elif damage == "dir-mode":
        path.parent.chmod(0o777)
    view, _ = cached_view(tree)
    assert view == good
    if damage == "dir-mode":
        assert _cache_files(cache_home) == [path]  # not rewritten in a directory others can write
    elif damage != "link":
        assert path.stat().st_mode & 0o777 == 0o600 and path.stat().st_uid == os.geteuid()  # rewritten


class _Marker:
    """Unpickling this would create a file: the cache must never get that far."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (self.path, "w"))


def test_a_planted_pickle_cannot_call_anything(tree: Path, cache_home: Path, tmp_path: Path) -> None:
    good = build_view(load(tree))
    cached_view(tree)
    (path,) = _cache_files(cache_home)
    raw = path.read_bytes()
    buf = io.BytesIO(raw)
    pickle.load(buf)  # the header, valid: what follows is the view
    marker = tmp_path / "marker"
    for planted in (pickle.dumps(_Marker(str(marker))), raw[:buf.tell()] + pickle.dumps(_Marker(str(marker)))):
        path.write_bytes(planted)
        view, _ = cached_view(tree)
        assert view == good
        assert not marker.exists()
