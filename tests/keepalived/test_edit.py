"""Edits touch only the lines concerned; writes are atomic, backed up, and refused on a changed file."""

from __future__ import annotations

import difflib
import os
import stat
from pathlib import Path

import pytest

from lvstui.keepalived import edit
from lvstui.keepalived.errors import ConfigChangedError, EditError, KeepalivedConfigError
from lvstui.keepalived.loader import KeepalivedConfig, load
from lvstui.keepalived.validate import find_keepalived, keepalived_test, validator
from lvstui.keepalived.view import build_view
from lvstui.ops.files import Written, backup_root, write_config

CONF = """\
! lvstui test configuration
global_defs {
   router_id LB1   # this director
}

vrrp_instance VI_1 {
\tstate MASTER
\tinterface eth0
\tvirtual_router_id 51
\tpriority 150          ! the master
\tadvert_int 1
\tvirtual_ipaddress {
\t\t192.168.1.100/24 dev eth0
\t}
}

virtual_server 192.168.1.100 80 {
    delay_loop 6
    lb_algo rr      # round robin for now
    lb_kind DR
    protocol TCP

    # first real server
    real_server 192.168.1.21 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 3
        }
    }
    real_server 192.168.1.22 80 {
        weight 2   # bigger box
        inhibit_on_failure
        TCP_CHECK {
            connect_timeout 3
        }
    }
}
"""


def written(items: list[Written]) -> list[Path]:
    return [w.path for w in items]


def backups() -> dict[Path, str]:
    """Every backup lvstui keeps, by the file it is the backup of: {target path: content}."""
    root = backup_root()
    out = {}
    for path in sorted(root.rglob("*")) if root.exists() else []:
        if path.is_file():  # root / one write's directory / the full path of the file
            out[Path("/", *path.relative_to(root).parts[1:])] = path.read_text()
    return out


@pytest.fixture
def conf(tmp_path: Path) -> Path:
    path = tmp_path / "keepalived.conf"
    path.write_text(CONF)
    return path


