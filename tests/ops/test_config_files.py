"""Writing keepalived's files: backups outside include globs, all-or-nothing multi-file writes,
symbolic links written through.  Real files in temp dirs, the real ``keepalived -t``; the kernel
is the in-memory director of test_durable_plan (the lab tests run the same against real IPVS)."""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path

import pytest

from lvstui.keepalived import edit
from lvstui.keepalived.loader import load
from lvstui.keepalived.site import KeepalivedSite
from lvstui.keepalived.validate import keepalived_test
from lvstui.keepalived.view import build_view
from lvstui.model import Forward, RealServer, VirtualService
from lvstui.ops import changes as c
from lvstui.ops.engine import KeepalivedRefused, Operations
from lvstui.ops.files import WriteFailed, backup_root, write_config
from lvstui.ops.journal import Journal, WeightMemory
from lvstui.ops.lock import config_lock_name
from lvstui.ops.targets import parse_server_id, parse_service_id
from tests.ops.test_durable_plan import MemoryDirector, no_reload
from tests.ops.test_lock import _hold_in_child
from tests.support.locks import try_as_another_operator

HEAD = "global_defs {\n    router_id test\n}\n\ninclude conf.d/*\n"

WEB = """\
virtual_server 192.168.1.100 80 {
    lb_algo wrr
    lb_kind DR
    protocol TCP
    real_server 192.168.1.21 80 {
        weight 5
        TCP_CHECK {
            connect_timeout 1
        }
    }
    real_server 192.168.1.22 80 {
        weight 2
    }
}
"""
MAIL = WEB.replace(" 80", " 25").replace("192.168.1.100", "192.168.1.101")


def ops_for(tmp: Path, conf: Path, services: list[VirtualService]) -> tuple[Operations, MemoryDirector]:
    director = MemoryDirector(services)
    ops = Operations(director, journal=Journal(tmp / "journal.jsonl"), memory=WeightMemory(tmp / "w.json"),
                     keepalived=KeepalivedSite(conf, None, None, "test"), track_dir=tmp / "track",
                     settle_seconds=0, eqt=lambda: 1)
    return ops, director


def vs(address: str, port: int, weight: int) -> VirtualService:
    servers = (RealServer(address="192.168.1.21", port=port, forward=Forward.DR, weight=weight),
               RealServer(address="192.168.1.22", port=port, forward=Forward.DR, weight=2))
    return VirtualService(protocol="tcp", family="inet", address=address, port=port, scheduler="wrr",
                          real_servers=servers)


@pytest.fixture()
def site(tmp_path: Path) -> dict:  # type: ignore[type-arg]
    conf_d = tmp_path / "conf.d"
    conf_d.mkdir()
    conf = tmp_path / "keepalived.conf"
    conf.write_text(HEAD)
    (conf_d / "web.conf").write_text(WEB)
    (conf_d / "mail.conf").write_text(MAIL)
    ops, director = ops_for(tmp_path, conf, [vs("192.168.1.100", 80, 5), vs("192.168.1.101", 25, 5)])
    return {"tmp": tmp_path, "conf": conf, "conf_d": conf_d, "ops": ops, "director": director}


def loaded_servers(conf: Path) -> list[tuple[str, str, int]]:
    """What keepalived loads (lvstui's loader follows include globs as keepalived does)."""
    return [(v.key, r.address, r.weight) for v in build_view(load(conf)).virtual_servers for r in v.real_servers]


def last_entry(tmp: Path) -> dict:  # type: ignore[type-arg]
    return json.loads((tmp / "journal.jsonl").read_text().splitlines()[-1])


WEB_KEY = (parse_service_id("tcp:192.168.1.100:80"), parse_server_id("192.168.1.21:80"))


# -- item 1: backups in lvstui's state directory -------------------------------------------------


