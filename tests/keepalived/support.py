"""Helpers for the keepalived tests: where the shared samples and captured dumps are."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent / "data"


def shared_samples() -> Path:
    """../shared/samples/keepalived beside the checkout (CI has a copy of shared/ there too)."""
    env = os.environ.get("LVSTUI_SHARED")
    candidates = [Path(env)] if env else []
    candidates += [p / "shared" for p in Path(__file__).resolve().parents]
    for base in candidates:
        samples = base / "samples" / "keepalived"
        if samples.is_dir():
            return samples
    pytest.fail("shared/samples/keepalived not found beside the checkout (set LVSTUI_SHARED)",
                pytrace=False)


def sample_files() -> list[Path]:
    try:
        return sorted(p for p in shared_samples().iterdir() if p.is_file())
    except (pytest.fail.Exception, OSError):  # pytest.fail at collection: give one parameter that fails loudly
        return [Path("shared-samples-not-found")]


def interface() -> str | None:
    """A non-loopback interface of this machine (keepalived refuses lo for VRRP)."""
    names = sorted(p.name for p in Path("/sys/class/net").iterdir() if p.name != "lo")
    return names[0] if names else None