def changed_lines(before: str, after: str) -> list[str]:
    """The +/- lines of a diff (without headers)."""
    return [line for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def vs0(config: KeepalivedConfig):  # type: ignore[no-untyped-def]
    return build_view(config).virtual_servers[0]


def test_set_weight_changes_one_value_only(conf: Path) -> None:
    cfg = load(conf)
    new = edit.set_weight(cfg, vs0(cfg).real_servers[1], 7)
    assert changed_lines(CONF, new.main_file.text) == [
        "-        weight 2   # bigger box", "+        weight 7   # bigger box"]
    assert vs0(new).real_servers[1].weight == 7
    assert cfg.main_file.text == CONF  # the original is untouched (edits are values)


def test_set_weight_adds_a_line_when_missing(tmp_path: Path) -> None:
    path = tmp_path / "k.conf"
    path.write_text("virtual_server 10.0.0.1 80 {\n\treal_server 10.0.0.2 80 {\n\t\tTCP_CHECK {\n\t\t}\n\t}\n}\n")
    cfg = load(path)
    new = edit.set_weight(cfg, vs0(cfg).real_servers[0], 3)
    assert changed_lines(cfg.main_file.text, new.main_file.text) == ["+\t\tweight 3"]
    assert new.main_file.lines[4] == "\t\tweight 3"
    assert vs0(new).real_servers[0].weight == 3


def test_set_weight_in_one_line_block(tmp_path: Path) -> None:
    path = tmp_path / "k.conf"
    path.write_text("virtual_server 10.0.0.1 80 {\n  real_server 10.0.0.2 80 { weight 1 }\n"
                    "  real_server 10.0.0.3 80 { }\n}\n")
    cfg = load(path)
    new = edit.set_weight(cfg, vs0(cfg).real_servers[0], 4)
    new = edit.set_weight(new, vs0(new).real_servers[1], 5)
    assert new.main_file.text == ("virtual_server 10.0.0.1 80 {\n  real_server 10.0.0.2 80 { weight 4 }\n"
                                  "  real_server 10.0.0.3 80 { weight 5 }\n}\n")


def test_set_lb_algo_keeps_comment_and_alignment(conf: Path) -> None:
    cfg = load(conf)
    new = edit.set_lb_algo(cfg, vs0(cfg), "wlc")
    assert changed_lines(CONF, new.main_file.text) == [
        "-    lb_algo rr      # round robin for now", "+    lb_algo wlc      # round robin for now"]
    with pytest.raises(EditError):
        edit.set_lb_algo(cfg, vs0(cfg), "w lc")


def test_set_lb_algo_uses_lvs_sched_spelling_when_present(tmp_path: Path) -> None:
    path = tmp_path / "k.conf"
    path.write_text("virtual_server fwmark 3 {\n  lvs_sched sh\n}\n")
    cfg = load(path)
    new = edit.set_lb_algo(cfg, vs0(cfg), "mh")
    assert new.main_file.text == "virtual_server fwmark 3 {\n  lvs_sched mh\n}\n"


def test_set_priority_tabs(conf: Path) -> None:
    cfg = load(conf)
    vi = build_view(cfg).vrrp_instances[0]
    new = edit.set_priority(cfg, vi, 90)
    assert changed_lines(CONF, new.main_file.text) == [
        "-\tpriority 150          ! the master", "+\tpriority 90          ! the master"]
    with pytest.raises(EditError, match="out of range"):
        edit.set_priority(cfg, vi, 0)


def test_set_priority_on_conditional_lines_needs_config_id(tmp_path: Path) -> None:
    path = tmp_path / "k.conf"
    text = "vrrp_instance V {\n@high\tpriority 170\n@low\tpriority 85\n}\n"
    path.write_text(text)
    cfg = load(path)
    vi = build_view(cfg, "low").vrrp_instances[0]
    with pytest.raises(EditError, match="conditional"):
        edit.set_priority(cfg, vi, 60)
    new = edit.set_priority(cfg, vi, 60, config_id="low")
    assert changed_lines(text, new.main_file.text) == ["-@low\tpriority 85", "+@low\tpriority 60"]
    assert build_view(new, "low").vrrp_instances[0].priority == 60
    assert build_view(new, "high").vrrp_instances[0].priority == 170


def test_set_and_remove_option(conf: Path) -> None:
    cfg = load(conf)
    new = edit.set_option(cfg, vs0(cfg), "persistence_timeout", "300")
    assert changed_lines(CONF, new.main_file.text) == ["+    persistence_timeout 300"]
    # inserted before the closing brace, indented like the other keywords of the block
    assert new.main_file.lines.index("    persistence_timeout 300") == len(CONF.splitlines()) - 1
    assert vs0(new).persistence_timeout == 300
    back = edit.remove_option(new, vs0(new), "persistence_timeout")
    assert back.main_file.text == CONF
    gone = edit.remove_option(cfg, vs0(cfg).real_servers[1], "inhibit_on_failure")
    assert changed_lines(CONF, gone.main_file.text) == ["-        inhibit_on_failure"]
    assert not vs0(gone).real_servers[1].inhibit_on_failure
    with pytest.raises(EditError, match="no 'quorum'"):
        edit.remove_option(cfg, vs0(cfg), "quorum")


def test_quoted_value_is_quoted(conf: Path) -> None:
    cfg = load(conf)
    new = edit.set_option(cfg, vs0(cfg), "quorum_up", ["/usr/local/bin/up.sh arg"])
    assert '    quorum_up "/usr/local/bin/up.sh arg"' in new.main_file.lines
    assert vs0(new).params[-1] == ("quorum_up", "/usr/local/bin/up.sh arg")


def test_add_real_server_plain_and_from_template(conf: Path) -> None:
    cfg = load(conf)
    new = edit.add_real_server(cfg, vs0(cfg), "192.168.1.23", 80, weight=3)
    assert changed_lines(CONF, new.main_file.text) == [
        "+    real_server 192.168.1.23 80 {", "+        weight 3", "+    }"]
    v = vs0(new)
    assert [(r.address, r.weight) for r in v.real_servers][-1] == ("192.168.1.23", 3)
    new2 = edit.add_real_server(new, v, "192.168.1.24", 8080, weight=5, template=v.real_servers[1])
    assert changed_lines(new.main_file.text, new2.main_file.text) == [
        "+    real_server 192.168.1.24 8080 {", "+        weight 5   # bigger box", "+        inhibit_on_failure",
        "+        TCP_CHECK {", "+            connect_timeout 3", "+        }", "+    }"]
    rs = vs0(new2).real_servers[-1]
    assert (rs.address, rs.port, rs.weight, rs.inhibit_on_failure, rs.checkers[0].type) == \
        ("192.168.1.24", 8080, 5, True, "TCP_CHECK")
    with pytest.raises(EditError, match="already"):
        edit.add_real_server(new2, vs0(new2), "192.168.1.24", 8080)


def test_add_real_server_to_empty_virtual_server(tmp_path: Path) -> None:
    path = tmp_path / "k.conf"
    path.write_text("virtual_server 10.0.0.1 80 {\n  lb_algo rr\n}\n")
    cfg = load(path)
    new = edit.add_real_server(cfg, vs0(cfg), "10.0.0.2", 80)
    assert new.main_file.text == ("virtual_server 10.0.0.1 80 {\n  lb_algo rr\n  real_server 10.0.0.2 80 {\n"
                                  "    weight 1\n  }\n}\n")


def test_remove_real_server_removes_its_lines_only(conf: Path) -> None:
    cfg = load(conf)
    v = vs0(cfg)
    new = edit.remove_real_server(cfg, v, v.real_servers[0])
    assert changed_lines(CONF, new.main_file.text) == [
        "-    real_server 192.168.1.21 80 {", "-        weight 1", "-        TCP_CHECK {",
        "-            connect_timeout 3", "-        }", "-    }"]
    assert "    # first real server" in new.main_file.lines  # the comment above is the operator's
    assert [r.address for r in vs0(new).real_servers] == ["192.168.1.22"]


def test_remove_real_server_on_a_shared_line(tmp_path: Path) -> None:
    path = tmp_path / "k.conf"
    path.write_text("virtual_server 10.0.0.1 80 {\n  real_server 10.0.0.2 80 { weight 1 }"
                    " real_server 10.0.0.3 80 { weight 2 }\n}\n")
    cfg = load(path)
    new = edit.remove_real_server(cfg, vs0(cfg), vs0(cfg).real_servers[0])
    assert new.main_file.text == "virtual_server 10.0.0.1 80 {\n  real_server 10.0.0.3 80 { weight 2 }\n}\n"


def test_edit_in_an_included_file_changes_only_that_file(tmp_path: Path) -> None:
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "web.conf").write_text("virtual_server 10.0.0.1 80 {\n  real_server 10.0.0.2 80 {\n"
                                                   "    weight 1\n  }\n}\n")
    main = tmp_path / "keepalived.conf"
    main.write_text("! main\ninclude conf.d/*.conf\n")
    cfg = load(main)
    new = edit.set_weight(cfg, vs0(cfg).real_servers[0], 9)
    assert [f.path.name for f in new.modified_files()] == ["web.conf"]
    assert written(write_config(new)) == [tmp_path / "conf.d" / "web.conf"]
    assert "    weight 9" in (tmp_path / "conf.d" / "web.conf").read_text().splitlines()
    assert main.read_text() == "! main\ninclude conf.d/*.conf\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["conf.d", "keepalived.conf"]
    assert [p.name for p in (tmp_path / "conf.d").iterdir()] == ["web.conf"]  # no backup the glob would match
    assert list(backups()) == [tmp_path / "conf.d" / "web.conf"]


