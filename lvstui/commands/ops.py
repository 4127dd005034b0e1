"""Operation verbs: drain, restore, weight, add/remove real servers and virtual services.

Exit status: 0 done, 1 the kernel refused or failed, or the journal or remembered weights
could not be written (nothing left half-done: the line says what was undone), 2 invalid
input, 3 refused (target missing, duplicate, another lvstui busy with this director,
--readonly; keepalived's configuration invalid or changed on disk; a quorum/sorry-server/
last-healthy warning without --force), 4 the change is in place but could not be recorded
(the line says what holds; the next lvstui operation records it), 124 --wait timed out (the
drain itself stays in place).

Each change is written ahead: the journal's intent, and the weight a drain remembers, are on
disk before the kernel is touched; a change left without its outcome by a killed lvstui is
reconciled (finished or undone) by the next operation, which says so on stderr.

Where the keepalived of this network namespace declares the virtual service, the change is
also made durable for keepalived (see lvstui.ops.keepalived); --runtime-only changes the
kernel only, and says so.
"""

# The imports inside the verbs are lazy for start-up speed only (see lvstui/commands/__init__.py):
# `lvstui VERB` loads what that one verb needs.
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from lvstui.commands.errors import EXIT_FAILED, EXIT_INVALID, EXIT_REFUSED, EXIT_UNRECORDED, CliError
from lvstui.commands.peer_args import add_peer_arguments

if TYPE_CHECKING:  # the verbs import the operations layer when they run (start-up speed)
    from lvstui.backend.ipvs import IpvsClient
    from lvstui.commands.peer_args import PeerTarget
    from lvstui.ops.changes import Change
    from lvstui.ops.engine import Operations, Outcome

T = TypeVar("T")

EPILOG = ("VS is a virtual service id as `lvstui snapshot --json` prints it: tcp:192.168.1.100:80, "
          "udp:[2001:db8::1]:53, sctp:..., fwmark:7, fwmark:7:inet6. RS is a real server: 192.168.1.13:80 "
          "or [2001:db8::13]:80. Exit status: 0 done, 1 failed (nothing half-applied), 2 invalid input, "
          "3 refused (missing, duplicate, busy, --readonly), 4 done but not recorded (journal or remembered "
          "weights unwritable), 124 --wait timed out.")


PAIR_HELP = (
    "With a peer (--peer, or [peer] in config.toml), the change is made on both directors, this "
    "director's locks held throughout (another operator here: busy, the peer not asked): planned here "
    "first (a refusal here asks nothing of the peer), then made on the peer by its own lvstui over SSH "
    "(`lvstui --peer none VERB ... --on-behalf-of THIS-HOST` there, as root: under its own locks, "
    "validated by its keepalived -t and its refusals, in its journal naming this director), then here; "
    "if this side then fails, the peer's journal entry is undone there (`lvstui undo ID --yes`). Peer "
    "unreachable, host key unknown or changed, lvstui not installed there, the peer busy with another "
    "operator or refusing: refused (exit 3), nothing changed on either director, unless --local-only. "
    "The journal entry here names the peer, its result and its journal id. A relative "
    "weight (+N/-N) is sent as the weight it gives here; --force and --runtime-only are passed on, "
    "--wait waits here only. IPVS-wide settings (timeouts, expire-quiescent, zero, sync) stay per "
    "director.")


