"""The dashboard application: themes, the keymap and the config; it shows :class:`DashboardScreen`.

The screen (:mod:`lvstui.ui.dashboard`) holds the layout, the bindings and the tables; its
operations and VRRP controllers write through :class:`lvstui.ui.op_runner.OpRunner`.  What the
source can do is declared by it (:class:`lvstui.capabilities.Capabilities`), or given once by
whoever built it (``capabilities=``), never guessed here.
"""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from textual.app import App, SystemCommand
from textual.markup import escape
from textual.screen import Screen
from textual.theme import Theme

from lvstui.backend import SnapshotSource
from lvstui.capabilities import Capabilities
from lvstui.config import ConfigError, save_theme
from lvstui.ops.changes import Director
from lvstui.ops.engine import Operations
from lvstui.ui.actions import known_binding_ids
from lvstui.ui.dashboard import DashboardScreen
from lvstui.ui.messages import FrameReady
from lvstui.ui.op_runner import OpRunner, make_operations
from lvstui.ui.themes import DEFAULT_THEME, VARIABLE_DEFAULTS, load_themes, theme_dirs

if TYPE_CHECKING:  # lvstui.pair.both loads the SSH layer: only with a peer (commands.dashboard)
    from lvstui.pair.both import PeerLink

__all__ = ["DashboardApp", "DashboardScreen", "FrameReady", "apply_keymap"]

#: Python's default (700, 10, 10) makes a full collection every poll on a 50,000-server director:
#: 0.3-0.6 s with the GIL held, a frozen screen.  Snapshots are acyclic (refcounting frees them), so
#: young collections stay frequent and cheap (< 20 ms) and full ones effectively never run.
GC_THRESHOLDS = (5000, 10, 100_000)
#: the UI thread waits at most this long for the GIL while the poller thread decodes a big table
SWITCH_INTERVAL = 0.001


def apply_keymap(app: App[Any], keymap: Mapping[str, str]) -> None:
    """The config's [keys] on *app* (the dashboard's and the fleet's): binding ids lvstui does not
    know are named in one warning, with the known ones, and skipped; the others remap their keys."""
    known = known_binding_ids()
    unknown = sorted(set(keymap) - known)
    if unknown:
        app.notify(f"unknown key binding ids in the config: {', '.join(unknown)} "
                   f"(known: {', '.join(sorted(known))})", title="Keys", severity="warning", timeout=10,
                   markup=False)
    app.set_keymap({k: v for k, v in keymap.items() if k in known})


