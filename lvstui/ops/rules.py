"""Reading a saved table: the ``ipvsadm -S -n`` lines ``lvstui save`` writes (and ``-x``/``-y``).

:func:`parse_rules` turns the text into the services and real servers it declares, validated
as every change is (addresses, ports, schedulers, flags, weights, thresholds); each bad line
is one :class:`InvalidInput` naming ``FILE:LINE``.  Only what ipvsadm's save writes is read:
``-A``/``-a`` with ``-t``/``-u``/``--sctp-service``/``-f N [-6]``, ``-s``, ``-p``, ``-M``, ``-o``,
``-b``, ``--pe``, ``-r``, ``-g``/``-m``/``-i``, ``-w``, ``-x``, ``-y``, ``--tun-type``,
``--tun-port`` and ``--tun-nocsum``/``--tun-csum``/``--tun-remcsum``.
"""

from __future__ import annotations

import dataclasses
import shlex
from dataclasses import dataclass, field

from lvstui.model import Forward, RealServer, VirtualService
from lvstui.ops import targets as t
from lvstui.ops.targets import InvalidInput

__all__ = ["SavedServer", "SavedService", "parse_rules"]

_PROTOCOLS = {"-t": "tcp", "--tcp-service": "tcp", "-u": "udp", "--udp-service": "udp", "--sctp-service": "sctp"}
_FORWARDS = {"-g": Forward.DR, "--gatewaying": Forward.DR, "-m": Forward.NAT, "--masquerading": Forward.NAT,
             "-i": Forward.TUN, "--ipip": Forward.TUN}
_TUN_FLAGS = {"--tun-nocsum": "nocsum", "--tun-csum": "csum", "--tun-remcsum": "remcsum"}


@dataclass(frozen=True)
class SavedServer:
    rs: RealServer
    thresholds_given: bool  # ipvsadm -S does not write -x/-y: then the kernel's are kept


@dataclass
class SavedService:
    vs: VirtualService  # without real servers
    servers: list[SavedServer] = field(default_factory=list)
    line: int = 0


def _take(words: list[str], i: int, where: str) -> str:
    if i + 1 >= len(words):
        raise InvalidInput(f"{where}: {words[i]} needs a value")
    return words[i + 1]


def _service_of(words: list[str], where: str) -> tuple[t.ServiceKey, dict[str, str | bool]]:
    """The service key of an -A/-a line, and its other options (values, or True for flags)."""
    key: t.ServiceKey | None = None
    opts: dict[str, str | bool] = {}
    inet6 = False
    fwmark: int | None = None
    i = 1
    while i < len(words):
        w = words[i]
        if w in _PROTOCOLS:
            key = t.parse_service_id(f"{_PROTOCOLS[w]}:{_take(words, i, where)}")
            i += 2
        elif w in ("-f", "--fwmark-service"):
            raw = _take(words, i, where)
            if not raw.isdigit() or not 0 < int(raw) < 2**32:
                raise InvalidInput(f"{where}: fwmark {raw!r} is not a number 1-4294967295")
            fwmark = int(raw)
            i += 2
        elif w in ("-6", "--ipv6"):
            inet6 = True
            i += 1
        elif w in ("-o", "--ops", *_FORWARDS, *_TUN_FLAGS):
            opts[w] = True
            i += 1
        elif w.startswith("-"):
            opts[w] = _take(words, i, where)
            i += 2
        else:
            raise InvalidInput(f"{where}: unexpected {w!r}")
    if fwmark is not None:
        key = t.parse_service_id(f"fwmark:{fwmark}" + (":inet6" if inet6 else ""))
    if key is None:
        raise InvalidInput(f"{where}: no service (-t, -u, --sctp-service or -f)")
    return key, opts


_SERVICE_OPTS = {"-s", "--scheduler", "-p", "--persistent", "-M", "--netmask", "-o", "--ops", "-b",
                 "--sched-flags", "--pe"}
_SERVER_OPTS = {"-r", "--real-server", "-w", "--weight", "-x", "--u-threshold", "-y", "--l-threshold",
                "--tun-type", "--tun-port", *_FORWARDS, *_TUN_FLAGS}


def _opt(opts: dict[str, str | bool], *names: str) -> str | None:
    for name in names:
        value = opts.get(name)
        if isinstance(value, str):
            return value
    return None


