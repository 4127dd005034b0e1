"""Random configurations: parsed into the structure they were generated from, written back
byte-identical, and edited with every other line left byte-identical."""

from __future__ import annotations

import difflib
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lvstui.keepalived import edit
from lvstui.keepalived.lexer import unquote
from lvstui.keepalived.loader import load
from lvstui.keepalived.syntax import Statement, parse_text
from lvstui.keepalived.view import build_view

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

blank = st.sampled_from(["", " ", "\t", "  ", " \t "])
keyword = st.from_regex(r"[a-z_][a-z0-9_]{0,11}", fullmatch=True).filter(
    lambda k: not k.startswith("include"))
plain_word = st.from_regex(r"[A-Za-z0-9_./:,=+\-%*]{1,12}", fullmatch=True)
quoted_word = st.builds(lambda body: f'"{body}"', st.text(
    alphabet=st.sampled_from(list("abc XYZ019 #!{}'$-_/.\t")), max_size=12))
word = st.one_of(plain_word, plain_word, quoted_word)
comment = st.builds(lambda mark, body: mark + body, st.sampled_from(["#", "!"]),
                    st.text(alphabet=st.sampled_from(list("abc {}\"'#!\\ x=1")), max_size=15))
eol = st.sampled_from(["\n", "\n", "\n", "\r\n"])


@dataclass
class Gen:
    """A generated piece of configuration: its text and the tree it must parse to."""

    text: str
    tree: list[tuple] = field(default_factory=list)  # type: ignore[type-arg]


def _trail(draw: st.DrawFn) -> str:
    out = draw(blank)
    if draw(st.booleans()):
        out += (" " if not out else "") + draw(comment)
    return out


@st.composite
def statement(draw: st.DrawFn, indent: str) -> Gen:
    kw = draw(keyword)
    args = draw(st.lists(word, max_size=3))
    seps = [draw(st.sampled_from([" ", "\t", "  "])) for _ in args]
    cond = draw(st.sampled_from([None, None, None, "@main", "@^backup"]))
    prefix = f"{cond}{draw(st.sampled_from([' ', chr(9)]))}" if cond else ""
    text = indent + prefix + kw + "".join(s + a for s, a in zip(seps, args, strict=True)) + _trail(draw) + draw(eol)
    return Gen(text, [(kw, tuple(unquote(a) for a in args), None, cond)])


@st.composite
def block(draw: st.DrawFn, indent: str, depth: int) -> Gen:
    kw = draw(keyword)
    args = draw(st.lists(plain_word, max_size=2))
    head = indent + " ".join([kw, *args])
    inner = indent + draw(st.sampled_from(["  ", "    ", "\t"]))
    children = draw(st.lists(item(inner, depth + 1), max_size=4))
    style = draw(st.sampled_from(["same", "same", "next", "oneline"]))
    kids_tree = [t for c in children for t in c.tree]
    if style == "oneline":
        # one statement at most: keepalived splits a line only at braces
        simple = draw(st.lists(st.tuples(keyword, st.lists(plain_word, max_size=2)), max_size=1))
        body = " ".join(" ".join([k, *a]) for k, a in simple)
        text = head + " { " + body + (" " if body else "") + "}" + _trail(draw) + draw(eol)
        return Gen(text, [(kw, tuple(args), [(k, tuple(a), None, None) for k, a in simple], None)])
    if style == "same":
        text = head + draw(st.sampled_from([" {", "{", "\t{"])) + _trail(draw) + draw(eol)
    else:
        text = head + _trail(draw) + draw(eol)
        if draw(st.booleans()):
            text += indent + draw(comment) + draw(eol)
        text += indent + "{" + _trail(draw) + draw(eol)
    text += "".join(c.text for c in children)
    text += indent + "}" + _trail(draw) + draw(eol)
    return Gen(text, [(kw, tuple(args), kids_tree, None)])


@st.composite
def filler(draw: st.DrawFn, indent: str) -> Gen:
    kind = draw(st.sampled_from(["blank", "comment", "spaces"]))
    if kind == "blank":
        return Gen(draw(eol))
    if kind == "spaces":
        return Gen(draw(blank) + draw(eol))
    return Gen(indent + draw(comment) + draw(eol))


