"""Text from a host (a file's content, a command's output) is shown with its control characters
escaped: a compromised host cannot hide or rewrite lines of a wizard's preview."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from rich.console import Console

from lvstui.safeio import escape_control
from lvstui.setup.plan import SetupPlan
from lvstui.setup.render import render_plain, render_result
from lvstui.setup.runner import LocalRunner, Script
from lvstui.setup.steps import CommandStep, FileStep
from lvstui.ui.setup_render import render_rich

# cursor up + erase line, carriage return, backspaces, a bidi override, a line separator
HOSTILE = ["\x1b[1A\x1b[2K", "\r", "\x08" * 12, "\u202e", "\u2028", "\x1b]0;title\x07", "\x9b2J", "\x00"]


@pytest.mark.parametrize("seq", HOSTILE, ids=[repr(s) for s in HOSTILE])
def test_preview_of_a_hostile_remote_file_shows_every_line(tmp_path: Path, seq: str) -> None:
    conf = tmp_path / "f.conf"
    conf.write_text(f"keep = 1\nbackdoor = 1{seq}keep = 2\n")
    plan = SetupPlan("unit", [FileStep(str(conf), "keep = 1\nkeep = 2\n")], state_dir=str(tmp_path / "s"))
    preview = plan.preview(LocalRunner("h1"))
    shown = render_plain(preview)
    console = Console(record=True, width=200, force_terminal=True, color_system=None)
    console.print(render_rich(preview))
    rich_text = render_rich(preview).plain
    for out in (shown, rich_text):
        assert "backdoor = 1" in out
        assert not [ch for ch in out if ch != "\n" and unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")], out
        assert escape_control(seq, newlines=False) in out
    # each diff line is one shown line: nothing can pull the next line over it
    assert next(line for line in shown.split("\n") if "backdoor" in line).startswith("        -backdoor = 1\\")


def test_failed_command_output_is_escaped_in_results(tmp_path: Path) -> None:
    step = CommandStep("noisy", Script("printf 'ok\\033[2K\\rFINE\\n' >&2; exit 3"))
    result = SetupPlan("unit", [step], state_dir=str(tmp_path)).apply(LocalRunner("h1"))
    text = render_result(result)
    assert "\x1b" not in text and "\r" not in text
    assert "ok\\x1b[2K\\x0dFINE" in text


def test_escape_control_keeps_printable_text() -> None:
    text = "naïve 日本 ☃ \t tab, [bold]markup[/] \\x1b literal"
    assert escape_control(text) == text
    assert escape_control("a\nb", newlines=False) == "a\\x0ab"
    assert escape_control(escape_control("\x1b\u202e")) == "\\x1b\\u202e"
