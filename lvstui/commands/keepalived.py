"""``lvstui keepalived parse|check FILE``: read a keepalived configuration as keepalived does."""

# The imports inside the verbs are lazy for start-up speed only (see lvstui/commands/__init__.py):
# `lvstui VERB` loads what that one verb needs.
from __future__ import annotations

import argparse
import sys
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "keepalived",
        help="parse or check a keepalived configuration",
        description="Read keepalived.conf (and its includes) without changing it.",
    )
    verbs = p.add_subparsers(dest="keepalived_verb", metavar="ACTION", required=True)
    parse = verbs.add_parser(
        "parse", help="print virtual servers, real servers, checkers and VRRP instances",
        description="Print the structure keepalived would read: virtual servers with their real "
        "servers, weights and checkers; VRRP instances with state, priority, interface, "
        "virtual_router_id and VIPs. Where keepalived runs something else than the file says "
        "(lb_kind dr is NAT to it, a cleared state MASTER, a truncated auth_pass, an include "
        "matching no file...), that is what is printed, with a warning naming file:line.")
    parse.add_argument("file", metavar="FILE")
    parse.add_argument("--json", action="store_true", help="print JSON")
    parse.add_argument("--indent", type=int, default=2, metavar="N", help="indent JSON by N (default 2)")
    _config_id_arg(parse)
    parse.set_defaults(handler=run_parse)
    check = verbs.add_parser(
        "check", help="exit 0 only if the file parses, round-trips and passes keepalived -t",
        description="Parse FILE and its includes, check that writing them back gives the same "
        "bytes, print where keepalived runs something else than the file says (warnings), and "
        "run `keepalived -t -f FILE` where keepalived is installed (it only parses).")
    check.add_argument("file", metavar="FILE")
    check.add_argument("--netns", metavar="NAME",
                       help="run keepalived -t in this network namespace (interfaces are checked there)")
    check.add_argument("--no-keepalived", action="store_true", help="skip keepalived -t")
    _config_id_arg(check)
    check.set_defaults(handler=run_check)


def _config_id_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config-id", metavar="ID",
                   help="config-id for @ID lines (keepalived -i; default: the node name)")


def _load(path: str) -> Any:
    from lvstui.commands.errors import CliError
    from lvstui.keepalived.errors import KeepalivedConfigError
    from lvstui.keepalived.loader import load

    try:
        return load(path)
    except KeepalivedConfigError as exc:
        raise CliError(str(exc)) from exc


def _view(config: Any, config_id: str | None) -> Any:
    from lvstui.commands.errors import CliError
    from lvstui.keepalived.errors import KeepalivedConfigError
    from lvstui.keepalived.expand import default_config_id
    from lvstui.keepalived.view import build_view

    try:
        return build_view(config, config_id if config_id is not None else default_config_id())
    except KeepalivedConfigError as exc:
        raise CliError(str(exc)) from exc


def _warn(view: Any) -> None:
    """What keepalived does differently from what the file says, one line each on stderr."""
    from lvstui.keepalived.errors import shown

    for warning in view.warnings:
        print(f"warning: {shown(warning)}", file=sys.stderr)


def run_parse(args: argparse.Namespace) -> int:
    config = _load(args.file)
    view = _view(config, args.config_id)
    if args.json:
        import json

        doc = view.to_dict()
        doc["files"] = [str(p) for p in config.files]
        sys.stdout.write(json.dumps(doc, indent=args.indent or None) + "\n")
        return 0
    _print_view(view, [str(p) for p in config.files])
    return 0


def _print_view(view: Any, files: list[str]) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from lvstui.keepalived.errors import shown

    def e(value: object) -> str:  # names come from the file: no markup, no terminal controls
        return escape(shown(str(value)))

    def where(source: Any) -> str:  # the line alone when there is one file
        return str(source.line) if len(files) == 1 else e(source)

    console = Console()
    console.print(f"[bold]files:[/] {e(', '.join(files))}   [bold]config-id:[/] {e(view.config_id)}")
    for vs in view.virtual_servers:
        head = (f"[bold]virtual_server {e(vs.key)}[/]  {e(vs.lb_algo)} {e(vs.lb_kind)}"
                f"  quorum {vs.quorum}")
        if vs.persistence_timeout:
            head += f"  persistence {vs.persistence_timeout}s"
        if vs.sorry_server:
            head += f"  sorry {e(vs.sorry_server)}"
        table = Table(title=head, title_justify="left", show_edge=False)
        for col in ("real server", "weight", "inhibit", "checkers", "line"):
            table.add_column(col)
        for rs in vs.real_servers:
            table.add_row(e(rs.key), str(rs.weight), "yes" if rs.inhibit_on_failure else "",
                          e("; ".join(c.summary for c in rs.checkers) or "-"), where(rs.source))
        console.print(table)
    if view.vrrp_instances:
        table = Table(title="[bold]vrrp instances[/]", title_justify="left", show_edge=False)
        for col in ("name", "state", "priority", "interface", "vrid", "VIPs", "tracks", "line"):
            table.add_column(col)
        for vi in view.vrrp_instances:
            tracks = [t.name for t in vi.track_scripts + vi.track_files + vi.track_interfaces]
            table.add_row(e(vi.name), vi.state, str(vi.priority), e(vi.interface or "-"),
                          str(vi.virtual_router_id or "-"), e(" ".join(vi.virtual_ipaddresses)),
                          e(" ".join(tracks)), where(vi.source))
        console.print(table)
    for group in view.vrrp_sync_groups:
        members = " ".join(group.members)
        console.print(f"[bold]vrrp_sync_group {e(group.name)}[/]: {e(members)}  ({where(group.source)})")
    for script in view.vrrp_scripts:
        console.print(f"[bold]vrrp_script {e(script.name)}[/]: {e(script.script or '-')}"
                      f"  interval {script.interval or '-'}  weight {script.weight or 0}"
                      f"  ({where(script.source)})")
    for track in view.track_files:
        kind = "vrrp_track_file (deprecated)" if track.deprecated else "track_file"
        console.print(f"[bold]{kind} {e(track.name)}[/]: {e(track.file or '-')}  weight {track.weight or 0}"
                      f"  ({where(track.source)})")
    for note in view.notes:
        console.print(f"[yellow]note:[/] {e(note)}")
    for warning in view.warnings:
        console.print(f"[yellow]warning:[/] {e(warning)}")


def run_check(args: argparse.Namespace) -> int:
    from lvstui.commands.errors import CliError
    from lvstui.keepalived.errors import shown
    from lvstui.keepalived.validate import find_keepalived, keepalived_test

    config = _load(args.file)
    for cfile in config.files.values():
        if cfile.modified:
            raise CliError(f"{shown(str(cfile.path))}: does not write back byte-identical")
    view = _view(config, args.config_id)  # expansion errors are errors of the file too
    _warn(view)
    print(f"parsed {len(config.files)} file(s), each writes back byte-identical")
    if args.no_keepalived:
        return 0
    if find_keepalived() is None:
        print("keepalived is not installed: keepalived -t skipped")
        return 0
    result = keepalived_test(config, netns=args.netns, config_id=args.config_id)
    assert result is not None
    if not result.ok:
        for msg in result.messages[1:]:
            print(shown(msg), file=sys.stderr)
        raise CliError(f"keepalived -t: {shown(result.first_error)}")
    for msg in result.messages:
        print(f"keepalived -t: {shown(msg)}", file=sys.stderr)
    print("keepalived -t: ok")
    return 0
