"""Themes are data: TOML files in ``themes/`` (and the user's ``~/.config/lvstui/themes``).

Each file is checked when loaded: known keys only, every colour parsed.  A bad
file is skipped and every problem is returned, so the app can report them all
in one notification.  Domain colours (real server up, down, drained...) are
theme variables with defaults, so Textual's own themes work too.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from pathlib import Path

from textual.color import Color, ColorParseError
from textual.theme import Theme

__all__ = ["DEFAULT_THEME", "VARIABLE_DEFAULTS", "load_theme_file", "load_themes", "theme_dirs"]

DEFAULT_THEME = "dark"

VARIABLE_DEFAULTS: dict[str, str] = {
    "rs-up": "#5FB85F",
    "rs-down": "#E5534B",
    "rs-drained": "#D4A72C",
    "rs-inhibited": "#B07CE8",
    "rs-gone": "#808080",
    "rs-changed": "#3C4F7A",
}

_COLOURS = ("primary", "secondary", "warning", "error", "success", "accent", "foreground", "background",
            "surface", "panel", "boost")
_OTHER = {"name", "dark", "luminosity_spread", "text_alpha", "variables"}


def theme_dirs(config_dir: Path | None = None) -> list[Path]:
    bundled = Path(__file__).resolve().parents[2] / "themes"
    dirs = [bundled]
    if config_dir is not None:
        dirs.append(config_dir / "themes")
    return dirs


def load_theme_file(path: Path) -> Theme:
    """Read and check one theme file; raises ValueError with every problem in one message."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path.name}: cannot read ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path.name}: not valid TOML ({exc})") from None
    problems: list[str] = []
    unknown = sorted(set(data) - set(_COLOURS) - _OTHER)
    if unknown:
        problems.append(f"unknown keys {', '.join(unknown)}")
    name = data.get("name", path.stem)
    if not isinstance(name, str) or not name.strip():
        problems.append("name must be a non-empty string")
        name = path.stem
    if "primary" not in data:
        problems.append("primary colour missing")
    colours: dict[str, str] = {}
    for key in _COLOURS:
        if key in data:
            value = data[key]
            try:
                Color.parse(value)
                colours[key] = value
            except (ColorParseError, TypeError, ValueError):
                problems.append(f"{key} = {value!r} is not a colour")
    dark = data.get("dark", True)
    if not isinstance(dark, bool):
        problems.append("dark must be true or false")
        dark = True
    variables = data.get("variables", {})
    if not isinstance(variables, dict):
        problems.append("[variables] must be a table")
        variables = {}
    for key, value in variables.items():
        try:
            Color.parse(value)
        except (ColorParseError, TypeError, ValueError):
            problems.append(f"variables.{key} = {value!r} is not a colour")
    extras: dict[str, float] = {}
    for key in ("luminosity_spread", "text_alpha"):
        if key in data:
            value = data[key]
            if isinstance(value, bool) or not isinstance(value, int | float):
                problems.append(f"{key} must be a number")
            else:
                extras[key] = float(value)
    if problems:
        raise ValueError(f"{path.name}: " + "; ".join(problems))
    return Theme(name=name, dark=dark, variables={**VARIABLE_DEFAULTS, **variables},
                 **colours, **extras)  # type: ignore[arg-type]


def load_themes(dirs: Iterable[Path]) -> tuple[list[Theme], list[str]]:
    """Every valid theme found, and one message per file that was skipped."""
    themes: dict[str, Theme] = {}
    errors: list[str] = []
    for directory in dirs:
        if not directory.is_dir():
            continue
        for path in sorted(directory.glob("*.toml")):
            try:
                theme = load_theme_file(path)
            except ValueError as exc:
                errors.append(str(exc))
                continue
            themes[theme.name] = theme
    return list(themes.values()), errors