@st.composite
def definition(draw: st.DrawFn, indent: str) -> Gen:
    name = draw(st.from_regex(r"[A-Z][A-Z0-9_]{0,6}", fullmatch=True))
    if draw(st.booleans()):
        value = draw(st.lists(plain_word, min_size=1, max_size=3))
        return Gen(f"{indent}${name}={' '.join(value)}{draw(eol)}", [("$", name)])
    lines = draw(st.lists(st.lists(plain_word, min_size=1, max_size=2), min_size=1, max_size=3))
    text = f"{indent}${name}= \\\n" + "".join(f"{indent}  {' '.join(line)} \\\n" for line in lines[:-1])
    text += f"{indent}  {' '.join(lines[-1])}{draw(eol)}"
    return Gen(text, [("$", name)])


def item(indent: str, depth: int) -> st.SearchStrategy[Gen]:
    options = [statement(indent), filler(indent), filler(indent)]
    if depth < 3:
        options.append(block(indent, depth))
    if depth == 0:
        options.append(definition(indent))
    return st.one_of(*options)


@st.composite
def config_text(draw: st.DrawFn) -> Gen:
    items = draw(st.lists(item("", 0), max_size=8))
    text = "".join(i.text for i in items)
    if text and draw(st.booleans()):
        text = text.rstrip("\n")  # no newline at the end of the file
    return Gen(text, [t for i in items for t in i.tree])


def actual(stmts: list[Statement]) -> list[tuple]:  # type: ignore[type-arg]
    out: list[tuple] = []  # type: ignore[type-arg]
    for s in stmts:
        if s.kind == "definition":
            out.append(("$", s.definition))
        else:
            out.append((s.keyword, s.args, actual(s.children) if s.block else None, s.condition))
    return out


@SETTINGS
@given(config_text())
def test_random_configurations_parse_to_their_structure_and_roundtrip(gen: Gen) -> None:
    cfile = parse_text(gen.text, "k.conf")
    assert "\n".join(cfile.lines) == gen.text
    assert actual(cfile.statements) == gen.tree


