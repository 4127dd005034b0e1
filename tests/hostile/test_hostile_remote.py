"""The hostile-input suite, part 3: what a compromised host sends back, through the real CLI.

A real sshd on 127.0.0.1 runs in its own mount namespace where a tmpfs hides /etc/sysctl.d
(nothing changes on this machine) and holds a hostile copy of the file the real-server wizard
previews; `lvstui setup realserver --dry-run` must show every line of it, escaped."""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest

from lvstui.setup.realserver import SYSCTL_FILE
from tests.hostile.support import run_cli, tree
from tests.setup.sshd_support import Sshd, start_sshd

HOSTILE = {
    "erase previous line": "\x1b[1A\x1b[2K", "carriage return": "\r", "backspaces": "\x08" * 20,
    "title + bell": "\x1b]0;pwned\x07", "C1 CSI": "\x9b2J", "bidi override": "\u202e", "zero width": "\u200b",
    "line separator": "\u2028", "NUL": "\x00", "form feed": "\x0c", "vertical tab": "\x0b", "DEL": "\x7f",
    "hyperlink": "\x1b]8;;http://x\x07", "clear screen": "\x1b[2J\x1b[H", "invalid utf-8": "\udcff",
}


@pytest.fixture(scope="module")
def hostile_sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    tmp = tmp_path_factory.mktemp("hostile-remote")
    files = tmp / "sysctl"
    files.mkdir()
    for n, seq in enumerate(HOSTILE.values()):
        data = f"net.ipv4.conf.all.arp_ignore = 1\nbackdoor_{n} = 1{seq}HIDDEN\nnet.ipv4.conf.all.arp_announce = 2\n"
        (files / f"case{n}").write_bytes(data.encode("utf-8", "surrogateescape"))
    directory = os.path.dirname(SYSCTL_FILE)
    server = start_sshd(tmp, setup=(f"mount -t tmpfs tmpfs {directory}", f"cp {files}/case0 {SYSCTL_FILE}",
                                    f"mkdir {directory}/cases", f"cp {files}/* {directory}/cases/"))
    (tmp / "known_hosts").write_text(server.known_hosts_line())
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize("label", list(HOSTILE), ids=list(HOSTILE))
def test_remote_file_in_preview_is_shown_escaped(label: str, hostile_sshd: Sshd, tmp_path: Path) -> None:
    n = list(HOSTILE).index(label)
    base = ["--ssh-port", str(hostile_sshd.port), "--user", "root", "--identity", str(hostile_sshd.client_key),
            "--known-hosts", str(hostile_sshd.dir / "known_hosts"), "--ssh-config", str(tmp_path / "none"),
            "--timeout", "5"]
    # the case's file becomes the one the wizard previews (inside sshd's namespace only)
    from lvstui.setup.runner import Script
    from lvstui.setup.ssh import SshOptions, SshRunner

    opts = SshOptions(user="root", port=hostile_sshd.port, identity=str(hostile_sshd.client_key),
                      known_hosts=str(hostile_sshd.dir / "known_hosts"), config_file=str(tmp_path / "none"),
                      allow_agent=False)
    directory = os.path.dirname(SYSCTL_FILE)
    with SshRunner("127.0.0.1", opts) as runner:
        assert runner.run(Script(f"cp {directory}/cases/case{n} {SYSCTL_FILE}")).ok
    watched = [Path(os.environ["LVSTUI_STATE_DIR"]), tmp_path]
    before = tree(*watched)
    out = run_cli(["setup", "realserver", "127.0.0.1", "--vip", "10.0.0.9", "--persist", "unit", "--dry-run",
                   *base], env={"HOME": str(tmp_path)}, cwd=tmp_path, netns=False)
    assert out.rc == 0, out.stderr
    assert "Traceback" not in out.stderr
    shown = out.stdout + out.stderr
    raw = [ch for ch in shown if ch not in "\n\t" and unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")]
    assert raw == [], (label, shown)
    line = next(ln for ln in out.stdout.splitlines() if f"backdoor_{n} = 1" in ln)
    assert "HIDDEN" in line, line  # the rest of the line is on the same shown line
    assert tree(*watched) == before


def test_count_of_remote_cases() -> None:
    print(f"\nhostile remote-output cases: {len(HOSTILE)}")
