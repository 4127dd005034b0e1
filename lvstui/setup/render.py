"""Setup plan previews and results as plain text (CLI without colour, logs); in colour: ui/setup_render.py."""

from __future__ import annotations

from lvstui.safeio import escape_control
from lvstui.setup.plan import ApplyResult, PlanPreview, Status

__all__ = ["diff_lines", "render_plain", "render_result", "summary"]

_MARK = {Status.CHANGE: "~", Status.NO_CHANGE: "=", Status.VERIFY: "?", Status.CHANGED: "+",
         Status.VERIFIED: "ok", Status.FAILED: "FAILED", Status.UNDONE: "undone", Status.SKIPPED: "-"}


def summary(preview: PlanPreview) -> str:
    n = preview.changes
    what = "nothing to change" if n == 0 else f"{n} change{'s' if n != 1 else ''}"
    return f"{preview.host}: plan {preview.name} ({what})"


def diff_lines(diff: str) -> list[str]:
    """A diff's lines as shown: split on newlines only (not on the CR, FF or U+2028 a remote
    file may hold), each control character escaped, so no line can hide or rewrite another."""
    return [escape_control(line) for line in diff.rstrip("\n").split("\n")] if diff else []


def render_plain(preview: PlanPreview) -> str:
    lines = [summary(preview)]
    for step in preview.steps:
        detail = f" [{step.detail}]" if step.detail and step.status is Status.CHANGE else ""
        lines.append(escape_control(f"  {step.index + 1:2}. {step.status.value:<9} {step.title}{detail}"))
        lines.extend(escape_control(f"        $ {c}") for c in step.commands)
        lines.extend(f"        {d}" for d in diff_lines(step.diff))
    return "\n".join(lines)


def render_result(result: ApplyResult, undo_hint: str = "--undo reverts them") -> str:
    """*undo_hint*: how this interface undoes kept changes (the CLI's flag, the screens' key)."""
    lines = []
    for r in result.reports:
        lines.append(escape_control(f"  {_MARK[r.status]:>6} {r.title}" + (f": {r.message}" if r.message else ""),
                                    newlines=False))
        if r.status is Status.FAILED and r.output:
            lines.extend(f"         | {o}" for o in diff_lines(r.output)[-20:])
    undone = sum(1 for r in result.reports if r.status is Status.UNDONE)
    if not result.reports:
        head = f"{result.host}: nothing to do"
    elif result.ok and undone and not result.changed:
        head = f"{result.host}: undone ({undone} step{'s' if undone != 1 else ''})"
    elif result.ok:
        head = f"{result.host}: done ({result.changed} changed)"
    else:
        failure = result.failure
        head = f"{result.host}: FAILED at {escape_control(failure.title, newlines=False) if failure else '?'}"
        if result.rolled_back:
            head += "; the changes of this run were undone"
        elif result.verify_failed:
            head += f" (verification); the changes are kept, {undo_hint}"
    return "\n".join([head, *lines])
