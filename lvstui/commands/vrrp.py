"""``lvstui vrrp status|demote|promote``: this director's VRRP role, and handing it to the peer.

Exit status: 0 done, 1 failure, 2 invalid input, 3 refused (no track file, peer not
seen, no terminal to confirm on, --readonly), 124 not confirmed within --timeout (undone),
130/143 interrupted by Ctrl-C/SIGTERM while waiting (the track file is put back: undone).
"""

# The imports inside the verbs are lazy for start-up speed only (see lvstui/commands/__init__.py):
# `lvstui VERB` loads what that one verb needs.
from __future__ import annotations

import argparse
import sys
from typing import Any

from lvstui.commands.confirm import confirmed
from lvstui.commands.errors import CliError


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "vrrp",
        help="VRRP role of this director; demote it (its VIPs move to the peer) or promote it back",
        description="Show this director's VRRP instances and the routers seen advertising, or hand "
        "mastership to the peer (demote) and take it back (promote) through a keepalived track_file. "
        "Done is reported only when the change is seen on the wire; otherwise it is undone.",
        epilog="Exit status: 0 done, 1 failure, 2 invalid input, 3 refused, 124 not confirmed in time (undone), "
        "130/143 interrupted by Ctrl-C/SIGTERM while waiting (undone).",
    )
    verbs = p.add_subparsers(dest="vrrp_verb", metavar="status|demote|promote")
    verbs.required = True
    st = verbs.add_parser("status", help="instances, priorities, the track file and the routers advertising")
    st.add_argument(
        "--listen",
        type=float,
        default=None,
        metavar="SECONDS",
        help="listen to VRRP adverts this long (default: 3 advert intervals)",
    )
    st.add_argument("--json", action="store_true", help="print JSON")
    st.set_defaults(handler=run_status)
    for verb, what in (
        ("demote", "lower this director's priority below the peer's: the peer becomes MASTER"),
        ("promote", "put this director's priority back: it becomes MASTER again"),
    ):
        v = verbs.add_parser(verb, help=what)
        v.add_argument("--yes", action="store_true", help="do not ask for confirmation")
        v.add_argument("--force", action="store_true", help="proceed even when the peer is not seen healthy")
        v.add_argument(
            "--timeout",
            type=float,
            default=20.0,
            metavar="SECONDS",
            help="how long to wait for the change to be seen (default 20)",
        )
        v.set_defaults(handler=run_toggle, vrrp_action=verb)
    su = verbs.add_parser(
        "setup",
        help="add lvstui's track_file to keepalived.conf (validated with keepalived -t, atomic, then reload)",
    )
    su.add_argument("--weight", type=int, default=-60, metavar="N", help="its weight (default -60)")
    su.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    su.set_defaults(handler=run_setup)
    for sp in (st, su, *[verbs.choices[v] for v in ("demote", "promote")]):
        sp.add_argument("--instance", default=None, metavar="NAME", help="the vrrp_instance (if several)")