class DashboardApp(App[None]):
    CSS_PATH = "dashboard.tcss"
    TITLE = "lvstui"

    def __init__(self, source: SnapshotSource, *, readonly: bool = False, interval: float = 1.0,
                 theme: str | None = None, config_dir: Path | None = None, config_file: Path | None = None,
                 clock: Callable[[], float] = time.monotonic, autopoll: bool = True,
                 host_reader: object | None = None, tune_gc: bool = True,
                 keymap: dict[str, str] | None = None, director: Director | None = None,
                 operations: Operations | None = None, capabilities: Capabilities | None = None,
                 notices: tuple[str, ...] = (), peer: PeerLink | None = None) -> None:
        """``director``: what operations write to; None: the source itself when it declares it can be
        written (the demo), else no operations.  ``operations``: a ready Operations (tests,
        benchmarks).  ``capabilities``: what the source can do, as its builder decided (None: what
        the source's class declares).  ``notices``: what the command line has to say, shown once
        the screen is up (``--peer`` not read in the demo).  ``peer``: how the durable changes reach
        the pair's other director too (None: this director only)."""
        super().__init__()
        self._notices = notices
        self._user_keymap = dict(keymap or {})
        self._tune_gc = tune_gc
        self._gc_saved: tuple[int, int, int] | None = None
        self._switch_saved = 0.005
        self.source = source
        self.capabilities = capabilities if capabilities is not None else source.capabilities
        self.readonly = readonly
        self.config_file = config_file
        self.config_dir = config_dir
        self._wanted_theme = theme
        self._theme_names: list[str] = []
        self._remember_theme = False
        self._startup_theme = ""
        self._theme_switched = False
        if operations is None:
            if director is None and self.capabilities.write:
                director = cast(Director, source)  # declared: the demo is its own, in-memory director
            if director is not None:
                operations = make_operations(director, readonly=readonly, demo=self.capabilities.demo)
        self.dashboard = DashboardScreen(
            source, self.capabilities, runner=OpRunner(operations, peer=peer) if operations is not None else None,
            readonly=readonly, interval=interval, clock=clock, autopoll=autopoll, host_reader=host_reader,
            keys_for=self.keys_for, next_theme=self.next_theme)

    def get_default_screen(self) -> Screen[Any]:
        return self.dashboard  # the base of the stack: modals (confirmations, forms, help) go on top

    # --- theme ------------------------------------------------------------------------

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dict(VARIABLE_DEFAULTS)

    def _setup_themes(self) -> None:
        themes, errors = load_themes(theme_dirs(self.config_dir))
        for theme in themes:
            self.register_theme(theme)
        self._theme_names = [t.name for t in themes]
        if errors:
            self.notify("\n".join(errors), title="Themes skipped", severity="warning", timeout=10, markup=False)
        wanted = self._wanted_theme or DEFAULT_THEME
        if wanted not in self.available_themes:
            self.notify(f"unknown theme {wanted!r}; using {DEFAULT_THEME}", severity="warning", markup=False)
            wanted = DEFAULT_THEME if DEFAULT_THEME in self.available_themes else "textual-dark"
        self.theme = wanted
        self._startup_theme = wanted
        self._remember_theme = True
        self.theme_changed_signal.subscribe(self, self._theme_changed)

    def _theme_changed(self, theme: Theme) -> None:
        if not self._remember_theme:
            return
        if theme.name == self._startup_theme and not self._theme_switched:
            return  # applying the theme we started with (e.g. --theme) is not a choice to remember
        self._theme_switched = True
        try:
            save_theme(theme.name, self.config_file)
        except ConfigError as exc:
            self.notify(str(exc), title="Theme not remembered", severity="warning", markup=False)

    def next_theme(self) -> None:
        names = self._theme_names or [DEFAULT_THEME]
        index = (names.index(self.theme) + 1) % len(names) if self.theme in names else 0
        self.theme = names[index]
        self.notify(f"theme: {self.theme}", timeout=2, markup=False)

    # --- keys -------------------------------------------------------------------------

    def _setup_keymap(self) -> None:
        apply_keymap(self, self._user_keymap)

    def keys_for(self, binding_id: str, default: str) -> str:
        """The keys bound to ``binding_id`` after the user's keymap."""
        return self._keymap.get(binding_id, default)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if screen is self.dashboard:  # a modal on top owns the keys: the dashboard's actions wait
            yield from self.dashboard.palette_commands()
        for name in self._theme_names:
            yield SystemCommand(escape(f"Theme: {name}"), "switch theme (remembered)",
                                partial(setattr, self, "theme", name), discover=False)

    # --- process tuning -----------------------------------------------------------------

    def on_mount(self) -> None:
        if self._tune_gc:
            self._gc_saved = gc.get_threshold()
            gc.freeze()  # what exists at start-up (modules, widgets) is never scanned again
            gc.set_threshold(*GC_THRESHOLDS)
            self._switch_saved = sys.getswitchinterval()
            sys.setswitchinterval(SWITCH_INTERVAL)
        self._setup_themes()
        self._setup_keymap()
        for notice in self._notices:
            self.notify(notice, severity="warning", timeout=8, markup=False)

    def on_unmount(self) -> None:
        self.dashboard.poller.stop()
        if self._gc_saved is not None:
            gc.set_threshold(*self._gc_saved)
            gc.unfreeze()
            sys.setswitchinterval(self._switch_saved)
            self._gc_saved = None
