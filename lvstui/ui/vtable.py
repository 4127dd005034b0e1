"""A virtual table: holds any number of rows, renders only the ones on screen.

Textual's DataTable builds a renderable per cell when rows are added (5 s for
50,000 rows here); this widget keeps a list of row keys and a mapping of key to
model object, and formats a row's cells only when that row is painted.
Replacing all rows is therefore a reference swap plus a cursor look-up, and
the operator's cursor (by key) and scroll position survive every refresh.

Columns give way by priority when the terminal is narrow, and the flexible
(id) column takes the room that is left.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from lvstui.ui.columns import Column

__all__ = ["VirtualTable", "fit", "header_cell", "layout_columns"]

GUTTER = 2  # marker cell + space


SORT_MARKS = {False: "▲", True: "▼"}


def layout_columns(columns: Sequence[Column], width: int, natural_flex: int) -> list[tuple[Column, int]]:
    """Pick the columns that fit ``width`` (dropping the highest priority numbers first) and size them.

    Every column is at least one cell wider than its label, so the sort marker has a cell of its
    own and the label stays over its numbers.  The flexible (id) column asks for the longest id
    (an IPv6 one too): columns of priority 2 and above give way to it; if the id still does not
    fit beside the essential columns (0 and 1), it is shortened in the middle, down to its
    minimum width, and only then do priority-1 columns go.
    """
    room = width - GUTTER

    def fixed(column: Column) -> int:
        return max(column.width, len(column.label) + 1)

    def natural(column: Column) -> int:
        return max(fixed(column), natural_flex) if column.flex else fixed(column)

    def needed(cols: list[Column], size: Callable[[Column], int]) -> int:
        return sum(size(c) for c in cols) + max(len(cols) - 1, 0)

    def drop(cols: list[Column], lowest: int, size: Callable[[Column], int]) -> None:
        while len(cols) > 1 and needed(cols, size) > room:
            victims = [c for c in cols if c.priority >= lowest]
            if not victims:
                return
            cols.remove(max(victims, key=lambda c: (c.priority, cols.index(c))))

    chosen = list(columns)
    drop(chosen, 2, natural)  # the id whole before the extras
    drop(chosen, 1, fixed)  # the essentials before the whole id
    others = sum(fixed(c) for c in chosen if not c.flex) + max(len(chosen) - 1, 0)
    result = []
    for column in chosen:
        size = natural(column)
        if column.flex:
            size = max(min(size, room - others), fixed(column))
        result.append((column, size))
    return result


def fit(text: str, width: int, align: str, *, middle: bool = False) -> str:
    """``text`` in exactly ``width`` cells: padded, or cut with "…" (in the middle for ids, whose
    port and protocol are at the two ends)."""
    if len(text) > width:
        if width <= 0:
            return ""
        if middle and width >= 5:
            head = (width - 1) // 2
            return text[:head] + "…" + text[len(text) - (width - 1 - head):]
        return text[: width - 1] + "…"
    return text.rjust(width) if align == "right" else text.ljust(width)


def header_cell(column: Column, size: int, mark: str) -> str:
    """A column's label placed as its numbers are, the sort mark in the cell the label leaves free
    (before a right-aligned label, after a left-aligned one), so sorting moves no label."""
    label = column.label if len(column.label) < size else fit(column.label, max(size - 1, 0), "left")
    if column.align == "right":
        return fit(mark + label, size, "right")
    return fit(label + mark, size, "left")


class VirtualTable(ScrollView, can_focus=True):
    """Rows are ``keys`` (in display order) and ``items[key]``; cells come from ``cell(item, column)``."""

    DEFAULT_CSS = """
    VirtualTable { overflow-x: hidden; overflow-y: auto; height: 1fr; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor_up", "Up", show=False, id="table.up"),
        Binding("down,j", "cursor_down", "Down", show=False, id="table.down"),
        Binding("pageup,ctrl+b", "page_up", "Page up", show=False, id="table.page_up"),
        Binding("pagedown,ctrl+f", "page_down", "Page down", show=False, id="table.page_down"),
        Binding("home,g", "first", "First row", show=False, id="table.first"),
        Binding("end,G", "last", "Last row", show=False, id="table.last"),
        Binding("enter", "select", "Open", show=False, id="table.select"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "vtable--header", "vtable--cursor", "vtable--cursor-blur", "vtable--down", "vtable--drained",
        "vtable--inhibited", "vtable--gone", "vtable--changed", "vtable--stale", "vtable--empty", "vtable--tagged",
    }

    class RowHighlighted(Message):
        def __init__(self, table: VirtualTable, key: str | None) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> VirtualTable:
            return self.table

    class RowSelected(RowHighlighted):
        pass

    class HeaderClicked(Message):
        def __init__(self, table: VirtualTable, column: str) -> None:
            super().__init__()
            self.table = table
            self.column = column

        @property
        def control(self) -> VirtualTable:
            return self.table

    def __init__(self, columns: Sequence[Column], cell: Callable[[Any, str], str],
                 row_class: Callable[[str, Any], Sequence[str]] | None = None, *,
                 marker: Callable[[str, Any], str] | None = None,
                 empty_text: str = "no rows", name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.columns = tuple(columns)
        self._cell = cell
        self._row_class = row_class
        self._marker = marker
        self.empty_text = empty_text
        self.keys: Sequence[str] = ()
        self.items: Mapping[str, Any] = {}
        self.cursor_index = 0
        self.sort_column: str | None = None
        self.sort_reverse = False
        self.stale = False
        self._natural_flex = 0
        self._columns_cache: tuple[tuple[int, int], list[tuple[Column, int]]] | None = None

    # --- data ------------------------------------------------------------------------

    @property
    def cursor_key(self) -> str | None:
        if 0 <= self.cursor_index < len(self.keys):
            return self.keys[self.cursor_index]
        return None

    @property
    def cursor_item(self) -> Any:
        key = self.cursor_key
        return None if key is None else self.items.get(key)

    def set_rows(self, keys: Sequence[str], items: Mapping[str, Any], *, follow_key: str | None = None) -> None:
        """Replace the rows; the cursor stays on its key (or ``follow_key``), else on its index."""
        old_key = follow_key if follow_key is not None else self.cursor_key
        self.keys = keys
        self.items = items
        index = self.cursor_index
        if old_key is not None:
            try:
                index = keys.index(old_key)
            except ValueError:
                pass
        self.cursor_index = min(max(index, 0), max(len(keys) - 1, 0))
        self._natural_flex = max(map(len, keys), default=0) if len(keys) < 200_000 else 40
        self._columns_cache = None
        self.virtual_size = Size(self.size.width, len(keys) + 1)
        self.refresh()
        if self.cursor_key != old_key:
            self.post_message(self.RowHighlighted(self, self.cursor_key))

    def set_columns(self, columns: Sequence[Column]) -> None:
        """Other columns (or other priorities) for the rows shown now; a no-op when unchanged."""
        columns = tuple(columns)
        if columns != self.columns:
            self.columns = columns
            self._columns_cache = None
            self.refresh()

    def set_sort(self, column: str | None, reverse: bool) -> None:
        self.sort_column, self.sort_reverse = column, reverse
        self.refresh()

    def visible_columns(self) -> list[tuple[Column, int]]:
        width = self.scrollable_content_region.width or self.size.width
        cache_key = (width, self._natural_flex)
        if self._columns_cache is None or self._columns_cache[0] != cache_key:
            self._columns_cache = (cache_key, layout_columns(self.columns, width, self._natural_flex))
        return self._columns_cache[1]

    def visible_keys(self) -> list[str]:
        top = round(self.scroll_y)
        return list(self.keys[top: top + max(self.size.height - 1, 0)])

    def row_text(self, key: str) -> str:
        """The row as painted (without styles): handy for tests and the benchmark."""
        item = self.items[key]
        cells = [fit(self._cell(item, col.key), size, col.align, middle=col.flex)
                 for col, size in self.visible_columns()]
        marker = self._marker(key, item) if self._marker else " "
        return f"{marker} " + " ".join(cells)

    # --- rendering -------------------------------------------------------------------

    def on_resize(self) -> None:
        self._columns_cache = None
        self.virtual_size = Size(self.size.width, len(self.keys) + 1)

    def _on_focus(self, event: events.Focus) -> None:
        self.refresh()

    def _on_blur(self, event: events.Blur) -> None:
        self.refresh()

    _FULL_STYLES = frozenset({"vtable--header", "vtable--cursor", "vtable--cursor-blur", "vtable--empty"})

    def _style(self, name: str) -> Style:
        # row states are partial (only what the class declares), so "changed" (a background) keeps
        # "down"'s colour; the cursor and header are whole styles (their colours may be translucent)
        return self.get_component_rich_style(name, partial=name not in self._FULL_STYLES)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width or self.size.width
        base = self.rich_style
        if y == 0:
            return self._header(width, base)
        index = round(self.scroll_y) + y - 1
        if not self.keys:
            if y == 1:
                text = fit(f"  {self.empty_text}", width, "left")
                return Strip([Segment(text, base + self._style("vtable--empty"))], width)
            return Strip.blank(width, base)
        if index >= len(self.keys):
            return Strip.blank(width, base)
        key = self.keys[index]
        style = base
        names = self._row_class(key, self.items[key]) if self._row_class else ()
        for name in names:
            style += self._style(name)
        if self.stale:
            style += self._style("vtable--stale")
        if index == self.cursor_index:
            style += self._style("vtable--cursor" if self.has_focus else "vtable--cursor-blur")
        text = fit(self.row_text(key), width, "left")
        return Strip([Segment(text, style)], width)

    def _header(self, width: int, base: Style) -> Strip:
        parts = []
        for column, size in self.visible_columns():
            mark = SORT_MARKS[self.sort_reverse] if column.key == self.sort_column else ""
            parts.append(header_cell(column, size, mark))
        text = fit("  " + " ".join(parts), width, "left")
        return Strip([Segment(text, base + self._style("vtable--header"))], width)

    # --- movement --------------------------------------------------------------------

    def _page(self) -> int:
        return max(self.size.height - 2, 1)

    def move_cursor(self, index: int) -> None:
        if not self.keys:
            return
        index = min(max(index, 0), len(self.keys) - 1)
        if index == self.cursor_index:
            return
        self.cursor_index = index
        visible = max(self.size.height - 1, 1)
        top = round(self.scroll_y)
        if index < top:
            self.scroll_to(y=index, animate=False, immediate=True)
        elif index >= top + visible:
            self.scroll_to(y=index - visible + 1, animate=False, immediate=True)
        self.refresh()
        self.post_message(self.RowHighlighted(self, self.cursor_key))

    def move_to_key(self, key: str) -> bool:
        try:
            index = list(self.keys).index(key) if not isinstance(self.keys, list) else self.keys.index(key)
        except ValueError:
            return False
        self.move_cursor(index)
        return True

    def action_cursor_up(self) -> None:
        self.move_cursor(self.cursor_index - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(self.cursor_index + 1)

    def action_page_up(self) -> None:
        self.move_cursor(self.cursor_index - self._page())

    def action_page_down(self) -> None:
        self.move_cursor(self.cursor_index + self._page())

    def action_first(self) -> None:
        self.move_cursor(0)

    def action_last(self) -> None:
        self.move_cursor(len(self.keys) - 1)

    def action_select(self) -> None:
        if self.cursor_key is not None:
            self.post_message(self.RowSelected(self, self.cursor_key))

    async def _on_click(self, event: events.Click) -> None:
        if event.y == 0:
            x = GUTTER
            for column, size in self.visible_columns():
                if x <= event.x < x + size + 1:
                    self.post_message(self.HeaderClicked(self, column.key))
                    break
                x += size + 1
            return
        index = round(self.scroll_y) + event.y - 1
        if 0 <= index < len(self.keys):
            self.move_cursor(index)
            if event.chain >= 2:
                self.action_select()
