"""Text for numbers, states and ages, shared by every widget.  No Textual import needed here."""

from __future__ import annotations

#: state words always carry a symbol, so no theme depends on colour alone
STATE_TEXT = {
    "up": "● up",
    "drained": "◐ drained",
    "down": "✖ DOWN",
    "inhibited": "▽ inhibited",
    "gone": "⌫ gone",
}


def si(value: float) -> str:
    """Short human number: 950, 1.2k, 12k, 3.4M, 1.2G."""
    value = float(value)
    sign = "-" if value < 0 else ""
    value = abs(value)
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= size:
            scaled = value / size
            text = f"{scaled:.1f}" if scaled < 10 else f"{scaled:.0f}"
            return f"{sign}{text}{unit}"
    return f"{sign}{value:.0f}"


def bytes_h(value: float) -> str:
    """Bytes, binary units: 512B, 1.5K, 20M, 3.2G."""
    value = float(value)
    for unit, size in (("T", 2.0**40), ("G", 2.0**30), ("M", 2.0**20), ("K", 2.0**10)):
        if value >= size:
            scaled = value / size
            text = f"{scaled:.1f}" if scaled < 10 else f"{scaled:.0f}"
            return f"{text}{unit}"
    return f"{value:.0f}B"


def age(seconds: float) -> str:
    """``0.4s``, ``12s``, ``3m05s``, ``2h10m``."""
    if seconds < 0:
        seconds = 0.0
    if seconds < 10:
        return f"{seconds:.1f}s"
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        minutes, secs = divmod(int(seconds), 60)
        return f"{minutes}m{secs:02d}s"
    hours, rest = divmod(int(seconds), 3600)
    return f"{hours}h{rest // 60:02d}m"


def state_text(state: str) -> str:
    return STATE_TEXT.get(state, state)


_BLOCKS = " ▁▂▃▄▅▆▇█"


def bar(fraction: float, width: int) -> str:
    """A horizontal bar of ``width`` cells, eighths resolution."""
    fraction = min(max(fraction, 0.0), 1.0)
    eighths = round(fraction * width * 8)
    full, part = divmod(eighths, 8)
    text = "█" * full + ("▏▎▍▌▋▊▉"[part - 1] if part else "")
    return text.ljust(width)
