"""The meaning of a keepalived configuration: frozen dataclasses built from the logical tree.

Only what lvstui shows or edits is modelled; every item keeps its
:class:`Source` (file and line) so messages and edits can point at it.
keepalived's defaults are applied where the operator would otherwise have to
know them (weight 1, lb_kind NAT, protocol UDP, priority 100, ...).

Where the view says what keepalived will do, it is what keepalived 2.2.7
does, not what the file says: ``lb_kind dr`` is rejected (keepalived's words
are case-sensitive) and NAT is used, ``state master`` is BACKUP, a
``state MASTER`` that strict mode or AH authentication clears is BACKUP, a
missing priority follows the state (MASTER is 255), ``nopreempt`` is cleared
where keepalived clears it, an ``auth_pass`` is cut to 8 characters and a
``vrrp_script`` without a script is dropped.  Each difference is one line of
:attr:`ConfigView.warnings`, worded after keepalived's own message and
naming the file and line (read from keepalived's vrrp.c, vrrp_parser.c and
check_parser.c, checked against ``keepalived -t``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lvstui.model import format_endpoint

if TYPE_CHECKING:  # imported by build_view: a view loaded from the cache needs neither
    from lvstui.keepalived.expand import Node
    from lvstui.keepalived.loader import KeepalivedConfig

__all__ = [
    "CHECKER_TYPES",
    "Checker",
    "ConfRealServer",
    "ConfVrrpInstance",
    "ConfigView",
    "Source",
    "TrackFile",
    "TrackRef",
    "VirtualServer",
    "VirtualServerGroup",
    "VrrpScript",
    "VrrpSyncGroup",
    "build_view",
]

CHECKER_TYPES = ("TCP_CHECK", "HTTP_GET", "SSL_GET", "SMTP_CHECK", "MISC_CHECK", "DNS_CHECK",
                 "BFD_CHECK", "FILE_CHECK", "PING_CHECK", "UDP_CHECK")


@dataclass(frozen=True, slots=True)
class Source:
    path: Path
    line: int  # 1-based
    exact: bool = True  # False: produced by $DEFINITION / ~SEQ expansion, not editable in place

    def __str__(self) -> str:
        return f"{self.path.name}:{self.line}"


def _src(node: Node) -> Source:
    return Source(node.path, node.line, node.exact)


def _int(text: str | None, default: int | None = None) -> int | None:
    if text is None:
        return default
    try:
        return int(text.split()[0], 0)
    except (ValueError, IndexError):
        return default


def _float(text: str | None) -> float | None:
    try:
        return float(text.split()[0]) if text else None
    except ValueError:
        return None


def _params(node: Node) -> tuple[tuple[str, str], ...]:
    return tuple((c.keyword, " ".join(c.args)) for c in node.children or () if c.children is None)


@dataclass(frozen=True, slots=True)
class Checker:
    """One health checker of a real server (TCP_CHECK, HTTP_GET, ... FILE_CHECK)."""

    type: str
    params: tuple[tuple[str, str], ...]  # simple "keyword value" lines, in order
    urls: tuple[tuple[tuple[str, str], ...], ...] = ()  # HTTP_GET/SSL_GET url { } blocks
    hosts: tuple[tuple[tuple[str, str], ...], ...] = ()  # SMTP_CHECK host { } blocks
    source: Source | None = None

    def get(self, keyword: str, default: str | None = None) -> str | None:
        found = default
        for k, v in self.params:
            if k == keyword:
                found = v
        return found

    @property
    def summary(self) -> str:
        """A short description: ``TCP_CHECK port 80 timeout 3``."""
        bits = [self.type]
        keys = {"TCP_CHECK": ("connect_port", "connect_timeout"), "UDP_CHECK": ("connect_port",),
                "HTTP_GET": ("connect_port",), "SSL_GET": ("connect_port",),
                "MISC_CHECK": ("misc_path",), "FILE_CHECK": ("track_file",), "DNS_CHECK": ("type", "name"),
                "BFD_CHECK": ("name",), "SMTP_CHECK": ("helo_name",), "PING_CHECK": ()}
        for key in keys.get(self.type, ()):
            value = self.get(key)
            if value:
                bits.append(f"{key.replace('connect_', '')} {value}")
        if self.urls:
            paths = [dict(u).get("path", "?") for u in self.urls]
            bits.append("url " + ",".join(paths))
        return " ".join(bits)


@dataclass(frozen=True, slots=True)
class ConfRealServer:
    address: str
    port: int | None
    weight: int = 1
    inhibit_on_failure: bool = False
    checkers: tuple[Checker, ...] = ()
    lb_kind: str | None = None  # per real server lvs_method, if set
    params: tuple[tuple[str, str], ...] = ()
    source: Source | None = None

    @property
    def key(self) -> str:
        return format_endpoint(self.address, self.port or 0)


@dataclass(frozen=True, slots=True)
class VirtualServer:
    """A ``virtual_server`` block: by address and port, ``fwmark N`` or ``group NAME``."""

    kind: str  # "address", "fwmark" or "group"
    address: str | None = None
    port: int | None = None
    fwmark: int | None = None
    group: str | None = None
    protocol: str = "UDP"  # keepalived 2.2.7's default when the block does not say
    lb_algo: str = "wlc"  # lb_algo / lvs_sched; keepalived 2.2.7: "no scheduler set, setting default 'wlc'"
    lb_kind: str = "NAT"  # lb_kind / lvs_method
    persistence_timeout: int | None = None
    persistence_granularity: str | None = None
    quorum: int = 1
    hysteresis: int = 0
    sorry_server: str | None = None
    delay_loop: float | None = None
    inhibit_on_failure: bool = False
    real_servers: tuple[ConfRealServer, ...] = ()
    params: tuple[tuple[str, str], ...] = ()
    source: Source | None = None

    @property
    def key(self) -> str:
        """``tcp:192.168.1.100:80``, ``fwmark:1`` or ``group:NAME`` (the model's service ids)."""
        if self.kind == "fwmark":
            return f"fwmark:{self.fwmark}"
        if self.kind == "group":
            return f"group:{self.group}"
        return f"{self.protocol.lower()}:{format_endpoint(self.address or '', self.port or 0)}"

    def real_server(self, address: str, port: int | None = None) -> ConfRealServer | None:
        for rs in self.real_servers:
            if rs.address == address and (port is None or rs.port == port):
                return rs
        return None


@dataclass(frozen=True, slots=True)
class VirtualServerGroup:
    name: str
    members: tuple[str, ...]  # "10.0.0.1 8080", "192.168.200.3-10 80", "fwmark 1"
    source: Source | None = None


@dataclass(frozen=True, slots=True)
class TrackRef:
    """A name in a track_script/track_file/track_interface block, with its optional weight."""

    name: str
    weight: int | None = None
    source: Source | None = None


@dataclass(frozen=True, slots=True)
class ConfVrrpInstance:
    name: str
    state: str = "BACKUP"  # initial state as configured
    interface: str | None = None
    virtual_router_id: int | None = None
    priority: int = 100
    advert_int: float = 1.0
    nopreempt: bool = False
    authentication: tuple[tuple[str, str], ...] = ()
    virtual_ipaddresses: tuple[str, ...] = ()
    virtual_ipaddresses_excluded: tuple[str, ...] = ()
    unicast_peers: tuple[str, ...] = ()
    track_scripts: tuple[TrackRef, ...] = ()
    track_files: tuple[TrackRef, ...] = ()
    track_interfaces: tuple[TrackRef, ...] = ()
    params: tuple[tuple[str, str], ...] = ()
    source: Source | None = None


@dataclass(frozen=True, slots=True)
class VrrpSyncGroup:
    name: str
    members: tuple[str, ...]
    track_scripts: tuple[TrackRef, ...] = ()
    track_files: tuple[TrackRef, ...] = ()
    track_interfaces: tuple[TrackRef, ...] = ()
    source: Source | None = None


@dataclass(frozen=True, slots=True)
class VrrpScript:
    name: str
    script: str | None = None
    interval: float | None = None
    weight: int | None = None
    fall: int | None = None
    rise: int | None = None
    timeout: float | None = None
    source: Source | None = None


@dataclass(frozen=True, slots=True)
class TrackFile:
    """``track_file NAME {}`` or the deprecated ``vrrp_track_file NAME {}``."""

    name: str
    file: str | None = None
    weight: int | None = None
    init_file: str | None = None
    deprecated: bool = False
    source: Source | None = None


@dataclass(frozen=True, slots=True)
class ConfigView:
    global_defs: tuple[tuple[str, str], ...] = ()
    virtual_servers: tuple[VirtualServer, ...] = ()
    virtual_server_groups: tuple[VirtualServerGroup, ...] = ()
    vrrp_instances: tuple[ConfVrrpInstance, ...] = ()
    vrrp_sync_groups: tuple[VrrpSyncGroup, ...] = ()
    vrrp_scripts: tuple[VrrpScript, ...] = ()
    track_files: tuple[TrackFile, ...] = ()
    config_id: str | None = None
    notes: tuple[str, ...] = field(default=())  # things the view could not model
    # where keepalived runs something else than the file says (and what the loader warned about)
    warnings: tuple[str, ...] = field(default=())

    def global_value(self, keyword: str) -> str | None:
        """A global_defs setting (the last one wins); "" for a keyword without value."""
        found = None
        for key, value in self.global_defs:
            if key == keyword:
                found = value
        return found

    @property
    def fifos(self) -> dict[str, str]:
        """The notify FIFOs keepalived writes to: notify_fifo, vrrp_notify_fifo, lvs_notify_fifo."""
        out = {}
        for key in ("notify_fifo", "vrrp_notify_fifo", "lvs_notify_fifo"):
            value = self.global_value(key)
            if value:
                out[key] = value.split()[0]
        return out

    @property
    def unicast_peers(self) -> tuple[str, ...]:
        """Every VRRP instance's ``unicast_peer`` addresses, in order, each once (the pair's other
        director, as the dashboard offers it when no ``--peer`` is set)."""
        return tuple(dict.fromkeys(a for vi in self.vrrp_instances for a in vi.unicast_peers))

    def virtual_server(self, key: str) -> VirtualServer | None:
        for vs in self.virtual_servers:
            if vs.key == key:
                return vs
        return None

    def vrrp_instance(self, name: str) -> ConfVrrpInstance | None:
        for vi in self.vrrp_instances:
            if vi.name == name:
                return vi
        return None

    def to_dict(self) -> dict[str, Any]:
        return _to_jsonable(self)  # type: ignore[no-any-return]


def _to_jsonable(obj: Any) -> Any:
    if isinstance(obj, Source):
        return {"file": str(obj.path), "line": obj.line, "exact": obj.exact}
    if hasattr(obj, "__dataclass_fields__"):
        out: dict[str, Any] = {}
        for name in obj.__dataclass_fields__:
            value = getattr(obj, name)
            if name in ("params", "global_defs", "authentication") and isinstance(value, tuple):
                out[name] = dict(value)
            elif name in ("urls", "hosts"):
                out[name] = [dict(u) for u in value]
            else:
                out[name] = _to_jsonable(value)
        if isinstance(obj, (VirtualServer, ConfRealServer)):
            out["key"] = obj.key
        return out
    if isinstance(obj, (tuple, list)):
        return [_to_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    return obj


def _checker(node: Node) -> Checker:
    urls = tuple(_params(c) for c in node.all("url") if c.children is not None)
    hosts = tuple(_params(c) for c in node.all("host") if c.children is not None)
    return Checker(type=node.keyword, params=_params(node), urls=urls, hosts=hosts, source=_src(node))


FORWARDING_METHODS = ("NAT", "DR", "TUN")  # keepalived compares them case-sensitively


def _forwarding(node: Node, keywords: tuple[str, ...], default: str | None, what: str,
                warnings: list[str]) -> str | None:
    """The forwarding method keepalived ends with: the last valid one; an unknown one is refused."""
    method = default
    for c in node.children or ():
        if c.keyword not in keywords:
            continue
        value = c.args[0] if c.args else ""
        if value in FORWARDING_METHODS:
            method = value
        else:
            kept = f"uses {method}" if method else "uses the virtual server's"
            warnings.append(f"{_src(c)}: unknown [{value}] routing method for {what} server; keepalived {kept}"
                            + (f" (write {value.upper()})" if value.upper() in FORWARDING_METHODS else ""))
    return method


def _protocol(node: Node, warnings: list[str]) -> str:
    """keepalived's protocol: TCP, UDP or SCTP in any case, the last valid one; UDP when none is."""
    protocol = None
    for c in node.all("protocol"):
        value = c.args[0] if c.args else ""
        if value.upper() in ("TCP", "UDP", "SCTP"):
            protocol = value.upper()
        else:
            warnings.append(f"{_src(c)}: unknown protocol {value} - keepalived ignores it"
                            f" and uses {protocol or 'UDP'}")
    return protocol or "UDP"


def _real_server(node: Node, vs_inhibit: bool, warnings: list[str]) -> ConfRealServer:
    checkers = tuple(_checker(c) for c in node.children or () if c.keyword in CHECKER_TYPES)
    inhibit = node.child("inhibit_on_failure")
    return ConfRealServer(
        address=node.args[0] if node.args else "",
        port=_int(node.args[1]) if len(node.args) > 1 else None,
        weight=_int(node.value("weight"), 1) or 0,
        inhibit_on_failure=vs_inhibit if inhibit is None else _bool(inhibit),
        checkers=checkers,
        lb_kind=_forwarding(node, ("lvs_method",), None, "real", warnings),
        params=_params(node),
        source=_src(node),
    )


def _bool(node: Node) -> bool:
    return not node.args or node.args[0].lower() in ("on", "true", "yes")


def _virtual_server(node: Node, warnings: list[str]) -> VirtualServer:
    args = node.args
    kind, address, port, fwmark, group = "address", None, None, None, None
    if args and args[0] == "fwmark":
        kind, fwmark = "fwmark", _int(args[1] if len(args) > 1 else None)
    elif args and args[0] == "group":
        kind, group = "group", args[1] if len(args) > 1 else ""
    else:
        address = args[0] if args else None
        port = _int(args[1]) if len(args) > 1 else 0
    inhibit_node = node.child("inhibit_on_failure")
    inhibit = _bool(inhibit_node) if inhibit_node else False
    sorry = node.child("sorry_server")
    return VirtualServer(
        kind=kind, address=address, port=port, fwmark=fwmark, group=group,
        # measured: keepalived 2.2.7 -t says "no protocol set - defaulting to UDP"
        protocol=_protocol(node, warnings),
        lb_algo=node.value("lvs_sched") or node.value("lb_algo") or "wlc",
        # measured: "no forwarding method set, setting default NAT"; "unknown [dr] routing method"
        lb_kind=_forwarding(node, ("lb_kind", "lvs_method"), "NAT", "virtual", warnings) or "NAT",
        persistence_timeout=_int(node.value("persistence_timeout") or
                                 ("360" if node.child("persistence_timeout") else None)),
        persistence_granularity=node.value("persistence_granularity"),
        quorum=_int(node.value("quorum"), 1) or 1,
        hysteresis=_int(node.value("hysteresis"), 0) or 0,
        sorry_server=" ".join(sorry.args) if sorry else None,
        delay_loop=_float(node.value("delay_loop")),
        inhibit_on_failure=inhibit,
        real_servers=tuple(_real_server(c, inhibit, warnings) for c in node.all("real_server")),
        params=_params(node),
        source=_src(node),
    )


def _refs(node: Node | None) -> tuple[TrackRef, ...]:
    refs = []
    for c in (node.children or ()) if node else ():
        weight = None
        if "weight" in c.args:
            i = c.args.index("weight")
            weight = _int(c.args[i + 1]) if i + 1 < len(c.args) else None
        refs.append(TrackRef(name=c.keyword, weight=weight, source=_src(c)))
    return tuple(refs)


def _lines(node: Node | None) -> tuple[str, ...]:
    if node is None:
        return ()
    return tuple(" ".join((c.keyword, *c.args)) for c in node.children or ())


def _first_words(node: Node | None) -> tuple[str, ...]:
    if node is None:
        return ()
    return tuple(c.keyword for c in node.children or ())


def _true_false(text: str) -> bool | None:
    return {"true": True, "on": True, "yes": True, "false": False, "off": False, "no": False}.get(text)


@dataclass(frozen=True, slots=True)
class _VrrpGlobals:
    strict: bool = False  # global_defs vrrp_strict
    version: int = 2  # global_defs vrrp_version


def _vrrp_state(node: Node, name: str, warnings: list[str]) -> str | None:
    """The initial state keepalived reads (None: not set): words are case-sensitive, MASTER sticks."""
    state = None
    for c in node.all("state"):
        value = c.args[0] if c.args else ""
        if value == "MASTER":
            state = "MASTER"
        elif value == "BACKUP":
            if state == "MASTER":
                warnings.append(f"{_src(c)}: ({name}) state previously set as MASTER - ignoring BACKUP")
            else:
                state = "BACKUP"
        else:
            warnings.append(f"{_src(c)}: ({name}) unknown state '{value}', defaulting to BACKUP")
            state = "BACKUP"
    return state


def _vrrp_priority(node: Node, name: str, warnings: list[str]) -> int:
    """The priority keepalived reads (0: not set); one outside 1..255 is replaced by 100."""
    priority = 0
    for c in node.all("priority"):
        value = c.args[0] if c.args else ""
        if value.isdigit() and 1 <= int(value) <= 255:
            priority = int(value)
        else:
            warnings.append(f"{_src(c)}: ({name}) priority not valid, must be between 1 & 255; keepalived uses 100")
            priority = 100
    return priority


def _vrrp_auth(node: Node, name: str, strict: bool, version: int,
               warnings: list[str]) -> tuple[tuple[tuple[str, str], ...], str | None]:
    """The authentication keepalived uses (params, with auth_pass cut to 8) and its type.

    ((), None) where keepalived ignores the block (no valid auth_type, strict mode, VRRP
    version 3, no password).
    """
    auth = node.child("authentication")
    if auth is None:
        return (), None
    params = list(_params(auth))
    auth_type = None
    for c in auth.all("auth_type"):
        value = c.args[0] if c.args else ""
        if value in ("PASS", "AH"):
            auth_type = value
        else:
            warnings.append(f"{_src(c)}: ({name}) unknown authentication type '{value}'")
    password = ""
    for c in auth.all("auth_pass"):
        password = c.args[0] if c.args else ""
        if len(password) > 8:
            warnings.append(f"{_src(c)}: ({name}) truncating auth_pass to 8 characters: keepalived uses "
                            f"the first 8 of {len(password)}")
            password = password[:8]
    params = [(k, password if k == "auth_pass" else v) for k, v in params]
    if auth_type is None:  # no (valid) auth_type: keepalived authenticates nothing
        return (), None
    where = _src(auth)
    if strict:
        warnings.append(f"{where}: ({name}) strict mode does not support authentication; keepalived ignores it")
    elif version == 3:
        warnings.append(f"{where}: ({name}) VRRP version 3 does not support authentication; keepalived ignores it")
    elif not password:
        warnings.append(f"{where}: ({name}) authentication specified but no password given; keepalived ignores it")
    else:
        return tuple(params), auth_type
    return (), None  # keepalived runs this instance without authentication


def _vrrp_instance(node: Node, globals_: _VrrpGlobals, warnings: list[str]) -> ConfVrrpInstance:
    name = node.args[0] if node.args else ""
    where = _src(node)
    strict = globals_.strict
    for c in node.all("strict_mode"):
        value = _true_false(c.args[0]) if c.args else True
        if value is None:
            warnings.append(f"{_src(c)}: ({name}) invalid strict_mode {c.args[0]} specified")
        else:
            strict = value
    version = _int(node.value("version"), globals_.version) or 2
    state = _vrrp_state(node, name, warnings)
    priority = _vrrp_priority(node, name, warnings)
    if priority == 0:  # keepalived: "If no priority has been set, derive it from the initial state"
        priority = 255 if state == "MASTER" else 100
    owner = priority == 255
    if state is None:  # "If no initial state has been set, derive it from the priority"
        state = "MASTER" if owner else "BACKUP"
    elif strict and (state == "MASTER") != owner:
        warnings.append(f"{where}: ({name}) state MASTER must match being address owner (priority 255);"
                        f" keepalived uses {'MASTER' if owner else 'BACKUP'}")
        state = "MASTER" if owner else "BACKUP"
    authentication, auth_type = _vrrp_auth(node, name, strict, version, warnings)
    if auth_type == "AH" and state == "MASTER" and not owner:
        warnings.append(f"{where}: ({name}) initial state master is incompatible with AH authentication"
                        " - clearing: keepalived starts as BACKUP")
        state = "BACKUP"
    nopreempt = node.child("nopreempt") is not None
    if nopreempt and owner:
        warnings.append(f"{where}: ({name}) nopreempt is incompatible with priority 255 - keepalived resets it")
        nopreempt = False
    if nopreempt and state == "MASTER":
        warnings.append(f"{where}: ({name}) nopreempt will not work with initial state MASTER"
                        " - keepalived clears it")
        nopreempt = False
    vips = node.child("virtual_ipaddress")
    excluded = node.child("virtual_ipaddress_excluded")
    return ConfVrrpInstance(
        name=name,
        state=state,
        interface=node.value("interface"),
        virtual_router_id=_int(node.value("virtual_router_id")),
        priority=priority,
        advert_int=_float(node.value("advert_int")) or 1.0,
        nopreempt=nopreempt,
        authentication=authentication,
        virtual_ipaddresses=_first_words(vips),
        virtual_ipaddresses_excluded=_first_words(excluded),
        unicast_peers=_first_words(node.child("unicast_peer")),
        track_scripts=_refs(node.child("track_script")),
        track_files=_refs(node.child("track_file")),
        track_interfaces=_refs(node.child("track_interface")),
        params=_params(node),
        source=where,
    )


def build_view(config: KeepalivedConfig, config_id: str | None = None) -> ConfigView:
    """The semantic view of ``config`` as keepalived started with ``-i config_id`` reads it."""
    from lvstui.keepalived.expand import expand

    roots = expand(config, config_id)
    global_defs: tuple[tuple[str, str], ...] = ()
    vss: list[VirtualServer] = []
    groups: list[VirtualServerGroup] = []
    instances: list[ConfVrrpInstance] = []
    syncs: list[VrrpSyncGroup] = []
    scripts: list[VrrpScript] = []
    tracks: list[TrackFile] = []
    notes: list[str] = []
    warnings: list[str] = list(config.warnings)
    globals_ = _vrrp_globals(roots)
    for node in roots:
        kw = node.keyword
        name = node.args[0] if node.args else ""
        if kw == "global_defs":
            global_defs += _params(node)
        elif kw == "virtual_server":
            vss.append(_virtual_server(node, warnings))
        elif kw == "virtual_server_group":
            groups.append(VirtualServerGroup(name=name, members=_lines(node), source=_src(node)))
        elif kw == "vrrp_instance":
            instances.append(_vrrp_instance(node, globals_, warnings))
        elif kw == "vrrp_sync_group":
            syncs.append(VrrpSyncGroup(
                name=name, members=_lines(node.child("group")),
                track_scripts=_refs(node.child("track_script")),
                track_files=_refs(node.child("track_file")),
                track_interfaces=_refs(node.child("track_interface")), source=_src(node)))
        elif kw == "vrrp_script":
            if not (node.value("script") or "").strip():
                warnings.append(f"{_src(node)}: no script set for vrrp_script {name} - keepalived removes it"
                                " (and every track_script naming it)")
                continue
            scripts.append(VrrpScript(
                name=name, script=node.value("script"), interval=_float(node.value("interval")),
                weight=_int(node.value("weight")), fall=_int(node.value("fall")),
                rise=_int(node.value("rise")), timeout=_float(node.value("timeout")), source=_src(node)))
        elif kw in ("track_file", "vrrp_track_file") and node.children is not None:
            tracks.append(TrackFile(
                name=name, file=node.value("file"), weight=_int(node.value("weight")),
                init_file=node.value("init_file"), deprecated=kw == "vrrp_track_file", source=_src(node)))
        elif kw == "" and node.children is not None:
            notes.append(f"{_src(node)}: block without a keyword")
    return ConfigView(
        global_defs=global_defs, virtual_servers=tuple(vss), virtual_server_groups=tuple(groups),
        vrrp_instances=tuple(instances), vrrp_sync_groups=tuple(syncs), vrrp_scripts=tuple(scripts),
        track_files=tuple(tracks), config_id=config_id, notes=tuple(notes), warnings=tuple(warnings))


def _vrrp_globals(roots: list[Node]) -> _VrrpGlobals:
    strict, version = False, 2
    for node in roots:
        if node.keyword == "global_defs":
            if node.child("vrrp_strict") is not None:
                strict = True
            version = _int(node.value("vrrp_version"), version) or version
    return _VrrpGlobals(strict=strict, version=version)
