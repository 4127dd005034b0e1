"""The keepalived configuration reader at its limits: time and peak memory of each case.

    .venv/bin/python -m lvstui.bench.kaconfig

Each case is read in a fresh process as ``lvstui keepalived parse --json`` reads it (load,
expand, view): the largest file the limits let through (2 MiB of real statements) and every
hostile class stopped by a limit (a FIFO, /dev/zero, a huge file, an include tree that
doubles, definition and ``~SEQ`` bombs, a line of a million words).  Target (issue 13): each
returns within a few seconds, with one line.  Figures only, no assertions; the files are
written to a temporary directory that is removed afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _largest(root: Path) -> Path:
    servers = "".join(f"  real_server 10.1.0.{i} 80 {{\n    weight 1\n    TCP_CHECK {{\n      connect_timeout 3\n"
                      "    }\n  }\n" for i in range(1, 9))
    out: list[str] = []
    size = i = 0
    while True:
        block = (f"virtual_server 10.0.{i // 250}.{i % 250} 80 {{\n  lb_algo rr\n  lb_kind DR\n"
                 f"  protocol TCP\n{servers}}}\n")
        if size + len(block) > 2 << 20:
            break
        out.append(block)
        size += len(block)
        i += 1
    return _write(root / "largest.conf", "".join(out))


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _fifo(root: Path) -> Path:
    os.mkfifo(root / "pipe")
    return _write(root / "fifo.conf", "include pipe\n")


def _huge(root: Path) -> Path:
    with (root / "huge").open("wb") as fh:
        fh.truncate(1 << 40)
    return _write(root / "huge.conf", "include huge\n")


def _doubling(root: Path) -> Path:
    for i in range(30):
        _write(root / "tree" / f"{i}.conf", f"include {i + 1}.conf\n" * 2)
    return _write(root / "tree" / "30.conf", "vrrp_script s {\n  script /bin/true\n}\n").parent / "0.conf"


CASES: list[tuple[str, Callable[[Path], Path]]] = [
    ("largest legal file (2 MiB, 8 real servers a service)", _largest),
    ("include of a FIFO", _fifo),
    ("include of /dev/zero", lambda r: _write(r / "zero.conf", "include /dev/zero\n")),
    ("include of a 1 TiB (sparse) file", _huge),
    ("include tree doubling 30 times", _doubling),
    ("definition doubling 40 times", lambda r: _write(r / "def.conf", "$A0=x x\n" + "".join(
        f"$A{i}=$A{i - 1} $A{i - 1}\n" for i in range(1, 40)) + "x $A39\n")),
    ("multi-line definition doubling 40 times", lambda r: _write(r / "mdef.conf", "$M0=a \\\nb\n" + "".join(
        f"$M{i}=$M{i - 1} \\\n$M{i - 1}\n" for i in range(1, 40)) + "$M39\n")),
    ("~SEQ of 10**8", lambda r: _write(r / "seq.conf", "~SEQ(i,1,100000000) x $i\n")),
    ("~SEQ inside a ~SEQ through a definition", lambda r: _write(r / "seqdef.conf",
                                                                  "$S=~SEQ(j,1,100000) x\n~SEQ(i,1,100000) $S\n")),
    ("include pattern {a,b} x 40", lambda r: _write(r / "brace.conf", "include " + "{a,b}" * 40 + "\n")),
    ("a line of 750,000 words", lambda r: _write(r / "words.conf", "x " * 750_000 + "\n")),
]


_CHILD = ("import resource, sys\n"
          "from lvstui.cli import main\n"
          "rc = main(['keepalived', 'parse', '--json', sys.argv[1]])\n"
          "print(f'maxrss {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}', file=sys.stderr)\n"
          "raise SystemExit(rc)\n")


def _run(path: Path) -> tuple[float, float, str]:
    """Wall time, peak RSS (MiB) and the outcome of one read in a fresh process."""
    started = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", _CHILD, str(path)], capture_output=True, text=True,
                       errors="replace", cwd=str(REPO), timeout=600, check=False)
    wall = time.perf_counter() - started
    lines = r.stderr.strip().splitlines()
    peak = float(lines[-1].split()[1]) / 1024 if lines and lines[-1].startswith("maxrss ") else float("nan")
    if r.returncode:
        outcome = lines[0] if lines else f"exit {r.returncode}"
    else:
        outcome = f"ok, {len(r.stdout)} bytes of JSON"
    return wall, peak, outcome


def main() -> int:
    print(__doc__.strip().splitlines()[0])
    with tempfile.TemporaryDirectory(prefix="lvstui-bench-ka-") as tmp:
        for i, (name, make) in enumerate(CASES):
            root = Path(tmp) / str(i)
            root.mkdir()
            wall, peak, line = _run(make(root))
            print(f"  {name:<52} {wall:6.2f} s  peak RSS {peak:5.0f} MiB  {line[:100]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