def add_on_behalf_of(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    parser.add_argument("--on-behalf-of", metavar="HOST",
                        help="the pair's other director asked for this change (what it runs here over SSH): "
                             "made here only, never forwarded, and HOST named in the journal entry's peer "
                             "(role asking, with the address SSH came from)")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    def verb(name: str, help_text: str, runtime: bool = True) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = sub.add_parser(name, help=help_text, description=help_text + ".",
                                                    epilog=EPILOG)
        p.set_defaults(handler=run, verb=name, runtime_only=False, local_only=False, print_journal_id=False,
                       on_behalf_of=None)
        if runtime:
            p.add_argument("--runtime-only", action="store_true",
                           help="change the kernel only, even where keepalived manages the service "
                                "(keepalived may put it back at its next checker transition or reload)")
            p.add_argument("--print-journal-id", action="store_true",
                           help="print the journal entry's id last, as `journal: ID` (what `lvstui undo ID` names)")
            pair = p.add_argument_group("the pair's other director", PAIR_HELP)
            add_peer_arguments(pair)
            pair.add_argument("--local-only", action="store_true",
                              help="make the change on this director only, even with a peer named (the "
                                   "peer is not contacted; marked LOCAL ONLY in the output and the journal)")
            add_on_behalf_of(pair)
        return p

    def force(p: argparse.ArgumentParser) -> None:
        p.add_argument("--force", action="store_true",
                       help="do it even below a keepalived quorum, bringing in the sorry server, or taking "
                            "out the last healthy real server")

    p = verb("drain", "set a real server's weight to 0 so its connections finish and no new ones arrive")
    p.add_argument("vs", metavar="VS")
    p.add_argument("rs", metavar="RS")
    _wait_args(p)
    force(p)
    p = verb("restore", "put a drained real server back to the weight it had before the drain")
    p.add_argument("vs", metavar="VS")
    p.add_argument("rs", metavar="RS")
    p = verb("drain-host", "drain every real server with this address, in every virtual service")
    p.add_argument("address", metavar="ADDRESS")
    _wait_args(p)
    force(p)
    p = verb("restore-host", "restore every real server with this address")
    p.add_argument("address", metavar="ADDRESS")
    p = verb("weight", "set a real server's weight (0-2147483647, or +N/-N relative)")
    p.add_argument("vs", metavar="VS")
    p.add_argument("rs", metavar="RS")
    p.add_argument("weight", metavar="N")
    force(p)
    p = verb("add-rs", "add a real server to a virtual service")
    p.add_argument("vs", metavar="VS")
    p.add_argument("rs", metavar="RS")
    p.add_argument("--weight", default="1", metavar="N")
    p.add_argument("--forward", default="DR", metavar="DR|NAT|TUN")
    p.add_argument("--upper", default="0", metavar="N", help="upper connection threshold (0: none)")
    p.add_argument("--lower", default="0", metavar="N", help="lower connection threshold (0: none)")
    p = verb("remove-rs", "remove a real server (refused while it has active connections, unless --force)")
    p.add_argument("vs", metavar="VS")
    p.add_argument("rs", metavar="RS")
    p.add_argument("--force", action="store_true", help="remove even with active connections (they are dropped)")
    for name, text in (("add-vs", "add a virtual service"), ("edit-vs", "change a virtual service's settings")):
        p = verb(name, text)
        p.add_argument("vs", metavar="VS")
        p.add_argument("--scheduler", metavar="NAME", help="rr, wrr, lc, wlc (default for add-vs), sh, mh, ...")
        p.add_argument("--persistent", metavar="SECONDS", help="persistence timeout (0 turns persistence off)")
        p.add_argument("--netmask", metavar="MASK", help="persistence granularity (IPv4 mask, IPv6 prefix length)")
        p.add_argument("--flags", metavar="LIST", help="comma list: ops, sh-fallback, sh-port, mh-fallback, mh-port")
        p.add_argument("--pe", metavar="ENGINE", help="persistence engine (sip)")
    p = verb("expire-quiescent", "show or set net.ipv4.vs.expire_quiescent_template, which decides whether "
             "persistence keeps sending pinned clients to a drained (weight 0) real server", runtime=False)
    p.add_argument("state", metavar="on|off", nargs="?", choices=("on", "off"),
                   help="on (1): the kernel drops a template pointing at a weight-0 real server when its "
                        "client comes back, so a drain also ends persistence's pinning; off (0, the "
                        "kernel's default): pinned clients keep reaching it until the template expires. "
                        "Without it: show the value")
    p = verb("zero", "zero the packet, byte and connection counters of a virtual service and its real servers "
             "(ipvsadm -Z), or of every service", runtime=False)
    p.add_argument("vs", metavar="VS", nargs="?", help="the service (default: all)")
    p = verb("timeouts", "show IPVS's TCP, TCP FIN and UDP timeouts, or set any of them (ipvsadm --set)",
             runtime=False)
    for flag in ("tcp", "tcpfin", "udp"):
        p.add_argument(f"--{flag}", metavar="SECONDS", help="the timeout of " + {"tcp": "established TCP connections", "tcpfin":
                            "TCP connections after the client's FIN", "udp": "UDP entries"}[flag]
                            + " (1-2147483 seconds)")
    p = verb("sync", "show, start or stop IPVS's connection-synchronisation daemons (ipvsadm --start-daemon, "
             "--stop-daemon, -L --daemon)", runtime=False)
    p.add_argument("action", choices=("status", "start", "stop"))
    p.add_argument("state", metavar="master|backup", nargs="?", help="which daemon (start and stop)")
    p.add_argument("--interface", metavar="IFN", help="the multicast interface (start)")
    p.add_argument("--syncid", default="0", metavar="N", help="the sync id, 0-255 (start; default 0)")
    p = verb("remove-vs", "remove a virtual service and its real servers")
    p.add_argument("vs", metavar="VS")
    p.add_argument("--force", action="store_true", help="remove even with active connections")


DRAIN_DONE = (
    "--wait returns when the drained real server carries no client traffic, per protocol: TCP, no entry "
    "in a state in which data can still flow (ESTABLISHED, SYN_RECV, CLOSE_WAIT...; closed connections "
    "waiting out FIN_WAIT/TIME_WAIT/CLOSE timers do not count); UDP and SCTP, every entry expired (shown "
    "counting down, with an ETA); persistence templates pointing at it are counted and shown, and where "
    "they still send pinned clients to it (a persistent service with net.ipv4.vs.expire_quiescent_template "
    "at 0) it waits for them too. --until expired waits until every entry, closed and template included, "
    "has expired.")


def _wait_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--wait", action="store_true",
                   help="block until the drained real servers carry no client traffic (see below); "
                        "progress and an ETA where one is known")
    p.add_argument("--until", choices=("done", "expired"), default=None,
                   help="done (the default): no client traffic left; expired: every entry has expired "
                        "(implies --wait)")
    p.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                   help="give up waiting after SECONDS (exit 124; the drain stays in place)")
    p.epilog = DRAIN_DONE + " " + EPILOG