def _service(key: t.ServiceKey, opts: dict[str, str | bool], where: str) -> VirtualService:
    unknown = set(opts) - _SERVICE_OPTS
    if unknown:
        raise InvalidInput(f"{where}: {', '.join(sorted(unknown))} is not an option of a service line")
    scheduler = t.parse_scheduler(_opt(opts, "-s", "--scheduler") or "wlc")
    timeout_text = _opt(opts, "-p", "--persistent")
    timeout = t.parse_timeout(timeout_text) if timeout_text is not None else 0
    default_mask = "128" if key.family == "inet6" else "255.255.255.255"
    mask_text = _opt(opts, "-M", "--netmask")
    netmask = t.parse_netmask(mask_text, key.family) if mask_text else default_mask
    flags: list[str] = ["persistent"] if timeout else []
    if opts.get("-o") or opts.get("--ops"):
        flags.append("ops")
    sched_flags = _opt(opts, "-b", "--sched-flags")
    if sched_flags:
        order = ("sh-fallback", "mh-fallback", "sh-port", "mh-port")  # the kernel's bit order, as it reads back
        flags += sorted((f for f in t.parse_flags(sched_flags, scheduler) if f != "ops"), key=order.index)
    pe = _opt(opts, "--pe")
    if pe is not None and pe not in t.PERSISTENCE_ENGINES:
        raise InvalidInput(f"{where}: unknown persistence engine {pe!r}")
    return VirtualService(protocol=key.protocol, family=key.family, address=key.address, port=key.port,
                          fwmark=key.fwmark, scheduler=scheduler, flags=tuple(flags), persistence_timeout=timeout,
                          netmask=netmask, persistence_engine=pe or None)


def _server(vs: VirtualService, opts: dict[str, str | bool], where: str) -> SavedServer:
    unknown = set(opts) - _SERVER_OPTS
    if unknown:
        raise InvalidInput(f"{where}: {', '.join(sorted(unknown))} is not an option of a real-server line")
    target = _opt(opts, "-r", "--real-server")
    if target is None:
        raise InvalidInput(f"{where}: no real server (-r ADDRESS:PORT)")
    key = t.parse_server_id(target, allow_port_zero=vs.fwmark is not None)
    forwards = [f for name, f in _FORWARDS.items() if opts.get(name)]
    if len(set(forwards)) > 1:
        raise InvalidInput(f"{where}: more than one forwarding method")
    forward = forwards[0] if forwards else Forward.DR
    upper, lower = _opt(opts, "-x", "--u-threshold"), _opt(opts, "-y", "--l-threshold")
    rs = RealServer(address=key.address, port=key.port, family=key.family, forward=forward,
                    weight=t.parse_weight(_opt(opts, "-w", "--weight") or "1"),
                    upper_threshold=t.parse_threshold(upper, "upper") if upper is not None else 0,
                    lower_threshold=t.parse_threshold(lower, "lower") if lower is not None else 0)
    if rs.upper_threshold and rs.lower_threshold > rs.upper_threshold:
        raise InvalidInput(f"{where}: lower threshold {rs.lower_threshold} is above upper threshold "
                           f"{rs.upper_threshold}")
    tun_type = _opt(opts, "--tun-type")
    if forward is Forward.TUN:
        tun_type = tun_type or "ipip"
        if tun_type not in ("ipip", "gue", "gre"):
            raise InvalidInput(f"{where}: unknown tunnel type {tun_type!r} (ipip, gue, gre)")
        port_text = _opt(opts, "--tun-port")
        if tun_type == "gue" and port_text is None:
            raise InvalidInput(f"{where}: a gue tunnel needs --tun-port")
        if port_text is not None and not (port_text.isdigit() and 0 < int(port_text) < 65536):
            raise InvalidInput(f"{where}: --tun-port {port_text!r} is not a port 1-65535")
        rs = dataclasses.replace(rs, tun_type=tun_type, tun_port=int(port_text) if port_text else 0,
                                 tun_flags=tuple(f for name, f in _TUN_FLAGS.items() if opts.get(name)))
    elif tun_type is not None:
        raise InvalidInput(f"{where}: --tun-type needs tunnel forwarding (-i)")
    elif vs.fwmark is None and rs.family != vs.family:
        raise InvalidInput(f"{where}: an {rs.family} real server in an {vs.family} service needs tunnel forwarding")
    return SavedServer(rs, upper is not None or lower is not None)


def parse_rules(text: str, source: str) -> list[SavedService]:
    """The services and real servers of saved rules, in the file's order; InvalidInput ``SOURCE:LINE``."""
    services: dict[str, SavedService] = {}
    for number, line in enumerate(text.splitlines(), 1):
        where = f"{source}:{number}"
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            words = shlex.split(line)
        except ValueError as exc:
            raise InvalidInput(f"{where}: {exc}") from None
        if words[0] not in ("-A", "--add-service", "-a", "--add-server"):
            raise InvalidInput(f"{where}: {words[0]!r}: only -A and -a lines (as ipvsadm -S writes) are read")
        try:
            key, opts = _service_of(words, where)
            if words[0] in ("-A", "--add-service"):
                if key.id in services:
                    raise InvalidInput(f"{key.id} is declared twice (line {services[key.id].line} too)")
                services[key.id] = SavedService(_service(key, opts, where), line=number)
            else:
                saved = services.get(key.id)
                if saved is None:
                    raise InvalidInput(f"real server of {key.id} before its -A line")
                server = _server(saved.vs, opts, where)
                if any(s.rs.id == server.rs.id for s in saved.servers):
                    raise InvalidInput(f"real server {server.rs.id} of {key.id} is declared twice")
                saved.servers.append(server)
        except InvalidInput as exc:
            message = str(exc)
            raise InvalidInput(message if message.startswith(where) else f"{where}: {message}") from None
    return list(services.values())
