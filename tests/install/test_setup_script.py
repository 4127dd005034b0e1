"""scripts/setup.sh never touches a service of this machine, and a second run does nothing.

Stand-ins for every tool that starts, stops, enables or reconfigures a service come first on
PATH and record each call; they answer as if keepalived and ssh were enabled and running (the
old setup.sh disabled exactly those). apt-get and pip are stand-ins too: after the set-up that
ran before the tests, a re-run must need neither (idempotent).
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SERVICE_TOOLS = ("systemctl", "service", "invoke-rc.d", "deb-systemd-invoke", "deb-systemd-helper",
                 "update-rc.d", "initctl", "rc-service", "sv")
RECORD = """#!/bin/sh
echo "$(basename "$0") $*" >> {log}
case "$(basename "$0") $1" in
  "systemctl is-enabled"|"systemctl is-active") echo enabled; exit 0 ;;
  "apt-get "*|"apt "*|"dpkg "*|"pip "*) exit 1 ;;
esac
exit 0
"""


def stand_ins(tmp_path: Path) -> tuple[Path, Path]:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "calls.log"
    log.write_text("")
    for name in (*SERVICE_TOOLS, "apt-get", "apt", "dpkg"):
        path = bindir / name
        path.write_text(RECORD.format(log=log))
        path.chmod(0o755)
    return bindir, log


def test_setup_touches_no_service_and_a_second_run_does_nothing(tmp_path: Path) -> None:
    bindir, log = stand_ins(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LVSTUI_", "VIRTUAL_ENV"))}
    env["PATH"] = f"{bindir}:{env['PATH']}"
    done = subprocess.run(["bash", "scripts/setup.sh"], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    calls = log.read_text().splitlines()
    assert not [c for c in calls if c.split()[0] in SERVICE_TOOLS], calls
    # dpkg-query (read-only) is how it sees what is installed; nothing else of apt/dpkg ran
    assert not [c for c in calls if c.split()[0] in ("apt-get", "apt", "dpkg")], calls
    assert "installing" not in done.stderr and "unpacking" not in done.stderr, done.stderr


def test_no_script_of_the_repo_stops_disables_or_restarts_a_service() -> None:
    pattern = re.compile(r"\b(systemctl|service|invoke-rc\.d|deb-systemd-invoke|update-rc\.d)\b\s+\S*\s*"
                         r"(stop|disable|mask|restart|reload|start|enable|--now)\b")
    for path in [*(REPO / "scripts").iterdir(), REPO / ".ci" / "run"]:
        if path.is_dir():
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            code = line.split("#", 1)[0]
            assert not pattern.search(code), f"{path.relative_to(REPO)}:{number}: {line.strip()}"
