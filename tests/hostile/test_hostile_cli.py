"""The hostile-input suite, part 1: every kind of command-line argument, as the real CLI sees it.

Each case runs ``python -m lvstui ...`` as a subprocess (tests/hostile/support.py): it must give
one line on stderr (no traceback), change nothing (lvstui's state and config directories are
compared byte for byte) and answer within seconds.  The host has no IPVS and each run has its own
network namespace, so nothing here can reach a kernel table.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.hostile.support import assert_one_line_refusal, run_cli, tree

LONG = "9" * 5000
# values a hostile or clumsy operator (or a script with an unquoted variable) passes
ODD_TEXT = ["", " ", "-", "--", "\x1b[2J", "a\x7fb", "é", "日本", "\u202e1.0.0.1", "$(id)", "`id`", "a;id",
            "a|b", "a&&b", "../../etc/passwd", "/dev/zero", "%s%n", "{}", "*", "~root", LONG]

VS_IDS = [*ODD_TEXT, "tcp:", "tcp:1.2.3.4", "tcp:1.2.3.4:", "tcp:1.2.3.4:99999", "tcp:1.2.3.4:-1",
          "tcp:1.2.3.4:0x50", "tcp:1.2.3.4:8_0", "tcp:1.2.3.4:٨٠", "udp:[::1]", "udp:[::1:80", "tcp:::1:80",
          "tcp:[fe80::1%eth0]:80", "tcp:[::ffff:1.2.3.4]:80", "tcp:1.2.3.256:80", "tcp:01.2.3.4:80",
          "tcp:1.2.3:80", "sctp:1.2.3.4:80:80", "icmp:1.2.3.4:80", "fwmark:", "fwmark:-1", "fwmark:0x10",
          "fwmark:4294967296", f"fwmark:{LONG}", "TCP:1.2.3.4:80 "]  # (argv cannot carry NUL)
RS_IDS = [*ODD_TEXT, "1.2.3.4", "1.2.3.4:", "1.2.3.4:65536", "1.2.3.4:-80", "[::1]", "::1:80", "[::1]:80x",
          "300.1.1.1:80", "1.2.3.4:80:80", "host.example:80", "[fe80::1%lo]:80"]
WEIGHTS = ["-1", "+-1", "--5", "2147483648", "99999999999999999999", "1e3", "0x10", "1.5", "nan", "inf", "٣",
           " 5", LONG, "+", "-"]
DURATIONS = ["-1", "0", "nan", "inf", "-inf", "1e400", "abc", LONG, "1e-400"]


def _cases() -> list[tuple[str, list[str]]]:
    """Each argument kind with every hostile value once (through one verb that takes it), and a
    sample through the other verbs that take the same kind."""
    vs, rs = "tcp:10.0.0.1:80", "10.0.0.2:80"
    rsv = ["setup", "realserver", "127.0.0.1", "--vip", "10.0.0.9", "--dry-run", "--timeout", "2"]
    sample = ["", "$(id)", "\x1b[2J", "\u202e1.0.0.1", LONG]
    cases: list[tuple[str, list[str]]] = []
    cases += [("vs id", ["drain", v, rs]) for v in VS_IDS]
    cases += [(f"vs id ({verb})", [verb, v]) for verb in ("remove-vs", "add-vs", "edit-vs", "conns") for v in sample]
    cases += [("rs id", ["weight", vs, r, "3"]) for r in RS_IDS]
    cases += [(f"rs id ({verb})", [verb, vs, r]) for verb in ("add-rs", "remove-rs", "restore") for r in sample]
    cases += [("address", ["drain-host", r]) for r in [*sample, "1.2.3", "::g", "1.2.3.4/32", "[::1]"]]
    cases += [("weight", ["weight", vs, rs, w]) for w in WEIGHTS]
    cases += [(f"weight ({opt})", ["add-rs", vs, rs, opt, w]) for opt in ("--weight", "--upper", "--lower")
              for w in ("-1", "2147483648", "nan", LONG)]
    cases += [("duration --timeout", ["drain", vs, rs, "--wait", "--timeout", d]) for d in DURATIONS]
    cases += [("duration --persistent", ["add-vs", vs, "--persistent", d]) for d in DURATIONS]
    cases += [("duration --interval", ["--interval", d, "--demo"]) for d in DURATIONS]
    cases += [("duration setup --timeout", [*rsv[:-2], "--timeout", d]) for d in DURATIONS]
    cases += [("scheduler", ["add-vs", vs, "--scheduler", t]) for t in ODD_TEXT]
    cases += [(f"add-vs {opt}", ["add-vs", vs, opt, t]) for opt in ("--flags", "--netmask", "--pe") for t in sample]
    cases += [("forward", ["add-rs", vs, rs, "--forward", t]) for t in sample]
    cases += [(f"conns {opt}", ["conns", opt, t]) for opt in ("--client", "--state")
              for t in [*sample, "10.0.0.0/33", "::/129", "1.2.3.4/x"]]
    cases += [("journal id", ["undo", t]) for t in [*sample, "-1", "99999999999999999999", "../x"]]
    cases += [("theme", ["--theme", t, "--demo"]) for t in [*sample, "../../etc/passwd", "/dev/zero"]]
    cases += [("vrrp verb", ["vrrp", t]) for t in sample]
    hosts = [*ODD_TEXT, "root;id@h", "h:99999", "h:0", "[::1", "[::1]:x", "-oProxyCommand=id", "a" * 300,
             "h..example", "h_1", "user@@h", "@h", "h@"]
    cases += [("ssh host", ["setup", "realserver", h, *rsv[3:]]) for h in hosts]
    cases += [("ssh --jump", [*rsv, "--jump", h]) for h in [*sample, "h:99999", "-oProxyCommand=id", "root;id@h"]]
    cases += [("ssh --user", [*rsv, "--user", u])
              for u in ["root;id", "-oProxyCommand=id", "ro ot", "$(id)", "", "0root", "a" * 40, "é", "\x1b"]]
    cases += [("ssh --ssh-port", [*rsv, "--ssh-port", p]) for p in ["99999", "0", "-22", "22x", "0x16", LONG, "٢٢"]]
    cases += [("vip", ["setup", "realserver", "127.0.0.1", "--vip", v, "--dry-run"])
              for v in [*ODD_TEXT, "10.0.0.9/24", "127.0.0.1", "224.0.0.1", "0.0.0.0", "::", "fe80::1",
                        "10.0.0.9/33", "10.0.0.9/x"]]
    cases += [("service port", [*rsv, "--port", p]) for p in ["0", "65536", "-1", "http", LONG]]
    for f in ["/dev/zero", "/dev/null", "/", "/nonexistent/x.toml", "/proc/self/mem", "../../../../etc/passwd"]:
        cases += [("plan file", ["setup", "director", "--from", f, "--dry-run"]),
                  ("ssh config file", [*rsv, "--ssh-config", f]), ("identity file", [*rsv, "--identity", f]),
                  ("known_hosts file", [*rsv, "--known-hosts", f])]
    return cases


CASES = _cases()


def test_count_of_cli_cases() -> None:
    print(f"\nhostile CLI argument cases: {len(CASES)}")
    assert len(CASES) > 200


@pytest.mark.parametrize(("label", "argv"), CASES, ids=[f"{c[0]}:{c[1]!r}"[:120] for c in CASES])
def test_hostile_argument_is_one_line(label: str, argv: list[str], tmp_path: Path) -> None:
    watched = [Path(os.environ["LVSTUI_STATE_DIR"]), Path(os.environ["XDG_CONFIG_HOME"]),
               Path(os.environ["XDG_STATE_HOME"]), tmp_path]
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    before = tree(*watched)
    out = run_cli(argv, env={"HOME": str(home)}, cwd=tmp_path)
    assert_one_line_refusal(out)
    assert tree(*watched) == before
