"""A setup plan's preview as Rich text: the wizard screens and `lvstui setup` on a terminal.

(setup/ stays free of Rich: its plain-text rendering is setup/render.py.)  Every string here comes
from a host (files, command lines) or the operator: Rich's Text keeps ``[bold]`` as text, and
control characters are shown as ``\\xNN`` so a remote file cannot drive the terminal.
"""

from __future__ import annotations

from rich.text import Text

from lvstui.setup.plan import PlanPreview, Status
from lvstui.setup.render import summary
from lvstui.ui.plain import visible

__all__ = ["render_rich"]


def render_rich(preview: PlanPreview) -> Text:
    """The preview in colour (the wizard screens and the CLI on a terminal)."""
    out = Text()
    out.append(visible(summary(preview)) + "\n", style="bold")
    style = {Status.CHANGE: "yellow", Status.NO_CHANGE: "green", Status.VERIFY: "cyan"}
    for step in preview.steps:
        out.append(f"  {step.index + 1:2}. ")
        out.append(f"{step.status.value:<9} ", style=style.get(step.status, ""))
        out.append(visible(step.title + (f" [{step.detail}]" if step.detail and step.status is Status.CHANGE
                                         else "")))
        out.append("\n")
        for c in step.commands:
            out.append(f"        $ {visible(c)}\n", style="dim")
        for d in step.diff.splitlines():
            colour = ("bold" if d.startswith(("---", "+++")) else "green" if d.startswith("+")
                      else "red" if d.startswith("-") else "cyan" if d.startswith("@@") else "")
            out.append(f"        {visible(d)}\n", style=colour)
    return out
