"""Read-only by construction: the exporter, polled and rendered, never loads a writer or the UI.

In a subprocess (a clean sys.modules): import the exporter and its command, poll once through the
real director source (on this host the kernel read fails: that is data) and through the demo, render
the text; then no module of lvstui.ops, lvstui.setup, a keepalived writer, lvstui.ui or Textual is
loaded.  tests/lab/test_exporter_lab.py runs the same check in a director with keepalived running.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from lvstui.exporter import FORBIDDEN
from tests.exporter.support import CHECK

ROOT = Path(__file__).resolve().parents[2]



def _run(extra: str = "") -> dict[str, object]:
    r = subprocess.run([sys.executable, "-c", CHECK % extra], capture_output=True, text=True, cwd=ROOT,
                       timeout=120, check=False)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.splitlines()[-1])  # type: ignore[no-any-return]


def test_exporter_loads_no_writer_and_no_ui() -> None:
    out = _run()
    assert out["bad"] == []
    assert "lvstui.backend.director" in out["loaded"]  # type: ignore[operator]  # the real read path ran


def test_the_check_can_fail() -> None:
    out = _run("import lvstui.ops.engine")
    assert "lvstui.ops.engine" in out["bad"]  # type: ignore[operator]
    assert {"lvstui.ops.engine", "lvstui.ops.keepalived", "lvstui.setup", "textual"} <= set(FORBIDDEN)
