"""lvstui.setup never imports Textual; the setup verb's module stays light (no paramiko, no rich)."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import lvstui.setup

ROOT = Path(__file__).resolve().parents[2]


def loaded_after(modules: list[str]) -> set[str]:
    code = ("import importlib, json, sys\n"
            f"for m in {modules!r}: importlib.import_module(m)\n"
            "print(json.dumps(sorted(k.split('.')[0] for k in sys.modules)))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout))


def test_setup_layer_has_no_textual() -> None:
    modules = [f"lvstui.setup.{m.name}" for m in pkgutil.iter_modules(lvstui.setup.__path__)]
    assert {"lvstui.setup.ssh", "lvstui.setup.plan", "lvstui.setup.session"} <= set(modules)
    loaded = loaded_after(modules)
    assert "paramiko" in loaded  # the check can see imports
    assert "textual" not in loaded


def test_setup_verb_registers_without_heavy_imports() -> None:
    loaded = loaded_after(["lvstui.commands.setup"])
    assert not {"paramiko", "textual", "rich"} & loaded


def test_wizard_screens_do_import_textual() -> None:
    assert "textual" in loaded_after(["lvstui.ui.setup_app"])