@SETTINGS
@given(st.lists(config_text(), min_size=1, max_size=3), st.data())
def test_random_includes_roundtrip_each_file(parts: list[Gen], data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        (base / "conf.d").mkdir()
        for i, part in enumerate(parts[1:]):
            (base / "conf.d" / f"{i:02d}.conf").write_bytes(part.text.encode())
        glob = data.draw(st.sampled_from(["conf.d/*.conf", f"{base}/conf.d/*.conf", "conf.d/{0,1}*.conf"]))
        main_text = parts[0].text + ("\n" if parts[0].text and not parts[0].text.endswith("\n") else "") + \
            f"include {glob}   # services\n"
        (base / "keepalived.conf").write_bytes(main_text.encode())
        config = load(base / "keepalived.conf")
        assert len(config.files) == len(parts)
        for cfile in config.files.values():
            assert cfile.data == cfile.path.read_bytes()
        assert not list(config.modified_files())


# ---- edits keep everything else ---------------------------------------------------------------


@st.composite
def lvs_config(draw: st.DrawFn) -> tuple[str, int]:
    """A virtual_server with random real servers, comments and spacing; returns (text, count)."""
    ind = draw(st.sampled_from(["  ", "    ", "\t"]))
    n = draw(st.integers(min_value=1, max_value=5))
    out = [draw(st.sampled_from(["", "! header\n", "# generated\n\n"]))]
    out.append("virtual_server 10.9.0.1 80 {" + _trail(draw) + "\n")
    out.append(f"{ind}lb_algo {draw(st.sampled_from(['rr', 'wrr', 'wlc']))}{_trail(draw)}\n")
    out.append(f"{ind}protocol TCP\n")
    for i in range(n):
        if draw(st.booleans()):
            out.append(ind + draw(comment) + "\n")
        if draw(st.booleans()):
            out.append("\n")
        sep = draw(st.sampled_from([" ", "  ", "\t"]))
        out.append(f"{ind}real_server{sep}10.9.1.{i + 1} 80 {{{_trail(draw)}\n")
        if draw(st.booleans()):
            out.append(f"{ind}{ind}weight{sep}{draw(st.integers(0, 100))}{_trail(draw)}\n")
        if draw(st.booleans()):
            out.append(f"{ind}{ind}TCP_CHECK {{\n{ind}{ind}{ind}connect_timeout 3\n{ind}{ind}}}\n")
        out.append(f"{ind}}}{_trail(draw)}\n")
    out.append("}" + _trail(draw) + "\n")
    return "".join(out), n


def diff(a: str, b: str) -> list[str]:
    return [d for d in difflib.ndiff(a.split("\n"), b.split("\n")) if d[:1] in "+-"]


@SETTINGS
@given(lvs_config(), st.data())
def test_edits_change_only_their_lines(spec: tuple[str, int], data: st.DataObject) -> None:
    text, n = spec
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "keepalived.conf"
        path.write_text(text)
        cfg = load(path)
        vs = build_view(cfg).virtual_servers[0]
        assert len(vs.real_servers) == n
        i = data.draw(st.integers(0, n - 1))
        rs = vs.real_servers[i]
        weight = data.draw(st.integers(0, 1000).filter(lambda w: w != rs.weight))

        new = edit.set_weight(cfg, rs, weight)
        changes = diff(text, new.main_file.text)
        assert [c[0] for c in changes] in (["-", "+"], ["+"])
        assert "weight" in changes[-1] and str(weight) in changes[-1]
        assert build_view(new).virtual_servers[0].real_servers[i].weight == weight
        others = [r.weight for j, r in enumerate(build_view(new).virtual_servers[0].real_servers) if j != i]
        assert others == [r.weight for j, r in enumerate(vs.real_servers) if j != i]

        removed = edit.remove_real_server(cfg, vs, rs)
        # As multisets of lines (ndiff may pair a removed block's closing brace with its
        # neighbour's identical one, so the order of its '-' lines proves nothing): only
        # removals, and among them that server's own real_server line.
        before, after = Counter(text.split("\n")), Counter(removed.main_file.text.split("\n"))
        assert not after - before
        gone = list((before - after).elements())
        assert [line for line in gone if "real_server" in line] == [
            line for line in text.split("\n") if "real_server" in line and f"10.9.1.{i + 1} " in line + " "]
        kept = [r.address for r in build_view(removed).virtual_servers[0].real_servers]
        assert kept == [r.address for r in vs.real_servers if r is not rs]

        added = edit.add_real_server(cfg, vs, "10.9.2.1", 80, weight=weight)
        changes = diff(text, added.main_file.text)
        assert all(c.startswith("+") for c in changes) and len(changes) == 3
        assert [r.address for r in build_view(added).virtual_servers[0].real_servers][-1] == "10.9.2.1"

        algo = edit.set_lb_algo(cfg, vs, "sh")
        changes = diff(text, algo.main_file.text)
        assert [c[0] for c in changes] == ["-", "+"] and "lb_algo sh" in changes[1]


@SETTINGS
@given(config_text(), st.data())
def test_a_lost_or_extra_brace_is_reported_with_a_real_line(gen: Gen, data: st.DataObject) -> None:
    import pytest

    from lvstui.keepalived.errors import KeepalivedConfigError

    lines = gen.text.split("\n")
    closers = [i for i, line in enumerate(lines) if line.strip().startswith("}")]
    if closers:
        i = data.draw(st.sampled_from(closers))
        broken = lines[:i] + [lines[i].replace("}", "", 1)] + lines[i + 1:]
        with pytest.raises(KeepalivedConfigError, match=r"unbalanced '\{'") as info:
            parse_text("\n".join(broken), "keepalived.conf")
        assert info.value.line is not None and 1 <= info.value.line <= i + 1
        assert str(info.value).startswith(f"keepalived.conf:{info.value.line}: ")
    at = data.draw(st.integers(0, len(lines)))
    if at and lines[at - 1].rstrip("\r").endswith("\\"):
        return  # inside a multi-line $definition a '}' is text, as for keepalived
    extra = lines[:at] + ["}"] + lines[at:]
    with pytest.raises(KeepalivedConfigError) as info:  # "unbalanced '}'", or an orphan '{' further down
        parse_text("\n".join(extra), "keepalived.conf")
    assert info.value.line is not None and at + 1 <= info.value.line <= len(extra)
    assert "unbalanced '}'" in str(info.value) or "unexpected '{'" in str(info.value)