def test_backup_is_not_in_the_include_glob_so_the_server_loads_once(site: dict,  # type: ignore[type-arg]
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    reloads = no_reload(monkeypatch)
    outcome = site["ops"].apply(c.SetWeight(*WEB_KEY, weight=7))
    assert len(reloads) == 1
    assert sorted(p.name for p in site["conf_d"].iterdir()) == ["mail.conf", "web.conf"]
    assert loaded_servers(site["conf"]) == [("tcp:192.168.1.101:25", "192.168.1.21", 5),
                                            ("tcp:192.168.1.101:25", "192.168.1.22", 2),
                                            ("tcp:192.168.1.100:80", "192.168.1.21", 7),
                                            ("tcp:192.168.1.100:80", "192.168.1.22", 2)]
    result = keepalived_test(load(site["conf"]))
    assert result is not None and result.ok, result.messages
    # the journal and the output say where the previous content is; it is under the state directory
    web = site["conf_d"] / "web.conf"
    backup = Path(last_entry(site["tmp"])["keepalived"]["backups"][str(web)])
    assert backup.is_relative_to(backup_root()) and backup.read_text() == WEB
    assert str(backup).endswith(str(web))  # named by the file's full path: the operator finds it
    assert any(f"previous kept as {backup}" in m for m in outcome.messages)
    # and undo (re-planned through the journal) puts the weight back without needing a backup beside it
    from lvstui.ops.undo import apply_undo, plan_undo

    apply_undo(site["ops"], plan_undo(site["ops"]))
    assert web.read_text() == WEB and loaded_servers(site["conf"])[2][2] == 5
    assert sorted(p.name for p in site["conf_d"].iterdir()) == ["mail.conf", "web.conf"]


def test_backups_that_cannot_be_kept_refuse_before_writing(site: dict,  # type: ignore[type-arg]
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    no_reload(monkeypatch)
    blocker = site["tmp"] / "state-is-a-file"
    blocker.write_text("")
    monkeypatch.setenv("LVSTUI_STATE_DIR", str(blocker))  # backups/ cannot be made under it
    cfg = load(site["conf"])
    new = edit.set_weight(cfg, build_view(cfg).virtual_servers[0].real_servers[0], 9)
    with pytest.raises(WriteFailed, match=r"cannot keep a backup in .*: nothing was written$"):
        write_config(new)
    assert (site["conf_d"] / "mail.conf").read_text() == MAIL and (site["conf_d"] / "web.conf").read_text() == WEB


# -- item 4: multi-file writes all or nothing ------------------------------------------------------


def two_file_edit(conf: Path):  # type: ignore[no-untyped-def]
    cfg = load(conf)
    view = build_view(cfg)
    new = edit.set_weight(cfg, view.virtual_servers[0].real_servers[0], 8)
    view = build_view(new)
    return edit.set_weight(new, view.virtual_servers[1].real_servers[0], 9)


def fail_replace_of(monkeypatch: pytest.MonkeyPatch, victim: Path, code: int) -> list[str]:
    """os.replace onto ``victim`` fails with ``code`` (what a full disk, a read-only remount or a
    permission change gives rename(2)); every other rename goes through."""
    real = os.replace
    seen: list[str] = []

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        seen.append(os.fspath(dst))
        if Path(dst) == victim:
            raise OSError(code, os.strerror(code), os.fspath(dst))
        real(src, dst)

    monkeypatch.setattr("lvstui.ops.files.os.replace", replace)
    return seen


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS, errno.EACCES])
def test_second_file_failing_puts_the_first_back_byte_identical(site: dict, code: int,  # type: ignore[type-arg]
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    new = two_file_edit(site["conf"])
    first, second = (f.path for f in new.modified_files())
    before = {p: p.read_bytes() for p in (first, second)}
    modes = {p: stat.S_IMODE(p.stat().st_mode) for p in (first, second)}
    seen = fail_replace_of(monkeypatch, second, code)
    with pytest.raises(WriteFailed) as exc:
        write_config(new)
    assert str(first) in seen  # the first file was written, then put back
    message = str(exc.value)
    assert "\n" not in message and message.startswith(f"{second.name}: cannot write ({os.strerror(code)})")
    assert message.endswith(f"{first.name} put back as it was: nothing was changed")
    assert {p: p.read_bytes() for p in (first, second)} == before
    assert {p: stat.S_IMODE(p.stat().st_mode) for p in (first, second)} == modes
    assert sorted(p.name for p in site["conf_d"].iterdir()) == ["mail.conf", "web.conf"]  # no temp file left


def test_put_back_that_fails_too_says_where_the_backup_is(site: dict,  # type: ignore[type-arg]
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    new = two_file_edit(site["conf"])
    first, _ = (f.path for f in new.modified_files())
    real = os.replace
    calls = {"n": 0}

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        if Path(dst).parent == site["conf_d"]:
            calls["n"] += 1
            if calls["n"] > 1:  # the first file goes through, then the disk is full for good
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), os.fspath(dst))
        real(src, dst)

    monkeypatch.setattr("lvstui.ops.files.os.replace", replace)
    with pytest.raises(WriteFailed) as exc:
        write_config(new)
    message = str(exc.value)
    assert f"PUT BACK FAILED for {first}" in message and "its previous content is " in message
    backup = Path(message.rsplit("its previous content is ", 1)[1])
    assert backup.read_bytes() == (MAIL if first.name == "mail.conf" else WEB).encode()