def test_items_from_definitions_are_not_edited_in_place(tmp_path: Path) -> None:
    path = tmp_path / "k.conf"
    path.write_text("$W=3\nvirtual_server 10.0.0.1 80 {\n  ~SEQ(I, 1, 2) real_server 10.0.0.${I} 80 { weight $W }\n}\n")
    cfg = load(path)
    with pytest.raises(EditError, match="generated by a \\$definition"):
        edit.set_weight(cfg, vs0(cfg).real_servers[0], 1)


def test_stale_item_is_refused(conf: Path) -> None:
    cfg = load(conf)
    rs = vs0(cfg).real_servers[1]
    shorter = edit.remove_real_server(cfg, vs0(cfg), vs0(cfg).real_servers[0])
    with pytest.raises(EditError, match="no 'real_server' statement on this line"):
        edit.set_weight(shorter, rs, 4)  # rs's line moved: use a fresh view


# ---- writing --------------------------------------------------------------------------------------


def test_write_is_atomic_with_backup_and_keeps_mode(conf: Path) -> None:
    os.chmod(conf, 0o640)
    cfg = load(conf)
    new = edit.set_weight(cfg, vs0(cfg).real_servers[0], 4)
    inode = conf.stat().st_ino
    assert written(write_config(new)) == [conf]
    assert conf.read_text() == new.main_file.text
    assert conf.stat().st_ino != inode  # replaced by rename, not rewritten in place
    assert stat.S_IMODE(conf.stat().st_mode) == 0o640
    assert backups() == {conf: CONF}  # in lvstui's state directory, under the file's full path
    assert sorted(p.name for p in conf.parent.iterdir()) == ["keepalived.conf"]  # nothing beside it
    assert written(write_config(load(conf))) == []  # nothing modified: nothing written


