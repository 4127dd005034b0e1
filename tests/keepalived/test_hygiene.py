"""The keepalived package stays plain Python: importing it pulls in neither Textual nor rich."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = str(Path(__file__).resolve().parents[2])
MODULES = ["errors", "lexer", "syntax", "loader", "expand", "view", "edit", "writer", "validate", "runtime",
           "fifo", "join", "processes"]


def test_no_textual_or_rich_import() -> None:
    code = (
        "import sys\n"
        + "".join(f"import lvstui.keepalived.{m}\n" for m in MODULES)
        + "import lvstui.commands.keepalived\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich'))\n"
        "print(','.join(bad))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == ""
