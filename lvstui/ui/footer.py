"""The dashboard's footer, fitted to the terminal's width by priority.

Textual's Footer lays every shown key in one row and lets the last ones run under the
command-palette key docked at the right ("…e E▏^p palettee" at 80 columns).  This footer
keeps the keys in their binding order, which is their priority (``app_bindings`` puts help,
the row's operations and quit first), and leaves out the last ones that do not fit beside the
palette key, which always stays.  It composes again when the width changes.
"""

from __future__ import annotations

from collections.abc import Iterable

from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

__all__ = ["FittedFooter", "fit_keys", "key_width"]


def key_width(key_display: str, description: str) -> int:
    """Cells a compact footer key takes: key, space, description, and its right margin."""
    return len(key_display) + (1 + len(description) if description else 0) + 1


def fit_keys(widths: Iterable[int], room: int) -> int:
    """How many of the keys (in priority order, with these widths) fit in ``room`` cells."""
    used = count = 0
    for width in widths:
        if used + width > room:
            break
        used += width
        count += 1
    return count


class FittedFooter(Footer):
    """A compact Footer that shows the keys that fit, the first ones first, and the palette key."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(compact=True, id=id)
        self._composed_width = 0
        self.shown_actions: list[str] = []  # what the last compose kept (for tests)

    def compose(self) -> ComposeResult:
        widgets = list(super().compose())
        palette = [w for w in widgets if w.has_class("-command-palette")]
        keys = [w for w in widgets if w not in palette]
        width = self.size.width or self.app.size.width
        self._composed_width = width
        room = width - sum(self._width(w) for w in palette)
        kept = keys[: fit_keys((self._width(w) for w in keys), room)]
        self.shown_actions = [w.action for w in kept if isinstance(w, FooterKey)]
        yield from kept
        yield from palette

    @staticmethod
    def _width(widget: Widget) -> int:
        if isinstance(widget, FooterKey):
            extra = 1 if widget.has_class("-command-palette") else 0  # its border on the left
            return key_width(widget.key_display, widget.description) + extra
        return 0 if widget.has_class("-command-palette") else 10  # a group: a rough share

    def on_resize(self) -> None:
        if self.size.width != self._composed_width:
            self.refresh(recompose=True)
