"""Two lvstui processes remembering weights at once lose none (issue 13 item 3: without the lock,
300 updates from each of two processes kept 364 of 600 entries)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

WRITER = """
import sys
from pathlib import Path
from lvstui.ops.journal import WeightMemory
memory = WeightMemory(Path(sys.argv[1]))
name = sys.argv[2]
print("ready", flush=True)
sys.stdin.readline()
for i in range(300):
    memory.update({("tcp:10.0.0.1:80", f"10.{name}.{i // 250}.{i % 250}:80"): i + 1}, [])
"""


def test_two_processes_updating_remembered_weights_keep_all_600(tmp_path: Path) -> None:
    path = tmp_path / "weights.json"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), name], env=env, text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE) for name in ("1", "2")]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    for proc in procs:  # both start at once
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    for proc in procs:
        assert proc.wait(timeout=300) == 0
    from lvstui.ops.journal import WeightMemory

    data = WeightMemory(path).all()
    assert len(data) == 600, f"{len(data)} of 600 entries kept"
    assert data["tcp:10.0.0.1:80 10.2.1.49:80"] == 300
