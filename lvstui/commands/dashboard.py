"""``lvstui`` with no verb: the live dashboard.  (Not a verb: cli.py calls run_dashboard.)

The source is the kernel composed with keepalived's view
(:func:`lvstui.backend.director.make_source`) unless ``--demo`` is given; the demo is never a
fallback.  When IPVS cannot be read, the error and a hint are printed and the
exit status is non-zero.

Operations (drain, weights...) write through a kernel client of their own: the poller's
client (its netlink socket) belongs to the poller thread, and IpvsClient is not thread-safe.
The demo source is its own (in-memory) director.  In --readonly no writing client is opened.

With a peer (``--peer``, or ``[peer]`` in config.toml), the source is wrapped in
:class:`lvstui.peer.source.WithPeer`: the peer is read by a background thread of its own
(:class:`lvstui.peer.reader.PeerReader`), and each poll takes its last view without waiting;
the durable changes are made on both directors (:mod:`lvstui.pair.both`, as the CLI's verbs).
The demo simulates one director, not a pair: there, a peer is not read (``--peer`` says so).
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC
from typing import Any

__all__ = ["choose_source", "run_dashboard"]

HINT = "try `lvstui --demo` for a simulated director, or `lvstui lab` for a real IPVS kernel in a lab"


class SourceUnavailable(Exception):
    pass


def choose_source(args: argparse.Namespace) -> tuple[Any, Any | None]:
    """(source, host_reader); raises SourceUnavailable with the reason."""
    if getattr(args, "demo", False):
        from datetime import datetime

        from lvstui.demo import DemoSource

        # live demo: timestamps from now (tests and screenshots keep the fixed DEMO_EPOCH)
        return DemoSource(epoch=datetime.now(UTC)), None
    from lvstui.backend import BackendError

    try:
        from lvstui.backend.director import make_source

        source = make_source(args)
    except ImportError as exc:
        raise SourceUnavailable(f"the kernel reader is not available in this build ({exc})") from None
    except BackendError as exc:
        raise SourceUnavailable(str(exc)) from None
    try:
        source.read()  # fail here, before the screen opens, if IPVS is not readable
    except BackendError as exc:
        source.close()
        raise SourceUnavailable(str(exc)) from None
    from lvstui.backend.host import HostReader

    return source, HostReader()


DEMO_PEER = "--peer is not read in --demo (the demo simulates one director, not a pair)"


def with_peer(args: argparse.Namespace, source: Any, interval: float) -> Any:
    """*source* with the pair's other director beside it, where one is named (never in the demo:
    there a --peer given is said on stderr).  Raises CliError for a malformed --peer or config
    (after closing *source*)."""
    return with_peer_link(args, source, interval)[0]


def with_peer_link(args: argparse.Namespace, source: Any, interval: float) -> tuple[Any, Any | None]:
    """:func:`with_peer`, and how the dashboard's operations reach the peer's lvstui
    (:class:`lvstui.pair.both.PeerLink`, the reader's SSH options; None without a peer)."""
    if source.capabilities.demo:
        if peer_given(args):
            print(f"lvstui: {DEMO_PEER}", file=sys.stderr)
        return source, None
    from lvstui.commands.peer_args import peer_target, start_reader
    from lvstui.peer.source import WithPeer

    try:
        peer = peer_target(args)
    except BaseException:
        source.close()
        raise
    if peer is None:
        return source, None
    return WithPeer(source, start_reader(peer, interval)), peer.link()


def peer_given(args: argparse.Namespace) -> bool:
    """--peer given on the command line (not `none`)."""
    given = getattr(args, "peer", None)
    return given is not None and given.strip().lower() != "none"


def choose_director(args: argparse.Namespace, source: Any) -> Any | None:
    """What operations write to: the source itself when it declares so (the demo), or a kernel client
    of their own (None in --readonly)."""
    if getattr(args, "readonly", False):
        return None
    if source.capabilities.write:
        return source
    from lvstui.backend import BackendError
    from lvstui.backend.ipvs import IpvsClient

    try:
        return IpvsClient()
    except BackendError as exc:
        print(f"lvstui: operations unavailable: {exc}", file=sys.stderr)
        return None


def run_dashboard(args: argparse.Namespace) -> int:
    from lvstui.config import MAX_INTERVAL, ConfigError, config_path, load_config

    interval = float(getattr(args, "interval", 1.0))
    if not 0 < interval <= MAX_INTERVAL:  # also refuses nan, and inf (a never-refreshing dashboard)
        print(f"lvstui: --interval must be a positive number of seconds (at most {MAX_INTERVAL:g})",
              file=sys.stderr)
        return 2
    try:
        config = load_config()
    except ConfigError as exc:
        print(f"lvstui: {exc}", file=sys.stderr)
        return 2
    if interval == 1.0 and config.interval:
        interval = config.interval  # the flag's default; an explicit flag wins over the config
    flag_theme = getattr(args, "theme", None)
    theme = flag_theme if flag_theme is not None else config.theme
    if flag_theme is not None:  # also --theme '' (it fell through to the dashboard)
        from lvstui.ui.themes import load_themes, theme_dirs

        themes, _ = load_themes(theme_dirs(config_path().parent))
        from textual.theme import BUILTIN_THEMES

        names = sorted({t.name for t in themes} | set(BUILTIN_THEMES))
        if args.theme not in names:
            print(f"lvstui: unknown theme {args.theme!r} (choose from: {', '.join(names)})", file=sys.stderr)
            return 2
    try:
        source, host_reader = choose_source(args)
    except SourceUnavailable as exc:
        print(f"lvstui: cannot read IPVS: {exc}", file=sys.stderr)
        if "--demo" not in str(exc):
            print(f"lvstui: {HINT}", file=sys.stderr)
        return 1
    source, peer_link = with_peer_link(args, source, interval)
    import os

    from lvstui.ui.app import DashboardApp

    # what the source can do, decided once here: its class declares write/VRRP/demo; inside
    # `lvstui lab` the lab's control socket adds the lab panel (L, lvstui/ui/lab_panel.py)
    capabilities = source.capabilities.with_lab_control(os.environ.get("LVSTUI_LAB_CONTROL"))
    director = choose_director(args, source)
    app = DashboardApp(source, readonly=bool(getattr(args, "readonly", False)), interval=interval, theme=theme,
                       config_dir=config_path().parent, config_file=config_path(), host_reader=host_reader,
                       keymap=dict(config.keys), director=director, capabilities=capabilities, peer=peer_link,
                       notices=(DEMO_PEER,) if capabilities.demo and peer_given(args) else ())
    try:
        app.run()
    finally:
        for owned in dict.fromkeys((source, director)):
            close = getattr(owned, "close", None)
            if callable(close):
                close()
    return int(app.return_code or 0)