def test_changed_on_disk_is_refused_and_nothing_written(conf: Path) -> None:
    cfg = load(conf)
    new = edit.set_weight(cfg, vs0(cfg).real_servers[0], 4)
    conf.write_text(CONF.replace("LB1", "LB9"))  # someone else edits the file meanwhile
    with pytest.raises(ConfigChangedError, match=r"^keepalived.conf: changed on disk"):
        write_config(new)
    assert conf.read_text() == CONF.replace("LB1", "LB9")
    assert backups() == {}


def test_same_content_rewritten_is_not_a_change(conf: Path) -> None:
    cfg = load(conf)
    new = edit.set_weight(cfg, vs0(cfg).real_servers[0], 4)
    conf.write_text(CONF)  # touched (new mtime), same bytes: content decides
    assert written(write_config(new)) == [conf]


def test_validator_failure_writes_nothing(conf: Path) -> None:
    cfg = load(conf)
    new = edit.set_weight(cfg, vs0(cfg).real_servers[0], 4)

    def reject(config: KeepalivedConfig) -> None:
        raise KeepalivedConfigError("rejected for the test", config.main)

    with pytest.raises(KeepalivedConfigError, match="rejected for the test"):
        write_config(new, validate=reject)
    assert conf.read_text() == CONF
    assert list(conf.parent.iterdir()) == [conf]


needs_keepalived = pytest.mark.skipif(find_keepalived() is None, reason="keepalived not installed")


@needs_keepalived
def test_keepalived_t_checks_edits_before_writing(conf: Path) -> None:
    cfg = load(conf)
    bad = edit.set_option(cfg, vs0(cfg), "lb_kind", "BOGUS")  # valid syntax, invalid for keepalived
    result = keepalived_test(bad)
    assert result is not None and not result.ok
    assert any(m.startswith("keepalived.conf:") for m in result.messages)
    with pytest.raises(KeepalivedConfigError, match="keepalived -t rejects it"):
        write_config(bad, validate=validator())  # type: ignore[arg-type]
    assert conf.read_text() == CONF
    good = edit.set_weight(cfg, vs0(cfg).real_servers[0], 4)
    assert written(write_config(good, validate=validator())) == [conf]  # type: ignore[arg-type]


@needs_keepalived
def test_keepalived_t_of_an_edited_include_uses_copies(tmp_path: Path) -> None:
    (tmp_path / "rs").mkdir()
    (tmp_path / "rs" / "a.rs").write_text("real_server 10.0.0.2 80 {\n  weight 1\n}\n")
    main = tmp_path / "keepalived.conf"
    main.write_text("virtual_server 10.0.0.1 80 {\n  lb_algo rr\n  lb_kind DR\n  protocol TCP\n"
                    "  include rs/*.rs\n}\n")
    cfg = load(main)
    bad = edit.set_option(cfg, vs0(cfg).real_servers[0], "weight", "abc")
    result = keepalived_test(bad)
    assert result is not None and not result.ok, result
    assert any(m.startswith("a.rs:2:") for m in result.messages), result.messages
    assert (tmp_path / "rs" / "a.rs").read_text() == "real_server 10.0.0.2 80 {\n  weight 1\n}\n"
    good = edit.set_weight(cfg, vs0(cfg).real_servers[0], 2)
    ok = keepalived_test(good)
    assert ok is not None and ok.ok, ok


