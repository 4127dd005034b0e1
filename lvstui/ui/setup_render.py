"""A setup plan's preview as Rich text: the wizard screens and `lvstui setup` on a terminal.

(setup/ stays free of Rich: its plain-text rendering is setup/render.py.)
"""

from __future__ import annotations

from rich.text import Text

from lvstui.safeio import escape_control
from lvstui.setup.plan import PlanPreview, Status
from lvstui.setup.render import diff_lines, summary

__all__ = ["render_rich"]


def render_rich(preview: PlanPreview) -> Text:
    """The preview in colour (the wizard screens and the CLI on a terminal)."""
    out = Text()
    out.append(escape_control(summary(preview), newlines=False) + "\n", style="bold")
    style = {Status.CHANGE: "yellow", Status.NO_CHANGE: "green", Status.VERIFY: "cyan"}
    for step in preview.steps:
        out.append(f"  {step.index + 1:2}. ")
        out.append(f"{step.status.value:<9} ", style=style.get(step.status, ""))
        title = step.title + (f" [{step.detail}]" if step.detail and step.status is Status.CHANGE else "")
        out.append(escape_control(title, newlines=False))
        out.append("\n")
        for c in step.commands:
            out.append(f"        $ {escape_control(c, newlines=False)}\n", style="dim")
        for d in diff_lines(step.diff):
            colour = ("bold" if d.startswith(("---", "+++")) else "green" if d.startswith("+")
                      else "red" if d.startswith("-") else "cyan" if d.startswith("@@") else "")
            out.append(f"        {d}\n", style=colour)
    return out