def run_status(args: argparse.Namespace) -> int:
    import json
    import time

    from lvstui.jsonout import peer_dict, vrrp_dict
    from lvstui.keepalived.runtime import request_state
    from lvstui.keepalived.site import local_keepalived
    from lvstui.keepalived.state import vrrp_instances, vrrp_peers
    from lvstui.keepalived.toggle import (
        KeepalivedNotRunning,
        NoVrrpInstance,
        ToggleError,
        current_state,
        find_target,
        read_track_value,
    )
    from lvstui.keepalived.vrrp_adverts import AdvertListener
    from lvstui.ops.vrrp import listen_window

    try:
        target, _view = find_target(args.instance)
        track_error = None
    except (KeepalivedNotRunning, NoVrrpInstance) as exc:
        raise CliError(str(exc), exc.status) from None
    except ToggleError as exc:
        if exc.status == 2:
            raise CliError(str(exc), exc.status) from None
        target, track_error = None, str(exc)
        proc = local_keepalived()[0]
        runtime = request_state(proc.parent_pid, want_check=False)
        states = [s for s in runtime.vrrp if args.instance in (None, s.name)]
    with AdvertListener() as listener:
        if target is not None:
            try:
                states = [current_state(target)]
            except ToggleError as exc:
                raise CliError(str(exc), exc.status) from None
        window = (
            args.listen
            if args.listen is not None
            else listen_window(target.instance.advert_int if target else 1.0)
        )
        time.sleep(max(0.0, window))
        peers = vrrp_peers(listener.peers(), time.monotonic())
        error = listener.error
    doc: dict[str, Any] = {
        "instances": [vrrp_dict(v) for v in vrrp_instances(states)],
        "track_file": None
        if target is None
        else {
            "name": target.track.name,
            "file": target.track.file,
            "weight": target.weight,
            "value": read_track_value(target.path),
            "demoted": read_track_value(target.path) != 0,
        },
        "track_file_problem": track_error,
        "routers_advertising": [peer_dict(p) for p in peers],
        "adverts_error": error,
    }
    if args.json:
        print(json.dumps(doc, indent=2))
        return 0
    for s in doc["instances"]:
        print(
            f"{s['name']}: {s['state']}  priority {s['priority']} (effective {s['effective_priority']})  "
            f"VRID {s['virtual_router_id']} on {s['interface']}  VIPs {', '.join(s['vips']) or '-'}"
        )
    if target is not None:
        t = doc["track_file"]
        print(
            f"track file {t['name']} {t['file']} weight {t['weight']}: {t['value']}"
            + (" (demoted by it)" if t["demoted"] else "")
        )
    else:
        print(f"toggle not possible: {track_error}")
    if error:
        print(f"adverts: {error}")
    elif not peers:
        print(f"adverts: none heard in {window:g} s (a MASTER does not hear itself; backups are silent)")
    for p in doc["routers_advertising"]:
        print(
            f"VRID {p['vrid']}: {p['source']} priority {p['priority']} on {p['interface'] or '?'}, "
            f"last {p['age']:.1f} s ago" + (" (MASTER)" if p["current"] else " (stopped)")
        )
    return 0


def run_toggle(args: argparse.Namespace) -> int:
    from lvstui.keepalived.toggle import ToggleError
    from lvstui.ops.vrrp import execute, prepare, record_refusal

    action = args.vrrp_action
    if args.timeout <= 0:
        raise CliError("--timeout must be a positive number of seconds", 2)
    try:
        plan = prepare(action, args.instance, force=args.force)  # refused here under --readonly
    except ToggleError as exc:
        raise CliError(str(exc), exc.status) from None
    with plan:
        if plan.listener_error and plan.refused:
            raise CliError(plan.refused, 3)
        if plan.notice:
            print(plan.notice)
        reason = record_refusal(plan)
        if reason:
            raise CliError(reason, 3)
        print(plan.text)
        if not confirmed("Proceed?", args.yes):
            print("nothing changed")
            return 3
        result = execute(plan, args.timeout, progress=print)
        if result.done:
            print(result.message)
            return 0
        if result.undone:  # not seen in time (124), or Ctrl-C/SIGTERM (130/143): the file is put back
            sys.stderr.write(f"lvstui: {result.message}\n")
            return result.status
        raise CliError(result.message, result.status)


def run_setup(args: argparse.Namespace) -> int:
    from lvstui.keepalived.toggle import SUGGESTED_FILE, ToggleError, track_file_text
    from lvstui.ops.policy import current
    from lvstui.ops.vrrp import add_track_file

    current().check("vrrp setup", actor="cli", op="vrrp setup", instance=args.instance)  # before showing it
    print(
        f"adds to keepalived.conf, before the instance, and references it inside:\n{track_file_text(args.weight)}"
    )
    if not confirmed("Write it (after keepalived -t) and reload keepalived?", args.yes):
        print("nothing changed")
        return 3
    try:
        written = add_track_file(args.instance, args.weight)  # journaled there
    except ToggleError as exc:
        if exc.status == 0:
            print(str(exc))
            return 0
        raise CliError(str(exc), exc.status) from None
    print(f"written {written} (previous kept as a backup), keepalived reloaded; {SUGGESTED_FILE} holds 0")
    return 0
