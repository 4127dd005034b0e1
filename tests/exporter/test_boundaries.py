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

ROOT = Path(__file__).resolve().parents[2]

CHECK = """
import json, sys
import lvstui.exporter.server, lvstui.exporter.collector, lvstui.commands.exporter, lvstui.cli
from lvstui.exporter import FORBIDDEN
from lvstui.exporter.poll import PollLoop
from lvstui.exporter.render import render
from lvstui.exporter.metrics import families
from lvstui.exporter.source import Reopening, director_source
from lvstui.demo import DemoSource
for source in (Reopening(director_source), DemoSource()):
    loop = PollLoop(source)
    state = loop.poll_once()
    render(state); families(state)
    loop.stop()
%s
bad = sorted(m for m in sys.modules if any(m == f or m.startswith(f + ".") for f in FORBIDDEN))
print(json.dumps({"bad": bad, "error": state.error, "loaded": sorted(m for m in sys.modules if m.startswith("lvstui"))}))
"""


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
    assert any(f == "lvstui.ops" for f in FORBIDDEN)