def build_change(args: argparse.Namespace) -> Change:
    """Turn CLI arguments into a validated change object (raises InvalidInput)."""
    from lvstui.ops import changes as c
    from lvstui.ops import targets as t

    v = args.verb
    if v == "expire-quiescent":
        return c.SetExpireQuiescent(1 if args.state == "on" else 0)
    if v == "sync":
        if args.state not in ("master", "backup"):
            raise t.InvalidInput(f"sync {args.action}: name the daemon, master or backup")
        if args.action == "stop":
            return c.StopSync(args.state)
        if not args.interface:
            raise t.InvalidInput("sync start: --interface IFN is needed (the multicast interface)")
        try:
            syncid = int(args.syncid, 10)
        except ValueError:
            raise t.InvalidInput(f"--syncid {args.syncid!r} is not a number") from None
        return c.StartSync(args.state, args.interface, syncid)
    if v == "zero":
        return c.ZeroCounters(t.parse_service_id(args.vs) if args.vs else None)
    if v == "timeouts":
        return c.SetTimeouts(tcp=_seconds(args.tcp, "tcp"), tcp_fin=_seconds(args.tcpfin, "tcpfin"),
                             udp=_seconds(args.udp, "udp"))
    if v in ("drain-host", "restore-host"):
        address, _ = t.parse_address(args.address, "real-server address")
        return c.DrainHost(address) if v == "drain-host" else c.RestoreHost(address)
    service = t.parse_service_id(args.vs)
    if v in ("add-vs", "edit-vs"):
        scheduler = t.parse_scheduler(args.scheduler) if args.scheduler else None
        if args.flags is not None and scheduler is None and v == "add-vs":
            scheduler = "wlc"
        settings = c.ServiceSettings(
            scheduler=scheduler,
            persistence_timeout=t.parse_timeout(args.persistent) if args.persistent is not None else None,
            netmask=t.parse_netmask(args.netmask, service.family) if args.netmask else None,
            flags=args.flags,
            persistence_engine=_pe(args.pe),
        )
        if settings.flags is not None and settings.scheduler:
            t.parse_flags(settings.flags, settings.scheduler)
        return c.AddService(service, settings) if v == "add-vs" else c.EditService(service, settings)
    if v == "remove-vs":
        return c.RemoveService(service, force=args.force)
    server = t.parse_server_id(args.rs, allow_port_zero=service.fwmark is not None)
    if v == "drain":
        return c.Drain(service, server)
    if v == "restore":
        return c.Restore(service, server)
    if v == "weight":
        text = args.weight.strip()
        if text[:1] in "+-" and text[1:].isdigit():
            return c.SetWeight(service, server, delta=int(text))
        return c.SetWeight(service, server, weight=t.parse_weight(text))
    if v == "add-rs":
        lower = t.parse_threshold(args.lower, "lower")
        return c.AddServer(service, server, weight=t.parse_weight(args.weight), forward=t.parse_forward(args.forward),
                           upper=t.parse_threshold(args.upper, "upper"), lower=lower)
    if v == "remove-rs":
        return c.RemoveServer(service, server, force=args.force)
    raise AssertionError(v)


