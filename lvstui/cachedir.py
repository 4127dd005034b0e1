"""lvstui's cache directory: the lab's kernel and daemons (scripts/setup.sh), keepalived's configuration views."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/lvstui`` (``~/.cache/lvstui``), as scripts/fetch-uml.sh and userland.sh use."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "lvstui"
