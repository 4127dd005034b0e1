"""``lvstui vrrp status|demote|promote``: this director's VRRP role, and handing it to the peer.

Exit status: 0 done, 1 failure, 2 invalid input, 3 refused (no track file, peer not
seen, no terminal to confirm on, --readonly), 124 not confirmed within --timeout (undone).
"""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "vrrp",
        help="VRRP role of this director; demote it (its VIPs move to the peer) or promote it back",
        description="Show this director's VRRP instances and the routers seen advertising, or hand "
        "mastership to the peer (demote) and take it back (promote) through a keepalived track_file. "
        "Done is reported only when the change is seen on the wire; otherwise it is undone.",
        epilog="Exit status: 0 done, 1 failure, 2 invalid input, 3 refused, 124 not confirmed in time (undone).",
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


def _listen_window(advert_int: float) -> float:
    return min(max(3 * advert_int + 0.5, 1.5), 10.0)


def run_status(args: argparse.Namespace) -> int:
    import json
    import time

    from lvstui.cli import CliError
    from lvstui.keepalived.toggle import ToggleError, current_state, find_target, read_track_value
    from lvstui.keepalived.vrrp_adverts import AdvertListener

    try:
        target, _view = find_target(args.instance)
        track_error = None
    except ToggleError as exc:
        if exc.status == 2 or "not running" in str(exc) or "no vrrp_instance" in str(exc):
            raise CliError(str(exc), exc.status) from None
        target, track_error = None, str(exc)
        from lvstui.backend.director import local_keepalived
        from lvstui.keepalived.runtime import request_state

        proc = local_keepalived()[0]
        runtime = request_state(proc.parent_pid, want_check=False)  # type: ignore[attr-defined]
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
            else _listen_window(target.instance.advert_int if target else 1.0)
        )
        time.sleep(max(0.0, window))
        peers = listener.peers()
        error = listener.error
    doc = {
        "instances": [
            {
                "name": s.name,
                "state": s.state,
                "priority": s.priority,
                "effective_priority": s.effective_priority,
                "master_priority": s.master_priority,
                "interface": s.interface,
                "virtual_router_id": s.virtual_router_id,
                "vips": list(s.vips),
                "last_transition": s.last_transition.isoformat() if s.last_transition else None,
            }
            for s in states
        ],
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
        "routers_advertising": [
            {
                "vrid": p.vrid,
                "source": p.source,
                "priority": p.priority,
                "interface": p.interface,
                "age": round(p.age(), 2),
                "current": p.current(),
                "local": p.local,
            }
            for p in peers
        ],
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


def _confirm(question: str) -> bool:
    sys.stdout.write(question + " [y/N] ")
    sys.stdout.flush()
    answer = sys.stdin.readline()
    return answer.strip().lower() in ("y", "yes")


def run_toggle(args: argparse.Namespace) -> int:
    import time

    from lvstui.cli import CliError
    from lvstui.keepalived.toggle import (
        ToggleError,
        current_state,
        find_target,
        read_track_value,
        wait_for,
        write_track_value,
    )
    from lvstui.keepalived.vrrp_adverts import AdvertListener
    from lvstui.ops.journal import Journal

    action = args.vrrp_action
    if args.readonly:
        raise CliError(f"--readonly: vrrp {action} refused", 3)
    if args.timeout <= 0:
        raise CliError("--timeout must be a positive number of seconds", 2)
    try:
        target, _view = find_target(args.instance)
    except ToggleError as exc:
        raise CliError(str(exc), exc.status) from None
    name = target.instance.name
    vrid = target.instance.virtual_router_id or 0
    journal = Journal()
    base = {"op": f"vrrp {action}", "instance": name, "vrid": vrid, "file": target.track.file}
    with AdvertListener() as listener:
        try:
            state = current_state(target)
        except ToggleError as exc:
            raise CliError(str(exc), exc.status) from None
        old = read_track_value(target.path)
        new = 1 if action == "demote" else 0
        window = _listen_window(target.instance.advert_int)
        time.sleep(window)
        now = time.monotonic()
        others = [p for p in listener.peers() if p.vrid == vrid and not p.local and p.current(now)]
        if listener.error and not args.force:
            raise CliError(
                f"{listener.error}: cannot confirm the change on the wire (--force to proceed blind)", 3
            )
        problems = []
        if state.state == "FAULT":
            problems.append(f"{name} is in FAULT here")
        target_eff = state.effective_priority + (new - old) * target.weight
        if action == "demote":
            if state.state == "BACKUP" and not others:
                problems.append(
                    f"no router seen advertising VRID {vrid} in {window:g} s: the peer is not healthy"
                )
            if state.state == "MASTER" and others:
                problems.append(
                    "another router advertises VRID "
                    + str(vrid)
                    + " while this one is MASTER: "
                    + ", ".join(f"{p.source} priority {p.priority}" for p in others)
                )
            peer_note = (
                ", ".join(f"{p.source} (MASTER, priority {p.priority})" for p in others)
                if others
                else "the backup (silent: backups do not advertise; if it does not take over, this is undone)"
            )
        else:
            peer_note = (
                ", ".join(f"{p.source} priority {p.priority}" for p in others) or "none seen advertising"
            )
        if old == new:
            print(
                f"{target.track.file} already holds {new}: {name} is {state.state} "
                f"(effective priority {state.effective_priority}); checking it is seen so"
            )
        if problems and not args.force:
            journal.record(**base, result="refused", reason="; ".join(problems))
            raise CliError("refused: " + "; ".join(problems) + " (--force to proceed)", 3)
        plan = (
            f"{action} {name} (VRID {vrid}, {state.state}, effective priority {state.effective_priority} "
            f"-> {target_eff}) by writing {new} to {target.track.file}; peer: {peer_note}"
        )
        print(plan)
        if not args.yes:
            if not sys.stdin.isatty():
                raise CliError("no terminal to confirm on: add --yes", 3)
            if not _confirm("Proceed?"):
                print("nothing changed")
                return 3
        since = time.monotonic()
        try:
            write_track_value(target.path, new)
        except OSError as exc:
            journal.record(**base, result="failed", reason=str(exc))
            raise CliError(f"cannot write {target.track.file}: {exc.strerror or exc}") from None
        journal.record(
            **base, result="applied", value=new, previous=old, priority_from=state.effective_priority
        )
        want = "BACKUP" if action == "demote" else "MASTER"
        outcome = wait_for(target, listener, want, since, args.timeout, progress=print)
        if outcome.done:
            masters = ", ".join(f"{p.source} priority {p.priority}" for p in outcome.masters)
            msg = f"done in {outcome.seconds:.1f} s: {name} is {want}" + (
                f"; MASTER seen on the wire: {masters}" if action == "demote" else ""
            )
            journal.record(
                **base,
                result="done",
                seconds=round(outcome.seconds, 2),
                masters=[p.source for p in outcome.masters],
            )
            print(msg)
            return 0
        write_track_value(target.path, old)
        journal.record(
            **base, result="undone", reason=f"not {want} within {args.timeout:g} s", seen=outcome.seen
        )
        sys.stderr.write(
            f"lvstui: not confirmed within {args.timeout:g} s; {target.track.file} put back to {old}. "
            f"Seen: {outcome.seen[-1] if outcome.seen else 'nothing'}\n"
        )
        return 124


def run_setup(args: argparse.Namespace) -> int:
    from lvstui.cli import CliError
    from lvstui.keepalived.toggle import SUGGESTED_FILE, ToggleError, add_track_file, track_file_text
    from lvstui.ops.journal import Journal

    if args.readonly:
        raise CliError("--readonly: vrrp setup refused", 3)
    print(
        f"adds to keepalived.conf, before the instance, and references it inside:\n{track_file_text(args.weight)}"
    )
    if not args.yes:
        if not sys.stdin.isatty():
            raise CliError("no terminal to confirm on: add --yes", 3)
        if not _confirm("Write it (after keepalived -t) and reload keepalived?"):
            print("nothing changed")
            return 3
    try:
        written = add_track_file(args.instance, args.weight)
    except ToggleError as exc:
        if exc.status == 0:
            print(str(exc))
            return 0
        Journal().record(op="vrrp setup", result="refused" if exc.status == 3 else "failed", reason=str(exc))
        raise CliError(str(exc), exc.status) from None
    Journal().record(
        op="vrrp setup", result="done", file=written, track_file=SUGGESTED_FILE, weight=args.weight
    )
    print(f"written {written} (previous kept as a backup), keepalived reloaded; {SUGGESTED_FILE} holds 0")
    return 0
