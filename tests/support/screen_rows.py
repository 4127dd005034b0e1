"""The dashboard's tables read back from its text (a tmux pane, a browser page's terminal)."""

from __future__ import annotations

__all__ = ["rows"]


def rows(screen: str, prefix: str) -> dict[str, dict[str, str]]:
    """Rows of the dashboard's tables whose id starts with ``prefix``: {id: {column: cell}}.

    Columns come from the table's header line (which columns show depends on the width);
    the State cell is two words (glyph and name)."""
    found: dict[str, dict[str, str]] = {}
    header: list[str] = []
    for line in screen.splitlines():
        words = line.split("▏")[0].split()
        while words and len(words[0]) == 1:  # row markers: changed, cursor, tagged
            words = words[1:]
        if len(words) > 4 and words[0] in ("Virtual", "Real") and "Active" in {w.strip("▲▼") for w in words}:
            header = []
            for w in (w.strip("▲▼") for w in words[2:]):  # the sort mark: before a number's label, after a text's
                if w == "B/s" and header and header[-1] in ("In", "Out"):
                    header[-1] += " B/s"  # one column, two words in its title
                else:
                    header.append(w)
            continue
        if not words or not header or not words[0].startswith(prefix):
            continue
        cells, values = {}, words[1:]
        for name in header:
            take = 2 if name == "State" else 1
            cells[name], values = " ".join(values[:take]), values[take:]
        found[words[0]] = cells
    return found
