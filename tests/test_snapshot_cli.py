"""`lvstui snapshot` on this machine, whose kernel has no IPVS."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = str(Path(__file__).resolve().parents[1])


def test_no_ipvs_in_this_kernel_is_a_clear_one_line_error() -> None:
    """The host kernel of this project's machines has no IPVS (see shared/LAB.md)."""

    if Path("/proc/net/ip_vs").exists():
        pytest.skip("this host's kernel has IPVS; the message is checked where it has none")
    r = subprocess.run([sys.executable, "-m", "lvstui", "snapshot", "--json"], capture_output=True, text=True,
                       cwd=REPO)
    assert r.returncode != 0 and r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "IPVS is not available in this kernel" in lines[0] and "modprobe ip_vs" in lines[0]
