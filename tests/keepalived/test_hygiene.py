"""The keepalived package stays plain Python and read only: importing it pulls in neither Textual
nor rich, nor the layers above it (the operations layer that writes, the backend)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import lvstui.keepalived

REPO = str(Path(__file__).resolve().parents[2])
MODULES = ["errors", "lexer", "syntax", "loader", "expand", "view", "edit", "validate", "runtime",
           "fifo", "join", "processes"]
ALL = sorted(m.name for m in pkgutil.iter_modules(lvstui.keepalived.__path__))


def test_no_textual_or_rich_import() -> None:
    code = (
        "import sys\n"
        + "".join(f"import lvstui.keepalived.{m}\n" for m in MODULES)
        + "import lvstui.ops.files\n"  # the writer of keepalived's files (it was keepalived.writer)
        + "import lvstui.commands.keepalived\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich'))\n"
        "print(','.join(bad))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, cwd=REPO,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == ""


def test_keepalived_imports_neither_ops_nor_backend() -> None:
    """Every module of the package, imported alone: the write path and the backend stay out."""
    assert {"site", "watcher", "toggle", "state"} <= set(ALL) and "durable" not in ALL and "writer" not in ALL
    code = (
        "import sys\n"
        + "".join(f"import lvstui.keepalived.{m}\n" for m in ALL)
        + "bad = sorted(m for m in sys.modules if m.startswith(('lvstui.ops', 'lvstui.backend', 'lvstui.ui')))\n"
        "print(','.join(bad))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, cwd=REPO,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == ""