def test_drain_host_across_two_files_fails_at_the_second_and_changes_nothing(
        site: dict, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[type-arg]
    reloads = no_reload(monkeypatch)
    files = {p: p.read_bytes() for p in (site["conf_d"] / "web.conf", site["conf_d"] / "mail.conf")}
    plan = site["ops"].plan(c.DrainHost("192.168.1.21"))
    assert {f.path.name for f in plan.durable.edited.modified_files()} == {"web.conf", "mail.conf"}
    second = list(plan.durable.edited.modified_files())[1].path
    fail_replace_of(monkeypatch, second, errno.ENOSPC)
    with pytest.raises(KeepalivedRefused) as exc:
        site["ops"].apply(c.DrainHost("192.168.1.21"))
    message = str(exc.value)
    assert "\n" not in message and "No space left on device" in message and "put back as it was" in message
    assert "the kernel change was undone" in message
    assert {p: p.read_bytes() for p in files} == files
    assert not (site["tmp"] / "track").exists() or not any((site["tmp"] / "track").iterdir())
    assert {(r.address, r.weight) for v in site["director"].services.values() for r in v.real_servers} == \
        {("192.168.1.21", 5), ("192.168.1.22", 2)}
    assert reloads == [] and last_entry(site["tmp"])["result"] == "refused"


# -- item 5: symbolic links are written through ---------------------------------------------------


def test_symlinked_config_is_written_through_to_its_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    no_reload(monkeypatch)
    managed = tmp_path / "cm"  # where configuration management keeps the real files
    (managed / "conf.d").mkdir(parents=True)
    (managed / "keepalived.conf").write_text(HEAD)
    (managed / "conf.d" / "web.conf").write_text(WEB)
    os.chmod(managed / "conf.d" / "web.conf", 0o640)
    os.chown(managed / "conf.d" / "web.conf", 4321, 4322)
    etc = tmp_path / "etc"
    (etc / "conf.d").mkdir(parents=True)
    conf = etc / "keepalived.conf"
    conf.symlink_to(managed / "keepalived.conf")
    link = etc / "conf.d" / "web.conf"
    link.symlink_to(Path("..") / ".." / "cm" / "conf.d" / "web.conf")  # relative, as ln -s leaves it
    ops, _ = ops_for(tmp_path, conf, [vs("192.168.1.100", 80, 5)])
    outcome = ops.apply(c.SetWeight(*WEB_KEY, weight=7))
    target = managed / "conf.d" / "web.conf"
    assert link.is_symlink() and os.readlink(link) == "../../cm/conf.d/web.conf"
    assert "weight 7" in target.read_text() and target.read_text() == WEB.replace("weight 5", "weight 7")
    st = target.stat()
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o640, 4321, 4322)
    assert conf.is_symlink() and (managed / "keepalived.conf").read_text() == HEAD
    assert sorted(p.name for p in (managed / "conf.d").iterdir()) == ["web.conf"]
    assert sorted(p.name for p in (etc / "conf.d").iterdir()) == ["web.conf"]
    backups = last_entry(tmp_path)["keepalived"]["backups"]
    assert list(backups) == [str(target)]  # keyed by the target
    assert str(backups[str(target)]).endswith(str(target)) and Path(backups[str(target)]).read_text() == WEB
    assert any(f"through the link to {target}" in m for m in outcome.messages)
    result = keepalived_test(load(conf))
    assert result is not None and result.ok, result.messages


