"""``lvstui setup``: configure real servers and directors over SSH, previewed first.

    lvstui setup                                   the wizard screens (TUI)
    lvstui setup realserver HOST... --vip VIP [--vip VIP...] [--port P]
    lvstui setup director [HOST...] --from PLAN.toml
    ... [--dry-run] [--yes] [--undo] [--accept-new-host-key] [--user U] [--ssh-port N]
        [--identity FILE] [--jump HOST]

Without ``--yes`` the plan is shown and confirmed on the terminal; with no
terminal and no ``--yes`` the plan is printed and nothing is applied (exit 3).
``--yes`` never accepts an unknown host key; ``--accept-new-host-key`` does.
``--readonly`` refuses applying and ``--undo`` (exit 3, journaled) before any host is
contacted; ``--dry-run`` still previews.
"""

# The imports inside the verbs are lazy for start-up speed only (see lvstui/commands/__init__.py):
# `lvstui VERB` loads what that one verb needs.
from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from lvstui.commands.errors import EXIT_REFUSED, CliError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("setup", description=__doc__,
                                   help="set up LVS-DR real servers and keepalived directors over SSH",
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.set_defaults(handler=_run_tui)
    kinds = parser.add_subparsers(dest="setup_kind", metavar="KIND")

    rs = kinds.add_parser("realserver", help="VIPs on lo, ARP sysctls, persistent across reboots")
    rs.add_argument("hosts", nargs="+", metavar="HOST", help="[user@]host[:port], or a Host of ~/.ssh/config")
    rs.add_argument("--vip", action="append", default=[], metavar="VIP", help="virtual IP (repeat for more)")
    rs.add_argument("--port", metavar="P", help="service port to verify is listening")
    rs.add_argument("--persist", default="auto", choices=("auto", "networkd", "ifupdown", "unit"),
                    help="how the VIPs survive a reboot (default: detect what the host uses)")
    _common(rs)
    rs.set_defaults(handler=_run_realserver)

    di = kinds.add_parser("director", help="ipvsadm + keepalived for a MASTER/BACKUP pair")
    di.add_argument("hosts", nargs="*", metavar="HOST", help="director hosts, in the order of [[director]]")
    di.add_argument("--from", dest="plan_file", required=True, metavar="PLAN.toml",
                    help="the director form (see lvstui/setup/README.md)")
    _common(di)
    di.set_defaults(handler=_run_director)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dry-run", action="store_true", help="print the plan only")
    p.add_argument("--yes", action="store_true", help="apply without asking (never accepts a new host key)")
    p.add_argument("--undo", action="store_true", help="undo what an earlier run changed on these hosts")
    g = p.add_argument_group("ssh (defaults from ~/.ssh/config)")
    g.add_argument("--accept-new-host-key", action="store_true",
                   help="accept and remember an unknown host key (a changed key is always refused)")
    g.add_argument("--user", metavar="U")
    g.add_argument("--ssh-port", "--port-ssh", dest="ssh_port", metavar="N")
    g.add_argument("--identity", metavar="FILE")
    g.add_argument("--jump", metavar="HOST", help="[user@]host[:port] to connect through")
    g.add_argument("--ask-password", action="store_true", help="ask for the login password")
    g.add_argument("--ask-sudo-password", action="store_true",
                   help="ask for the sudo password (or set LVSTUI_SUDO_PASSWORD)")
    g.add_argument("--ssh-config", metavar="FILE", default="~/.ssh/config")
    g.add_argument("--known-hosts", metavar="FILE", help="instead of UserKnownHostsFile")
    g.add_argument("--timeout", type=float, default=10.0, metavar="S", help="connect timeout (default 10)")


def _run_tui(args: argparse.Namespace) -> int:
    from lvstui.ui.setup_app import run_setup_app

    return run_setup_app()


def _cli_error(message: str, status: int = 1) -> Exception:
    return CliError(message, status)


def _refuse_if_readonly(args: argparse.Namespace, hosts: list[str]) -> None:
    """Applying or undoing under --readonly: refused (journaled) before any host is contacted."""
    if args.dry_run:
        return
    from lvstui.setup.session import check_allowed

    check_allowed(f"setup {args.setup_kind}" + (" --undo" if args.undo else ""), hosts)


def _interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def _ask(question: str) -> bool:
    try:
        answer = input(question)
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def _options(args: argparse.Namespace) -> Any:
    import getpass

    from lvstui.setup import validate
    from lvstui.setup.ssh import SshOptions

    password = sudo_password = None
    if args.ask_password or args.ask_sudo_password:
        if not _interactive():
            raise _cli_error("--ask-password/--ask-sudo-password need a terminal", 2)
        if args.ask_password:
            password = getpass.getpass("login password: ")
        if args.ask_sudo_password:
            sudo_password = getpass.getpass("sudo password: ")
    sudo_password = sudo_password or os.environ.get("LVSTUI_SUDO_PASSWORD") or None
    return SshOptions(
        user=validate.user_name(args.user, "--user") if args.user else None,
        port=validate.port(args.ssh_port, "--ssh-port") if args.ssh_port else None,
        identity=args.identity, jump=args.jump, password=password, sudo_password=sudo_password,
        accept_new_host_key=args.accept_new_host_key, config_file=args.ssh_config,
        known_hosts=args.known_hosts, timeout=args.timeout)


def _host_key_prompt(args: argparse.Namespace) -> Any:
    if args.yes or args.accept_new_host_key or not _interactive():
        return None

    def confirm(host: str, kind: str, fingerprint: str) -> bool:
        print(f"The host key of {host} is not known.\n  {kind} key fingerprint is {fingerprint}.",
              file=sys.stderr)
        return _ask("Accept it and remember it in known_hosts? [y/N] ")
    return confirm


def _show(text_plain: str, rich_renderable: Any) -> None:
    if sys.stdout.isatty():
        from rich.console import Console

        Console().print(rich_renderable)
    else:
        print(text_plain)


def _progress(event: Any) -> None:
    from lvstui.safeio import escape_control

    if event.status is None:
        return
    note = f": {event.message}" if event.message else ""
    line = f"[{event.host}] {event.index + 1}/{event.total} {event.status.value:<9} {event.title}{note}"
    print(escape_control(line, newlines=False), file=sys.stderr, flush=True)


def _confirm_or_refuse(args: argparse.Namespace, question: str) -> None:
    if args.yes:
        return
    if not _interactive():
        raise _cli_error("not applied: no terminal to confirm on "
                         "(review the plan, then run again with --yes)", EXIT_REFUSED)
    if not _ask(question):
        raise _cli_error("not applied", EXIT_REFUSED)


def _prepare(build: Any) -> Any:
    from lvstui.safeio import escape_control
    from lvstui.setup.runner import RunnerError
    from lvstui.setup.validate import ValidationError

    # a message may carry a host's output or a file's bytes: one line, control characters escaped
    try:
        return build()
    except RunnerError as exc:
        raise _cli_error(escape_control(str(exc), newlines=False)) from None
    except ValidationError as exc:
        raise _cli_error(escape_control(str(exc), newlines=False), 2) from None


def _run_plans(args: argparse.Namespace, items: list[Any]) -> int:
    from lvstui.setup import session
    from lvstui.setup.render import render_plain, render_result
    from lvstui.ui.setup_render import render_rich

    try:
        for item in items:
            _show(render_plain(item.preview), render_rich(item.preview))
        if args.dry_run:
            return 0
        changes = sum(i.preview.changes for i in items)
        if changes:
            hosts = ", ".join(i.target for i in items)
            _confirm_or_refuse(args, f"Apply {changes} change(s) on {hosts}? [y/N] ")
        ok = session.apply_all(items, _progress)
        for item in items:
            if item.result is not None:
                print(render_result(item.result))
            else:
                print(f"{item.runner.host}: not run (an earlier host failed)")
        return 0 if ok else 1
    finally:
        session.close_all(items)


def _run_undo(args: argparse.Namespace, hosts: list[str], name: str) -> int:
    from lvstui.setup import session
    from lvstui.setup.render import render_result

    connect = session.ssh_connector(_prepare(lambda: _options(args)), _host_key_prompt(args))
    items = _prepare(lambda: session.prepare_undo(hosts, name, connect))
    try:
        for item in items:
            titles = [e.get("title", "?") for e in reversed(item.entries)]
            print(f"{item.runner.host}: undo {name} ({len(titles)} step(s))" if titles
                  else f"{item.runner.host}: nothing to undo (no {name} journal)")
            for t in titles:
                print(f"  undo: {t}")
        if args.dry_run or not any(i.entries for i in items):
            return 0
        _confirm_or_refuse(args, f"Undo on {', '.join(i.target for i in items)}? [y/N] ")
        ok = session.undo_all(items, _progress)
        for item in items:
            if item.result is not None:
                print(render_result(item.result))
        return 0 if ok else 1
    finally:
        session.close_all(items)


def _run_realserver(args: argparse.Namespace) -> int:
    from lvstui.setup import session
    from lvstui.setup.realserver import PLAN_NAME, RealServerSpec
    from lvstui.setup.ssh import parse_target

    hosts = _prepare(lambda: [parse_target(h) and h for h in args.hosts])
    _refuse_if_readonly(args, hosts)
    if args.undo:
        return _run_undo(args, hosts, PLAN_NAME)
    spec = _prepare(lambda: RealServerSpec.parse(args.vip, args.port, args.persist))
    connect = session.ssh_connector(_prepare(lambda: _options(args)), _host_key_prompt(args))
    items = _prepare(lambda: session.prepare_realservers(hosts, spec, connect))
    return _run_plans(args, items)


def _run_director(args: argparse.Namespace) -> int:
    from lvstui.setup import session
    from lvstui.setup.director import PLAN_NAME, load_director_spec
    from lvstui.setup.ssh import parse_target

    spec = _prepare(lambda: load_director_spec(args.plan_file, args.hosts or None))
    hosts = _prepare(lambda: [parse_target(d.host) and d.host for d in spec.directors])
    _refuse_if_readonly(args, hosts)
    if args.undo:
        return _run_undo(args, hosts, PLAN_NAME)
    connect = session.ssh_connector(_prepare(lambda: _options(args)), _host_key_prompt(args))
    items = _prepare(lambda: session.prepare_directors(spec, connect))
    return _run_plans(args, items)
