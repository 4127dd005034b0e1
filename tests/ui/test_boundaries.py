"""Import hygiene and the dashboard's choice of source.

The I/O and model layers never import Textual (a subprocess checks sys.modules),
and the dashboard never falls back to the demo on its own.
"""

from __future__ import annotations

import argparse
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import lvstui.backend
from lvstui.commands import dashboard

ROOT = Path(__file__).resolve().parents[2]


def _backend_modules() -> list[str]:
    return sorted(f"lvstui.backend.{m.name}" for m in pkgutil.iter_modules(lvstui.backend.__path__))


def test_non_ui_modules_do_not_import_textual() -> None:
    modules = ["lvstui.model", "lvstui.backend", *_backend_modules(), "lvstui.demo", "lvstui.rates",
               "lvstui.config", "lvstui.commands.snapshot", "lvstui.commands.dashboard", "lvstui.cli",
               "lvstui.ui.feed", "lvstui.ui.poller", "lvstui.ui.view", "lvstui.ui.columns"]
    code = (
        "import importlib, json, sys\n"
        f"mods = {modules!r}\n"
        "for m in mods: importlib.import_module(m)\n"
        "print(json.dumps(sorted(k for k in sys.modules if k == 'textual' or k.startswith('textual.'))))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []
    assert "lvstui.backend.host" in _backend_modules()


def test_the_ui_does_import_textual() -> None:
    """The check above can fail: importing the app does pull Textual in."""
    code = "import sys, lvstui.ui.app; print('textual' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.stdout.strip() == "True", result.stderr


def _args(**kw: object) -> argparse.Namespace:
    base = dict(readonly=False, demo=False, interval=1.0, theme=None, command=None)
    base.update(kw)
    return argparse.Namespace(**base)


def test_demo_flag_picks_the_demo() -> None:
    source, host = dashboard.choose_source(_args(demo=True))
    assert source.name == "demo" and host is None


def test_without_a_kernel_reader_the_dashboard_refuses_and_hints(monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "lvstui.backend.ipvs", None)  # import fails
    assert dashboard.run_dashboard(_args()) == 1
    err = capsys.readouterr().err
    assert "cannot read IPVS" in err and "lvstui --demo" in err


def test_unreadable_ipvs_exits_non_zero_never_the_demo() -> None:
    """On this host (no IPVS, see LAB.md) the real CLI refuses to start and points at --demo."""
    result = subprocess.run([sys.executable, "-m", "lvstui"], capture_output=True, text=True, cwd=ROOT,
                            timeout=120, stdin=subprocess.DEVNULL)
    if result.returncode == 0:
        pytest.skip("IPVS is readable here")
    assert result.returncode != 0
    assert "--demo" in result.stderr
    assert "DEMO" not in result.stdout


def test_bad_flags_and_config_are_one_line_errors(isolated_config: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert dashboard.run_dashboard(_args(demo=True, theme="no-such-theme")) == 2
    err = capsys.readouterr().err
    assert "unknown theme 'no-such-theme'" in err and "high-contrast" in err and err.count("\n") == 1
    assert dashboard.run_dashboard(_args(demo=True, interval=-1.0)) == 2
    assert "positive" in capsys.readouterr().err
    config = isolated_config / "lvstui" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text("theme = ")
    assert dashboard.run_dashboard(_args(demo=True)) == 2
    assert "not valid TOML" in capsys.readouterr().err