# -- item 3: one operator at a time per keepalived configuration -------------------------------------


def test_second_operator_is_refused_busy_and_nothing_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             site: dict) -> None:  # type: ignore[type-arg]
    reloads = no_reload(monkeypatch)
    state = Path(os.environ["LVSTUI_STATE_DIR"])
    link = tmp_path / "via-link.conf"
    link.symlink_to(site["conf"])  # the other operator reached the same file by another path
    holder = _hold_in_child(config_lock_name(link), state)
    try:
        with pytest.raises(KeepalivedRefused) as exc:
            site["ops"].apply(c.SetWeight(*WEB_KEY, weight=7))
    finally:
        holder.kill()
        holder.wait()
    message = str(exc.value)
    assert message.startswith("busy: drain tcp:10.0.0.1:80 10.0.1.1:80 by alice (pid ") and "\n" not in message
    assert message.endswith(": nothing was changed")
    assert (site["conf_d"] / "web.conf").read_text() == WEB and site["director"].calls == [] and reloads == []
    assert last_entry(site["tmp"])["result"] == "refused"
    site["ops"].apply(c.SetWeight(*WEB_KEY, weight=7))  # the holder is gone: free at once
    assert "weight 7" in (site["conf_d"] / "web.conf").read_text()


def test_the_lock_is_held_across_the_write_and_the_reload(site: dict,  # type: ignore[type-arg]
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []

    def reload(_site: KeepalivedSite) -> None:
        seen.append(try_as_another_operator(config_lock_name(site["conf"])))
        seen.append("weight 7" if "weight 7" in (site["conf_d"] / "web.conf").read_text() else "not written")

    monkeypatch.setattr("lvstui.ops.keepalived.reload_keepalived", reload)
    site["ops"].apply(c.SetWeight(*WEB_KEY, weight=7))
    assert len(seen) == 2 and seen[0].startswith("busy: weight tcp:192.168.1.100:80 192.168.1.21:80 by ")
    assert seen[1] == "weight 7"  # written before the reload, still under the lock


def test_a_preview_older_than_another_operators_write_is_refused(site: dict,  # type: ignore[type-arg]
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    no_reload(monkeypatch)
    preview = site["ops"].plan(c.SetWeight(*WEB_KEY, weight=7))  # operator A looks at the diff...
    other, _ = ops_for(site["tmp"], site["conf"], [vs("192.168.1.100", 80, 5), vs("192.168.1.101", 25, 5)])
    other.apply(c.SetWeight(parse_service_id("tcp:192.168.1.100:80"), parse_server_id("192.168.1.22:80"),
                            weight=4))  # ...operator B writes meanwhile
    theirs = (site["conf_d"] / "web.conf").read_text()
    assert "weight 4" in theirs
    calls = list(site["director"].calls)
    with pytest.raises(KeepalivedRefused) as exc:
        site["ops"].apply(c.SetWeight(*WEB_KEY, weight=7), preview)
    message = str(exc.value)
    assert message.startswith(f"{site['conf_d'] / 'web.conf'} changed since the preview") and "\n" not in message
    assert (site["conf_d"] / "web.conf").read_text() == theirs  # B's write is kept
    assert site["director"].calls == calls  # the kernel was not touched (not changed and undone)
    # a fresh preview plans on top of B's write
    site["ops"].apply(c.SetWeight(*WEB_KEY, weight=7), site["ops"].plan(c.SetWeight(*WEB_KEY, weight=7)))
    assert "weight 4" in (site["conf_d"] / "web.conf").read_text()
    assert "weight 7" in (site["conf_d"] / "web.conf").read_text()