def _seconds(text: str | None, name: str) -> int | None:
    from lvstui.ops.changes import MAX_TIMEOUT
    from lvstui.ops.targets import InvalidInput

    if text is None:
        return None
    try:
        value = int(text.strip(), 10)
    except ValueError:
        raise InvalidInput(f"--{name} {text!r} is not a number of seconds") from None
    if not 1 <= value <= MAX_TIMEOUT:
        raise InvalidInput(f"--{name} {value}: a timeout is 1-{MAX_TIMEOUT} seconds")
    return value


def _pe(text: str | None) -> str | None:
    from lvstui.ops.targets import PERSISTENCE_ENGINES, InvalidInput

    if text is None:
        return None
    if text and text not in PERSISTENCE_ENGINES:
        raise InvalidInput(f"unknown persistence engine {text!r} (known: {', '.join(PERSISTENCE_ENGINES)})")
    return text


def run(args: argparse.Namespace) -> int:
    from lvstui.backend import BackendError
    from lvstui.ops.changes import Refused
    from lvstui.ops.engine import OperationFailed, Operations, Unrecorded
    from lvstui.ops.journal import StateError
    from lvstui.ops.targets import InvalidInput

    if args.verb == "expire-quiescent" and args.state is None:
        return _show_expire_quiescent()
    if args.verb == "sync" and args.action == "status":
        return _show_daemons()
    if args.verb == "timeouts" and args.tcp is None and args.tcpfin is None and args.udp is None:
        return _show_timeouts()
    try:
        change = build_change(args)
        check_asker(args)
    except InvalidInput as exc:
        return _fail(str(exc), EXIT_INVALID)
    from lvstui.ops.policy import ReadOnly, current
    from lvstui.ops.record import describe_change

    try:  # the policy refuses (journaled) before the kernel is opened
        current().check(change.verb, actor="cli", change=describe_change(change))
    except ReadOnly as exc:
        return _fail(str(exc), EXIT_REFUSED)
    except StateError as exc:
        return _fail(f"{exc}; nothing was changed", EXIT_FAILED)
    try:
        from lvstui.backend.ipvs import IpvsClient

        director = IpvsClient()
    except BackendError as exc:
        return _fail(str(exc), EXIT_FAILED)
    peer = _paired(args)
    with director:
        ops = Operations(director, readonly=args.readonly, actor="cli", runtime_only=args.runtime_only)
        peer_lines: list[str] = []
        try:
            outcome, peer_lines = apply_change(ops, change, args, peer)
        except InvalidInput as exc:
            return _fail(str(exc), EXIT_INVALID)
        except Refused as exc:
            return _fail(str(exc), EXIT_REFUSED)
        except Unrecorded as exc:
            return _fail(str(exc), EXIT_UNRECORDED)
        except (OperationFailed, BackendError, OSError) as exc:
            return _fail(str(exc), EXIT_FAILED)
        for line in outcome.recovered:
            print(f"lvstui: recovered: {line}", file=sys.stderr)
        for warning in outcome.plan.warnings:
            print(f"lvstui: warning: {warning}", file=sys.stderr)
        if outcome.plan.steps or outcome.plan.config or outcome.plan.sysctls:
            for line in outcome.plan.lines():
                print(line)
        else:
            print(f"{outcome.plan.title}: nothing to change")
        if outcome.plan.durable is not None:
            for line in outcome.plan.durable.managed:
                print(f"keepalived manages {line}")
            for line in outcome.plan.durable.lines:
                print(f"keepalived: {line}")
        for line in outcome.messages:
            print(line if line.startswith("RUNTIME ONLY") else f"keepalived: {line}")
        for line in peer_lines:
            print(line)
        if args.print_journal_id and outcome.entry_id:
            print(f"journal: {outcome.entry_id}")
        if getattr(args, "wait", False) or getattr(args, "until", None):
            return _wait(director, change, args.timeout, args.until or "done")
    return 0


def check_asker(args: argparse.Namespace) -> None:
    """--on-behalf-of HOST: a host name, for a change made here only (InvalidInput otherwise)."""
    if args.on_behalf_of is None:
        return
    from lvstui.ops.targets import InvalidInput
    from lvstui.pair.argv import PAIRED_VERBS, parse_asker

    args.on_behalf_of = parse_asker(args.on_behalf_of)
    if args.verb not in PAIRED_VERBS:
        raise InvalidInput(f"--on-behalf-of: {args.verb} is made per director, never asked by the peer")
    given = getattr(args, "peer", None)
    if (given is not None and given.strip().lower() != "none") or args.local_only:
        raise InvalidInput("--on-behalf-of: a change the peer asked for is made here only (--peer none), "
                           "never forwarded; --peer and --local-only cannot be given with it")