def test_insert_block_append_block_and_remove_item(conf: Path) -> None:
    """The drain set-up of issue 5: a track_file block and a FILE_CHECK in one real server."""
    cfg = load(conf)
    new = edit.append_block(cfg, conf, '''
        track_file lvstui_drain_rs1 {
            file "/run/lvstui/drain-rs1"
            weight 0
            init_file 1 overwrite
        }
    ''')
    rs = vs0(new).real_servers[0]
    new2 = edit.insert_block(new, rs, "FILE_CHECK {\n\ttrack_file lvstui_drain_rs1\n}")
    assert changed_lines(CONF, new2.main_file.text) == [
        "+        FILE_CHECK {", "+            track_file lvstui_drain_rs1", "+        }",
        "+", "+track_file lvstui_drain_rs1 {", '+    file "/run/lvstui/drain-rs1"', "+    weight 0",
        "+    init_file 1 overwrite", "+}"]
    view = build_view(new2)
    (track,) = view.track_files
    assert (track.name, track.file, track.weight) == ("lvstui_drain_rs1", "/run/lvstui/drain-rs1", 0)
    checker = view.virtual_servers[0].real_servers[0].checkers[1]
    assert (checker.type, checker.get("track_file")) == ("FILE_CHECK", "lvstui_drain_rs1")
    timeout = edit.set_option(new2, view.virtual_servers[0].real_servers[0].checkers[0], "connect_timeout", "5")
    assert changed_lines(new2.main_file.text, timeout.main_file.text) == [
        "-            connect_timeout 3", "+            connect_timeout 5"]
    back = edit.remove_item(new2, checker)
    back = edit.remove_item(back, build_view(back).track_files[0])
    assert changed_lines(CONF, back.main_file.text) == ["+"]  # only the separating blank line stays
    with pytest.raises(EditError, match="not valid"):
        edit.insert_block(cfg, rs, "FILE_CHECK {")


@pytest.mark.skipif(find_keepalived() is None, reason="keepalived not installed")
def test_drain_setup_passes_keepalived_t(conf: Path) -> None:
    cfg = load(conf)
    late = edit.append_block(cfg, conf, 'track_file drain1 {\n    file "/run/lvstui/d1"\n    weight 0\n}')
    late = edit.insert_block(late, vs0(late).real_servers[0], "FILE_CHECK {\n    track_file drain1\n}")
    late_result = keepalived_test(late)  # keepalived resolves the name while reading: too late
    assert late_result is not None and any("drain1 not found" in m for m in late_result.messages)
    cfg = edit.append_block(cfg, conf, 'track_file drain1 {\n    file "/run/lvstui/d1"\n    weight 0\n}',
                            before=vs0(cfg))
    cfg = edit.insert_block(cfg, vs0(cfg).real_servers[0], "FILE_CHECK {\n    track_file drain1\n}")
    assert changed_lines(CONF, cfg.main_file.text)[:5] == [
        "+track_file drain1 {", '+    file "/run/lvstui/d1"', "+    weight 0", "+}", "+"]
    bad = edit.insert_block(cfg, vs0(cfg).real_servers[1], "FILE_CHECK {\n    track_file nosuch\n}")
    result = keepalived_test(cfg)
    assert result is not None
    problems = [m for m in result.messages if "eth0" not in m and "VI_1" not in m]  # no eth0 here: fine
    assert problems == [], result.messages
    bad_result = keepalived_test(bad)
    assert bad_result is not None and not bad_result.ok
    assert any("nosuch" in m for m in bad_result.messages), bad_result.messages


def test_edit_above_an_include_keeps_the_include_mapping(tmp_path: Path) -> None:
    (tmp_path / "more.conf").write_text("virtual_server 10.0.0.9 80 {\n  protocol TCP\n  lb_kind DR\n  lb_algo rr\n"
                                         "  real_server 10.0.0.10 80 {\n    weight 1\n  }\n}\n")
    main = tmp_path / "keepalived.conf"
    main.write_text("virtual_server 10.0.0.1 80 {\n  protocol TCP\n  lb_kind DR\n  lb_algo rr\n"
                    "  real_server 10.0.0.2 80 {\n    weight 1\n  }\n}\ninclude more.conf\n")
    cfg = load(main)
    new = edit.add_real_server(cfg, vs0(cfg), "10.0.0.3", 80, weight=2)
    (stmt,) = list(new.main_file.includes())
    assert stmt.line == 11 and new.included_by(main, stmt) == (tmp_path / "more.conf",)
    v = build_view(new)
    assert [vs.key for vs in v.virtual_servers] == ["tcp:10.0.0.1:80", "tcp:10.0.0.9:80"]
    new2 = edit.set_weight(new, v.virtual_servers[1].real_servers[0], 4)
    assert {f.path.name for f in new2.modified_files()} == {"keepalived.conf", "more.conf"}
    if find_keepalived() is not None:
        result = keepalived_test(new2)
        assert result is not None and result.ok, result.messages
    assert written(write_config(new2)) == [main, tmp_path / "more.conf"]
    again = build_view(load(main))
    assert [(r.address, r.weight) for vs in again.virtual_servers for r in vs.real_servers] == \
        [("10.0.0.2", 1), ("10.0.0.3", 2), ("10.0.0.10", 4)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keepalived.conf", "more.conf"]
    assert sorted(backups()) == [main, tmp_path / "more.conf"]
