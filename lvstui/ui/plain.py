"""Strings from the outside world made safe to draw: text, never markup, never terminal control.

Textual's ``Content(text)`` already keeps ``[bold]`` or ``[2001:db8::1]:80`` as text; what it
cannot keep is a control character (an escape, a carriage return, a bell from a remote host's
output or a keepalived name), which would move the cursor or recolour the terminal.  Those are
shown as ``\\xNN`` escapes, so the operator sees what the string holds.
"""

from __future__ import annotations

from lvstui.safeio import escape_control

__all__ = ["visible"]


def visible(text: str, *, newlines: bool = False) -> str:
    """``text`` with control characters as ``\\xNN`` (with ``newlines``, line breaks kept; tabs always)."""
    return escape_control(text, newlines=newlines)
