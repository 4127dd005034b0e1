"""Hostile keepalived configurations (part of the hostile-input suite).

Every case is run as the operator runs it, ``lvstui keepalived parse`` and
``lvstui keepalived check --no-keepalived`` in a subprocess, with a wall-clock
timeout (a hang fails the test instead of hanging the suite) and an address
space limit (memory exhaustion fails it instead of the machine).  Each must
give one line on stderr naming the file (and line where there is one), no
traceback, and leave the files exactly as they were.  The dashboard and the
operations read the running keepalived's configuration through the same
loader, so these bounds protect them too.
"""

from __future__ import annotations

import hashlib
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = str(Path(__file__).resolve().parents[2])
TIMEOUT = 30.0  # a guard against hangs only: each case takes well under a few seconds (printed below)
MEMORY = 1 << 30  # 1 GiB of address space for the lvstui process


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def lvstui(*args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    start = time.monotonic()
    try:
        r = subprocess.run([sys.executable, "-m", "lvstui", "keepalived", *args], capture_output=True,
                           text=True, errors="replace", cwd=REPO, timeout=TIMEOUT, preexec_fn=_limit_memory)
    except subprocess.TimeoutExpired:
        pytest.fail(f"lvstui keepalived {' '.join(args)} did not return in {TIMEOUT:.0f} s")
    return r, time.monotonic() - start


def snapshot(root: Path) -> dict[str, str]:
    """What is under root: each regular file's digest, other entries by type (FIFOs are not opened)."""
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            if p.is_symlink():
                out[str(p)] = "link:" + os.readlink(p)
            elif p.is_file():
                st = p.stat()
                digest = hashlib.sha256(p.read_bytes()).hexdigest() if st.st_size < 64 << 20 else "big"
                out[str(p)] = f"{digest}:{st.st_size}:{st.st_mtime_ns}:{st.st_mode:o}"
            else:
                out[str(p)] = f"mode:{p.lstat().st_mode:o}"
    return out


def one_line_error(r: subprocess.CompletedProcess[str], expected: str) -> None:
    assert "Traceback" not in r.stderr, r.stderr[-2000:]
    assert r.returncode == 1, (r.returncode, r.stderr[-500:])
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr[-2000:]
    assert expected in lines[0], lines[0]
    assert len(lines[0]) < 400, lines[0][:400]
    assert lines[0].isprintable(), repr(lines[0])


def run_both(main: Path, root: Path, expected: str) -> None:
    before = snapshot(root)
    for verb in (("parse",), ("parse", "--json"), ("check", "--no-keepalived")):
        r, took = lvstui(*verb, str(main))
        one_line_error(r, expected)
        print(f"{' '.join(verb)} {main.name}: {took:.2f} s")
    assert snapshot(root) == before


def write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


# ---- what is read ---------------------------------------------------------------------------------


def test_include_of_a_fifo_does_not_hang(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    main = write(tmp_path / "k.conf", "global_defs {\n  router_id a\n}\ninclude pipe\n")
    run_both(main, tmp_path, "k.conf:4: include 'pipe': cannot read: a FIFO, not a regular file")


def test_main_file_a_fifo_does_not_hang(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "k.conf")
    run_both(tmp_path / "k.conf", tmp_path, "k.conf: cannot read: a FIFO, not a regular file")


def test_include_of_dev_zero_and_a_link_to_it(tmp_path: Path) -> None:
    main = write(tmp_path / "k.conf", "include /dev/zero\n")
    run_both(main, tmp_path, "k.conf:1: include '/dev/zero': cannot read: a character device, not a regular file")
    (tmp_path / "zero.conf").symlink_to("/dev/zero")  # keepalived follows links: so do we, then check the type
    main = write(tmp_path / "k.conf", "! links are followed\ninclude zero.conf\n")
    run_both(main, tmp_path, "k.conf:2: include 'zero.conf': cannot read: a character device")


def test_include_glob_matching_a_fifo(tmp_path: Path) -> None:
    write(tmp_path / "conf.d" / "a.conf", "vrrp_script a {\n  script /bin/true\n}\n")
    os.mkfifo(tmp_path / "conf.d" / "b.conf")
    main = write(tmp_path / "k.conf", "include conf.d/*.conf\n")
    run_both(main, tmp_path, "k.conf:1: include 'conf.d/*.conf': cannot read: a FIFO")


def test_huge_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    big = tmp_path / "big.conf"
    with big.open("wb") as fh:  # sparse: 1 TiB on paper, nothing on disk
        fh.truncate(1 << 40)
    main = write(tmp_path / "k.conf", "include big.conf\n")
    run_both(main, tmp_path, "k.conf:1: include 'big.conf': file too large: 1099511627776 bytes (at most 2097152)")
    run_both(big, tmp_path, "big.conf: file too large")


def test_file_that_says_it_is_empty_but_streams_megabytes(tmp_path: Path) -> None:
    # /proc files are regular files of size 0 whatever they hold: the read stops one past the cap
    kallsyms = Path("/proc/kallsyms")
    if not kallsyms.exists() or kallsyms.stat().st_size != 0 or len(kallsyms.read_bytes()) <= 2 << 20:
        pytest.skip("no /proc/kallsyms of more than 2 MiB here")
    main = write(tmp_path / "k.conf", "include /proc/kallsyms\n")
    run_both(main, tmp_path, "k.conf:1: include '/proc/kallsyms': file too large: more than 2097152 bytes")


def test_too_many_bytes_in_all_files_together(tmp_path: Path) -> None:
    line = "! " + "x" * 1000 + "\n"
    body = line * ((1 << 20) // len(line))  # 1 MiB each: under the cap of one file
    for i in range(9):
        write(tmp_path / "d" / f"{i}.conf", body)
    main = write(tmp_path / "k.conf", "include d/*.conf\n")
    run_both(main, tmp_path, "include 'd/*.conf': the included files together have more than 8388608 bytes")


def test_too_many_files(tmp_path: Path) -> None:
    for i in range(2001):
        write(tmp_path / "d" / f"{i:05}.conf", "")
    main = write(tmp_path / "k.conf", "! many\ninclude d/*.conf\n")
    run_both(main, tmp_path, "k.conf:2: include 'd/*.conf': include pattern matches more than 2000 files")


def chain(root: Path, length: int, times: int, last: str) -> Path:
    """0.conf includes 1.conf (``times`` times), which includes 2.conf ... up to ``length``.conf."""
    for i in range(length):
        write(root / f"{i}.conf", f"include {i + 1}.conf\n" * times)
    write(root / f"{length}.conf", last)
    return root / "0.conf"


def test_too_many_files_through_several_includes(tmp_path: Path) -> None:
    for d in ("a", "b"):  # each pattern is under the cap, together they are over it
        for i in range(1001):
            write(tmp_path / d / f"{i:05}.conf", "")
    main = write(tmp_path / "k.conf", "include a/*.conf\ninclude b/*.conf\n")
    run_both(main, tmp_path, "k.conf:2: include 'b/*.conf': more than 2000 files included")


def test_include_depth(tmp_path: Path) -> None:
    run_both(chain(tmp_path, 40, 1, ""), tmp_path, "includes nested more than 32 deep")


def test_include_loop_spelled_differently_each_time(tmp_path: Path) -> None:
    # sub/../k.conf is k.conf again, under a longer name each time round
    (tmp_path / "sub").mkdir()
    main = write(tmp_path / "k.conf", "include sub/../k.conf\n")
    run_both(main, tmp_path, "includes nested more than 32 deep")
    main = write(tmp_path / "k.conf", "include k.conf\n")
    run_both(main, tmp_path, "k.conf:1: include 'k.conf': include loop: k.conf -> k.conf")


def test_include_tree_that_doubles(tmp_path: Path) -> None:
    # 30 files, each including the next twice: 2**30 reads of the last one
    main = chain(tmp_path, 30, 2, "vrrp_script s {\n  script /bin/true\n}\n")
    run_both(main, tmp_path, "expands to more than 150000 lines")


# ---- expansions -----------------------------------------------------------------------------------------


def test_brace_bomb_in_include(tmp_path: Path) -> None:
    main = write(tmp_path / "k.conf", "! braces\ninclude " + "{a,b}" * 40 + ".conf\n")
    run_both(main, tmp_path, "k.conf:2: include '{a,b}")
    r, _ = lvstui("parse", str(main))
    assert "include pattern spells more than 4096 paths" in r.stderr


def test_block_nesting_bomb(tmp_path: Path) -> None:
    main = write(tmp_path / "k.conf", "a { " * 10_000 + "\n")
    run_both(main, tmp_path, "k.conf:1: blocks nested more than 64 deep")


def test_block_nesting_bomb_through_a_definition(tmp_path: Path) -> None:
    # the file itself has no brace outside definitions: the nesting appears only when they are expanded
    main = write(tmp_path / "k.conf", "$OPEN=x {\n$CLOSE=}\n" + "$OPEN\n" * 1000 + "$CLOSE\n" * 1000)
    run_both(main, tmp_path, "k.conf:66: blocks nested more than 64 deep")


def test_definition_bomb(tmp_path: Path) -> None:
    defs = "$A0=x x\n" + "".join(f"$A{i}=$A{i - 1} $A{i - 1}\n" for i in range(1, 40))
    main = write(tmp_path / "k.conf", defs + "global_defs {\n  router_id $A39\n}\n")
    run_both(main, tmp_path, "k.conf:42: $definitions make a line of more than 65536 characters")


def test_multiline_definition_bomb(tmp_path: Path) -> None:
    defs = "$M0=a \\\nb\n" + "".join(f"$M{i}=$M{i - 1} \\\n$M{i - 1}\n" for i in range(1, 40))
    main = write(tmp_path / "k.conf", defs + "$M39\n")
    run_both(main, tmp_path, "expands to more than 150000 lines")


@pytest.mark.parametrize("line", [
    "~SEQ(i,1,100000000) vrrp_script s$i {\n}\n",
    "~SEQ(i,0,1,100000000000000000000000000000) x $i\n",
    "~SEQ(i,1,1000) ~SEQ(j,1,1000) x $i $j\n",
    "~LST(i," + ",".join(str(n) for n in range(2000)) + ") ~SEQ(j,1,1000) x\n",
], ids=["long", "astronomic", "product", "list-product"])
def test_seq_bombs(tmp_path: Path, line: str) -> None:
    main = write(tmp_path / "k.conf", "! seq\n" + line)
    run_both(main, tmp_path, "k.conf:2: ~SEQ")


def test_seq_bomb_through_a_definition(tmp_path: Path) -> None:
    main = write(tmp_path / "k.conf", "$S=~SEQ(j,1,100000) x\n~SEQ(i,1,100000) $S\n")
    run_both(main, tmp_path, "k.conf:2: expands to more than 150000 lines")


# ---- bytes and lines -----------------------------------------------------------------------------------


Make = Callable[[Path], Path]


def _good(tmp_path: Path, data: bytes) -> None:
    """A configuration that keepalived reads: lvstui reads it too, prints it escaped, writes nothing."""
    main = write(tmp_path / "k.conf", data)
    before = snapshot(tmp_path)
    for verb in (("parse",), ("parse", "--json"), ("check", "--no-keepalived")):
        r, took = lvstui(*verb, str(main))
        assert "Traceback" not in r.stderr, r.stderr[-2000:]
        assert r.returncode == 0, r.stderr[-500:]
        assert "\x1b" not in r.stdout and "\x07" not in r.stdout, repr(r.stdout[:500])
        print(f"{' '.join(verb)}: {took:.2f} s")
    assert snapshot(tmp_path) == before


def test_non_utf8_bytes(tmp_path: Path) -> None:
    _good(tmp_path, b"! caf\xe9\nvrrp_script chk_\xff\xfe {\n  script \"/bin/\xc3\x28true\"\n}\n")


def test_control_characters_are_shown_escaped(tmp_path: Path) -> None:
    _good(tmp_path, b"vrrp_script \x1b[2J\x1b[Hhidden\x07 {\n  script \"/bin/true \x1b]0;title\x07\"\n"
          b"  interval 2\r\n}\n\x0c\n! nul \x00 in a comment\n")


def test_rich_markup_in_names_is_shown_as_written(tmp_path: Path) -> None:
    main = write(tmp_path / "k.conf", "vrrp_script [/]x[bold] {\n  script /bin/true\n}\n")
    r, _ = lvstui("parse", str(main))
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr[-2000:]
    assert "[/]x[bold]" in r.stdout


def test_control_characters_in_an_error_line(tmp_path: Path) -> None:
    main = write(tmp_path / "k.conf", "include /nonexistent/\x1b[2K\rfake.conf\x07\nfoo {\n")
    run_both(main, tmp_path, "k.conf:2: unbalanced '{'")
    os.mkfifo(tmp_path / "\x1b[2K\rok.conf")
    main = write(tmp_path / "k.conf", "include \x1b[2K\rok.conf\n")
    run_both(main, tmp_path, "k.conf:1: include '\\x1b[2K\\x0dok.conf': cannot read: a FIFO")
    run_both(tmp_path / "\x1b[1A\xff.conf", tmp_path, "\\x1b[1A\xff.conf: cannot read: No such file")


def test_extremely_long_line_and_token(tmp_path: Path) -> None:
    main = write(tmp_path / "k.conf", "vrrp_script s {\n  script " + "w " * 750_000 + "\n}\n")  # 1.5 MB
    run_both(main, tmp_path, "k.conf:2: line of 1500009 characters (at most 65536;"
                             " keepalived reads 1023 bytes at a time)")
    main = write(tmp_path / "k.conf", "vrrp_script s {\n  script /" + "t" * 1_500_000 + "\n}\n")
    run_both(main, tmp_path, "k.conf:2: line of 1500010 characters")


def test_long_line_under_the_cap_is_read_with_a_warning(tmp_path: Path) -> None:
    _good(tmp_path, ("vrrp_script s {\n  script " + "w " * 30_000 + "\n}\n").encode())
    r, _ = lvstui("check", "--no-keepalived", str(tmp_path / "k.conf"))
    assert "warning: k.conf:2: line longer than 1023 bytes: keepalived reads the rest of it as another line" \
        in r.stderr.splitlines()


def test_long_line_of_unclosed_parameters(tmp_path: Path) -> None:
    # "${" without a "}" after it: each one searches the rest of the line (bounded by the line cap)
    main = write(tmp_path / "k.conf", "global_defs {\n  router_id a\n}\n! x\nx_" + "${" * 30_000 + "\n")
    run_both(main, tmp_path, "k.conf:5: blocks nested more than 64 deep")
    _good(tmp_path, ("global_defs {\n  router_id a\n}\n! x\nx \"" + "${" * 30_000 + "\"\n").encode())


def test_nul_bytes_and_lone_carriage_returns(tmp_path: Path) -> None:
    _good(tmp_path, b"global_defs {\r  router_id a\x00b\n}\n" + b"\x00" * 10_000 + b"\n")


def test_long_lines_are_not_kept_by_the_line_cache() -> None:
    # the dashboard re-reads the running configuration: a file of long lines, rewritten again
    # and again, must not pile up in the scanner's cache (it held 65536 lines of any length)
    import gc
    import tracemalloc

    from lvstui.keepalived.lexer import scan_line

    tracemalloc.start()
    try:
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        for i in range(300):
            scan_line(f"! {i} " + "x" * 60_000)
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert kept < 2 << 20, f"{kept} bytes kept after scanning 300 lines of 60 kB"
