"""The lossless parser: structure, comments, quotes, includes, conditions, definitions, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from lvstui.keepalived.errors import KeepalivedConfigError
from lvstui.keepalived.expand import expand
from lvstui.keepalived.lexer import quote_word, scan_line, unquote
from lvstui.keepalived.loader import brace_expand, load
from lvstui.keepalived.syntax import parse_text
from lvstui.keepalived.view import build_view


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    return path


def tree(text: str) -> list[tuple[str, tuple[str, ...], list]]:  # type: ignore[type-arg]
    def conv(stmts):  # type: ignore[no-untyped-def]
        return [(s.keyword, s.args, conv(s.children) if s.block else None) for s in stmts]

    return conv(parse_text(text, "k.conf").statements)


# ---- lexer ------------------------------------------------------------------------------------


def test_comments_anywhere_and_quoted_hash_kept() -> None:
    scan = scan_line('  script "echo #1 !x"   # run it ! really')
    assert scan.code == 'script "echo #1 !x"'
    assert scan.raw[scan.comment_start:] == "# run it ! really"
    assert [p.value for p in scan.pieces] == ["script", "echo #1 !x"]


def test_escaped_comment_char_is_not_a_comment() -> None:
    scan = scan_line(r"notify_up /bin/x\#y ! comment")
    assert scan.code == r"notify_up /bin/x\#y"
    assert scan.pieces[1].value == "/bin/x#y"


def test_braces_split_words_even_without_blanks() -> None:
    assert tree("a b{c 1}d\n") == [("a", ("b",), [("c", ("1",), None)]), ("d", (), None)]


def test_braces_inside_double_quotes_are_words() -> None:
    assert tree('x "a{b}c" {\n}\n') == [("x", ("a{b}c",), [])]


def test_dollar_brace_parameter_stays_in_its_word() -> None:
    assert tree("virtual_ipaddress {\n 10.0.${NUM}.1/24\n}\n") == \
        [("virtual_ipaddress", (), [("10.0.${NUM}.1/24", (), None)])]


def test_quotes_and_escapes() -> None:
    assert unquote('"a b"c\'d e\'') == "a bcd e"
    assert unquote(r'"x\"y"') == 'x"y'
    assert unquote(r'"tab\there"') == "tab\there"
    for value in ("plain", "with space", 'q"uote', "ha#sh", "b{r}ace", "back\\slash", ""):
        assert unquote(quote_word(value)) == value
        assert len(scan_line("k " + quote_word(value)).pieces) == 2


def test_condition_prefix() -> None:
    scan = scan_line("@^main\tpriority 100 # c")
    assert scan.condition == "@^main"
    assert scan.code == "priority 100"


def test_crlf_lines_roundtrip_and_parse(tmp_path: Path) -> None:
    text = "global_defs {\r\n  router_id x\r\n}\r\n"
    cfg = load(write(tmp_path / "k.conf", text))
    assert cfg.main_file.data == text.encode()
    assert build_view(cfg).global_defs == (("router_id", "x"),)


def test_non_utf8_bytes_roundtrip(tmp_path: Path) -> None:
    path = tmp_path / "k.conf"
    data = b"! caf\xe9 \xff\xfe\nglobal_defs {\n  router_id r\xe9\n}\n"
    path.write_bytes(data)
    assert load(path).main_file.data == data


def test_no_trailing_newline_and_empty_file(tmp_path: Path) -> None:
    for text in ("", "\n", "global_defs {\n}", "  \t\n\n! only a comment"):
        path = write(tmp_path / "k.conf", text)
        assert load(path).main_file.data == text.encode()


# ---- structure --------------------------------------------------------------------------------


def test_brace_on_next_line_and_one_line_blocks() -> None:
    text = "vrrp_instance VI_1\n{\n  track_script { chk_a chk_b }\n  state MASTER\n}\n"
    assert tree(text) == [("vrrp_instance", ("VI_1",), [
        ("track_script", (), [("chk_a", ("chk_b",), None)]), ("state", ("MASTER",), None)])]
    stmt = parse_text(text, "k").statements[0]
    assert stmt.block is not None
    assert (stmt.line, stmt.block.open_line, stmt.block.close_line, stmt.end_line) == (0, 1, 4, 4)


@pytest.mark.parametrize("text,line,reason", [
    ("a {\n  b 1\n}\n}\n", 4, "unbalanced '}'"),
    ("global_defs {\n  x 1\n", 1, "unbalanced '{'"),
    ("a {\n  b {\n    c 1\n  \n}\n", 1, "unbalanced '{'"),
    ('a {\n  script "abc\n}\n', 2, "unterminated quote"),
    ("{\n}\n", 1, "unexpected '{'"),
    ("a { } {\n}\n", 1, "unexpected '{'"),
])
def test_errors_name_file_and_line(tmp_path: Path, text: str, line: int, reason: str) -> None:
    path = write(tmp_path / "keepalived.conf", text)
    with pytest.raises(KeepalivedConfigError) as info:
        load(path)
    assert info.value.line == line
    assert str(info.value).startswith(f"keepalived.conf:{line}: {reason}")


# ---- includes ---------------------------------------------------------------------------------


def test_include_glob_relative_to_including_file(tmp_path: Path) -> None:
    main = write(tmp_path / "etc" / "keepalived.conf",
                 "global_defs {\n  router_id a\n}\ninclude conf.d/*.conf   # all services\n")
    write(tmp_path / "etc" / "conf.d" / "b.conf", "virtual_server 10.0.0.2 80 {\n  protocol TCP\n  real_server 1.1.1.2 80 {\n  }\n}\n")
    write(tmp_path / "etc" / "conf.d" / "a.conf", "virtual_server 10.0.0.1 80 {\n  include rs/*.rs\n}\n")
    write(tmp_path / "etc" / "conf.d" / "rs" / "x.rs", "real_server 1.1.1.1 80 {\n  weight 3\n}\n")
    write(tmp_path / "etc" / "conf.d" / "skip.txt", "garbage {{{\n")
    cfg = load(main)
    names = [p.name for p in cfg.files]
    assert names == ["keepalived.conf", "a.conf", "x.rs", "b.conf"]  # sorted glob, depth first
    v = build_view(cfg)
    # no protocol: keepalived 2.2.7 defaults to UDP
    assert [vs.key for vs in v.virtual_servers] == ["udp:10.0.0.1:80", "tcp:10.0.0.2:80"]
    rs = v.virtual_servers[0].real_servers[0]
    assert (rs.address, rs.weight, rs.source.path.name, rs.source.line) == ("1.1.1.1", 3, "x.rs", 1)
    for cfile in cfg.files.values():
        assert cfile.data == cfile.path.read_bytes()


def test_include_brace_glob_and_absolute(tmp_path: Path) -> None:
    write(tmp_path / "one.conf", "vrrp_script a {\n  script /bin/true\n}\n")
    write(tmp_path / "two.conf", "vrrp_script b {\n  script /bin/true\n}\n")
    main = write(tmp_path / "k.conf", f"include {tmp_path}/{{one,two}}.conf\n")
    assert [s.name for s in build_view(load(main)).vrrp_scripts] == ["a", "b"]
    assert brace_expand("x{a,b{c,d}}y") == ["xay", "xbcy", "xbdy"]


def test_missing_include_is_a_warning_as_in_keepalived(tmp_path: Path) -> None:
    # keepalived 2.2.7: "(Line 2) Config files missing '...'." and it reads the rest
    main = write(tmp_path / "keepalived.conf", "! x\ninclude /nonexistent/lvstui/none.conf\n"
                                               "vrrp_script a {\n  script /bin/true\n}\n")
    cfg = load(main)
    assert cfg.warnings == [("keepalived.conf:2: include '/nonexistent/lvstui/none.conf': no such file"
                            " (keepalived warns and goes on without it)")]
    assert [s.name for s in build_view(cfg).vrrp_scripts] == ["a"]


def test_wildcard_matching_nothing_is_a_warning(tmp_path: Path) -> None:
    main = write(tmp_path / "k.conf", "include conf.d/*.conf\n")
    cfg = load(main)
    assert list(cfg.files) == [main]
    assert cfg.warnings == [("k.conf:1: include 'conf.d/*.conf': matches no file"
                            " (keepalived warns and goes on without it)")]


def test_unreadable_or_broken_include_names_its_own_file(tmp_path: Path) -> None:
    write(tmp_path / "bad.conf", "a {\n")
    main = write(tmp_path / "k.conf", "include bad.conf\n")
    with pytest.raises(KeepalivedConfigError, match=r"^bad.conf:1: unbalanced"):
        load(main)


def test_include_loop_is_an_error(tmp_path: Path) -> None:
    write(tmp_path / "a.conf", "include b.conf\n")
    write(tmp_path / "b.conf", "include a.conf\n")
    with pytest.raises(KeepalivedConfigError, match="include loop"):
        load(tmp_path / "a.conf")


# ---- conditions, definitions, generators -----------------------------------------------------------


def test_definitions_single_and_multiline(tmp_path: Path) -> None:
    text = (
        "$PRIO=120\n"
        "@main $PRIO=240\n"
        "$RS= \\\n"
        "  real_server 10.0.0.${N} 80 { \\\n"
        "    weight ${N} \\\n"
        "  }\n"
        "virtual_server 10.0.0.100 80 {\n"
        "  $N=1\n"
        "  $RS\n"
        "  $N=2\n"
        "  $RS\n"
        "}\n"
        "vrrp_instance VI_1 {\n"
        "  priority $PRIO\n"
        "  virtual_ipaddress {\n"
        "    \"${_HASH}quoted\" ${_BANG}comment\n"
        "  }\n"
        "}\n"
    )
    cfg = load(write(tmp_path / "k.conf", text))
    assert cfg.main_file.data == text.encode()
    defs = [s for s in cfg.main_file.statements if s.kind == "definition"]
    assert [(d.definition, d.line, d.end_line) for d in defs] == [("PRIO", 0, 0), ("PRIO", 1, 1), ("RS", 2, 5)]
    v = build_view(cfg, "main")
    rss = v.virtual_servers[0].real_servers
    assert [(rs.address, rs.weight) for rs in rss] == [("10.0.0.1", 1), ("10.0.0.2", 2)]
    assert not rss[0].source.exact and rss[0].source.line == 9
    assert v.vrrp_instances[0].priority == 240
    assert build_view(cfg, "backup").vrrp_instances[0].priority == 120
    assert v.vrrp_instances[0].virtual_ipaddresses == ("#quoted",)  # keepalived re-reads comments after substitution


def test_seq_and_lst_generators(tmp_path: Path) -> None:
    text = ("virtual_server 10.0.0.1 80 {\n"
            "  ~SEQ(I, 1, 3) real_server 10.1.0.${I} 80 { weight ${I} }\n"
            "}\n"
            "vrrp_instance V {\n  virtual_ipaddress {\n"
            "    ~LST({A,B}, {1,2},{3,4}) 192.168.${A}.${B}\n"
            "    ~SEQx(H, 9, 11) fe80::${H}\n"
            "  }\n}\n")
    cfg = load(write(tmp_path / "k.conf", text))
    assert cfg.main_file.data == text.encode()
    v = build_view(cfg)
    assert [(r.address, r.weight) for r in v.virtual_servers[0].real_servers] == \
        [("10.1.0.1", 1), ("10.1.0.2", 2), ("10.1.0.3", 3)]
    assert v.vrrp_instances[0].virtual_ipaddresses == ("192.168.1.2", "192.168.3.4", "fe80::9", "fe80::a",
                                                       "fe80::b")


def test_comment_lines_inside_multiline_definition_and_blank_line_ends_it() -> None:
    text = "$X= \\\n! a comment\n  a 1 \\\n  b 2\n\nc 3\n"
    cfile = parse_text(text, "k")
    assert cfile.statements[0].end_line == 3
    assert [s.keyword for s in cfile.statements] == ["$X=", "c"] or cfile.statements[1].keyword == "c"


def test_expand_tracks_files_and_lines(tmp_path: Path) -> None:
    write(tmp_path / "inc.conf", "\n\nvrrp_script s {\n  script x\n}\n")
    main = write(tmp_path / "k.conf", "include inc.conf\nglobal_defs {\n}\n")
    nodes = expand(load(main))
    assert [(n.keyword, n.path.name, n.line) for n in nodes] == [("vrrp_script", "inc.conf", 3),
                                                                 ("global_defs", "k.conf", 2)]


def test_parameter_name_boundaries_follow_keepalived(tmp_path: Path) -> None:
    text = ("$A=10\n"
            "$M= \\\n  weight 7\n"
            "virtual_server 10.0.0.1 80 {\n"
            "  real_server 10.0.0.$A 80 {\n    $M\n  }\n"        # $A then blank: replaced
            "  real_server 10.0.1.$AB 80 {\n    weight $A\n  }\n"  # $AB is another name: kept
            "  real_server 10.0.2.${A}0 80 {\n    $M # multi-line at the end of the line\n  }\n"
            "  real_server 10.0.3.1 80 {\n    weight $M 1\n  }\n"  # multi-line not at the end: kept
            "}\n")
    rss = build_view(load(write(tmp_path / "k.conf", text))).virtual_servers[0].real_servers
    assert [(r.address, r.weight) for r in rss] == [
        ("10.0.0.10", 7), ("10.0.1.$AB", 10), ("10.0.2.100", 7), ("10.0.3.1", 1)]
    assert dict(rss[3].params)["weight"] == "$M 1"


def test_runaway_nesting_is_a_config_error() -> None:
    text = "a {\n" * 5000 + "}\n" * 5000
    with pytest.raises(KeepalivedConfigError, match=r"^k.conf:64: blocks nested more than 64 deep"):
        parse_text(text, "k.conf")


def test_global_defs_fifos(tmp_path: Path) -> None:
    path = write(tmp_path / "k.conf", "global_defs {\n  vrrp_notify_fifo /run/v.fifo root root\n"
                                      "  lvs_notify_fifo \"/run/l.fifo\"\n  data_use_instance\n}\n")
    v = build_view(load(path))
    assert v.fifos == {"vrrp_notify_fifo": "/run/v.fifo", "lvs_notify_fifo": "/run/l.fifo"}
    assert v.global_value("data_use_instance") == "" and v.global_value("router_id") is None