def _paired(args: argparse.Namespace) -> PeerTarget | None:
    """The peer this change is made on too: None for a verb made per director, without a peer,
    with --local-only, or asked by the peer (--on-behalf-of)."""
    from lvstui.commands.peer_args import peer_target
    from lvstui.pair.argv import PAIRED_VERBS

    if args.verb not in PAIRED_VERBS or args.on_behalf_of is not None:
        return None
    peer = peer_target(args)
    if peer is None or not args.local_only:
        return peer
    args.local_only_peer = peer.target
    return None


def apply_change(ops: Operations, change: Change, args: argparse.Namespace,
                 peer: PeerTarget | None) -> tuple[Outcome, list[str]]:
    """Apply here, or on both directors with a peer (see PAIR_HELP); the lines to print about the peer."""
    force = bool(getattr(args, "force", False))
    local_only = getattr(args, "local_only_peer", None)
    if peer is None:
        from lvstui.pair.argv import asking_record
        from lvstui.pair.both import local_only_record

        extra = {"peer": local_only_record(local_only, "--local-only")} if local_only else None
        if args.on_behalf_of is not None:
            extra = {"peer": asking_record(args.on_behalf_of)}
        outcome = ops.apply(change, force=force, journal_extra=extra)
        return outcome, ([f"LOCAL ONLY: the peer {local_only} was not changed"] if local_only else [])
    from lvstui.pair.argv import peer_argv
    from lvstui.pair.both import apply_both

    remote = peer.link().open()  # PeerError (one line) for a runner that cannot even be set up
    argv = peer_argv(change, ops, force=force, runtime_only=args.runtime_only)
    both = apply_both(ops, change, remote, argv, force=force)
    result = both.peer
    for line in result.warnings:
        print(f"lvstui: peer {result.host}: {line}", file=sys.stderr)
    lines = [f"peer {result.host}: {line}" for line in result.lines]
    lines.append(f"peer {result.host}: done (its journal {result.entry_id or 'not recorded'})")
    return both.outcome, lines


def _wait(director: IpvsClient, change: Change, timeout: float | None, until: str) -> int:
    """Wait, by the connection table, until every drained real server is done (see DRAIN_DONE)."""
    from lvstui.commands.drain_wait import wait_for_drain
    from lvstui.ops.changes import Drain, DrainHost

    if isinstance(change, DrainHost):
        targets = [(vs.id, rs.id) for vs in director.read().virtual_services for rs in vs.real_servers
                   if rs.address == change.address]
    elif isinstance(change, Drain):
        targets = [(change.service.id, change.server.id)]
    else:
        raise TypeError(f"--wait is a drain's option, not {change.verb}'s")
    return wait_for_drain(director.read, targets, until=until, timeout=timeout)


def _ask_kernel(question: Callable[[IpvsClient], T]) -> T:
    """One read of the kernel's IPVS state; CliError (one line) when it cannot be opened."""
    from lvstui.backend import BackendError
    from lvstui.backend.ipvs import IpvsClient

    try:
        with IpvsClient() as director:
            return question(director)
    except BackendError as exc:
        raise CliError(str(exc), EXIT_FAILED) from None


def _show_daemons() -> int:
    from lvstui.ops.changes import daemon_text

    daemons = _ask_kernel(lambda director: director.read_daemons())
    for d in sorted(daemons, key=lambda d: d.state != "master"):  # ipvsadm lists the master first
        print(daemon_text(d))
    return 0


def _show_timeouts() -> int:
    t = _ask_kernel(lambda director: director.read_timeouts())
    if t is None:
        return _fail("the kernel did not report its timeouts", EXIT_FAILED)
    print(f"Timeout (tcp tcpfin udp): {t.tcp} {t.tcp_fin} {t.udp}")  # ipvsadm -L --timeout's line
    return 0


def _show_expire_quiescent() -> int:
    from lvstui.ops.engine import expire_quiescent_template

    value = expire_quiescent_template()
    if value is None:
        return _fail("net.ipv4.vs.expire_quiescent_template cannot be read (no IPVS in this kernel or "
                     "network namespace)", EXIT_FAILED)
    meaning = ("on: a drain also ends persistence's pinning" if value == 1 else
               "off: persistence keeps sending pinned clients to drained real servers until their templates "
               "expire (`lvstui expire-quiescent on` changes that)")
    print(f"net.ipv4.vs.expire_quiescent_template = {value} ({meaning})")
    return 0


def _fail(message: str, status: int) -> int:
    print(f"lvstui: {message}", file=sys.stderr)
    return status
