"""The director plan: ipvsadm and keepalived installed (apt: lvstui.setup.packages), keepalived.conf for a
MASTER/BACKUP pair written (checked with ``keepalived -t`` first), keepalived
enabled and started, then IPVS and the VRRP state verified.

The form comes from a TOML file (see lvstui/setup/README.md and
examples/director.toml); :func:`load_director_spec` validates all of it.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lvstui.safeio import FileRefused, read_regular
from lvstui.setup import validate as v
from lvstui.setup.packages import AptInstallStep
from lvstui.setup.plan import CommandStep, FileStep, SetupPlan, SetupStep, VerifyStep
from lvstui.setup.runner import Runner, RunResult, Script

__all__ = [
    "PLAN_NAME",
    "DirectorEntry",
    "DirectorSpec",
    "HostFacts",
    "RealServerEntry",
    "director_plan",
    "keepalived_conf",
    "load_director_spec",
    "parse_director_spec",
    "probe_director_host",
]

PLAN_NAME = "director"
CONF = "/etc/keepalived/keepalived.conf"
PIDFILE = "/run/keepalived.pid"
PACKAGES = ("ipvsadm", "keepalived")


@dataclass(frozen=True)
class RealServerEntry:
    address: str
    weight: int = 1
    port: int | None = None  # defaults to the virtual server's port


@dataclass(frozen=True)
class DirectorEntry:
    host: str
    state: str   # MASTER or BACKUP
    priority: int
    interface: str


@dataclass(frozen=True)
class DirectorSpec:
    vip: str                      # bare address
    port: int
    protocol: str
    lb_algo: str
    lb_kind: str
    persistence_timeout: int
    delay_loop: int
    check: str                    # TCP_CHECK or HTTP_GET
    connect_timeout: int
    http_path: str
    http_status: int
    real_servers: tuple[RealServerEntry, ...]
    interface: str
    virtual_router_id: int
    auth_pass: str
    advert_int: int
    instance: str
    directors: tuple[DirectorEntry, ...]


def _table(data: dict[str, Any], name: str) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise v.ValidationError(f"[{name}] must be a table")
    return value


def _known(table: dict[str, Any], where: str, keys: set[str]) -> None:
    extra = sorted(set(table) - keys)
    if extra:
        raise v.ValidationError(f"{where}: unknown key {extra[0]!r} (known: {', '.join(sorted(keys))})")


def parse_director_spec(data: dict[str, Any], hosts: list[str] | None = None) -> DirectorSpec:
    """Validate a parsed TOML document; *hosts* (from the command line) replace the directors' hosts."""
    _known(data, "plan", {"virtual_server", "health_check", "real_server", "vrrp", "director"})
    vs = _table(data, "virtual_server")
    _known(vs, "[virtual_server]", {"vip", "port", "protocol", "lb_algo", "lb_kind", "persistence_timeout",
                                    "delay_loop"})
    hc = _table(data, "health_check")
    _known(hc, "[health_check]", {"type", "connect_timeout", "path", "status"})
    vr = _table(data, "vrrp")
    _known(vr, "[vrrp]", {"interface", "virtual_router_id", "auth_pass", "advert_int", "instance"})
    if "vip" not in vs or "port" not in vs:
        raise v.ValidationError("[virtual_server] needs vip and port")
    vip = v.vip(vs["vip"], "virtual_server.vip").split("/")[0]
    port = v.port(vs["port"], "virtual_server.port")
    check = str(hc.get("type", "TCP_CHECK")).upper()
    if check not in ("TCP_CHECK", "HTTP_GET"):
        raise v.ValidationError(f"health_check.type: {check!r} must be TCP_CHECK or HTTP_GET")
    reals = []
    raw_reals = data.get("real_server", [])
    if not isinstance(raw_reals, list) or not raw_reals:
        raise v.ValidationError("at least one [[real_server]] is needed")
    for n, rs in enumerate(raw_reals, 1):
        where = f"real_server {n}"
        if not isinstance(rs, dict) or "address" not in rs:
            raise v.ValidationError(f"{where}: needs an address")
        _known(rs, where, {"address", "weight", "port"})
        reals.append(RealServerEntry(v.address(rs["address"], f"{where}.address"),
                                     v.weight(rs.get("weight", 1), f"{where}.weight"),
                                     v.port(rs["port"], f"{where}.port") if "port" in rs else None))
    if len({r.address for r in reals}) != len(reals):
        raise v.ValidationError("real servers: an address is listed twice")
    interface = v.interface(vr.get("interface", "eth0"), "vrrp.interface")
    directors = []
    raw_dirs = data.get("director", [])
    if not isinstance(raw_dirs, list) or len(raw_dirs) not in (1, 2):
        raise v.ValidationError("one or two [[director]] entries are needed (MASTER, then BACKUP)")
    if hosts and len(hosts) != len(raw_dirs):
        raise v.ValidationError(f"{len(hosts)} host(s) given for {len(raw_dirs)} [[director]] entries")
    for n, d in enumerate(raw_dirs):
        where = f"director {n + 1}"
        if not isinstance(d, dict):
            raise v.ValidationError(f"{where}: must be a table")
        _known(d, where, {"host", "state", "priority", "interface"})
        host = hosts[n] if hosts else d.get("host")
        if not host:
            raise v.ValidationError(f"{where}: no host (give it in the file or on the command line)")
        v.ssh_target(str(host).rsplit(":", 1)[0] if str(host).count(":") == 1 else host, f"{where}.host")
        state = str(d.get("state", "MASTER" if n == 0 else "BACKUP")).upper()
        if state not in ("MASTER", "BACKUP"):
            raise v.ValidationError(f"{where}.state: {state!r} must be MASTER or BACKUP")
        directors.append(DirectorEntry(str(host), state, v.priority(d.get("priority", 150 if n == 0 else 100),
                                                                    f"{where}.priority"),
                                       v.interface(d.get("interface", interface), f"{where}.interface")))
    if len(directors) == 2:
        if {d.state for d in directors} != {"MASTER", "BACKUP"}:
            raise v.ValidationError("directors: one must be MASTER and the other BACKUP")
        master = next(d for d in directors if d.state == "MASTER")
        backup = next(d for d in directors if d.state == "BACKUP")
        if master.priority <= backup.priority:
            raise v.ValidationError("directors: the MASTER's priority must be higher than the BACKUP's")
    instance = str(vr.get("instance", "VI_1"))
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,32}", instance):
        raise v.ValidationError(f"vrrp.instance: {instance!r} must be 1-32 of A-Z a-z 0-9 _ -")
    if "auth_pass" not in vr:
        raise v.ValidationError("[vrrp] needs auth_pass (at most 8 characters)")
    return DirectorSpec(
        vip=vip, port=port, protocol=v.protocol(vs.get("protocol", "TCP"), "virtual_server.protocol"),
        lb_algo=v.lb_algo(vs.get("lb_algo", "wlc"), "virtual_server.lb_algo"),
        lb_kind=v.lb_kind(vs.get("lb_kind", "DR"), "virtual_server.lb_kind"),
        persistence_timeout=(v.positive_int(vs["persistence_timeout"], "virtual_server.persistence_timeout")
                             if vs.get("persistence_timeout") else 0),
        delay_loop=v.positive_int(vs.get("delay_loop", 6), "virtual_server.delay_loop", 3600),
        check=check,
        connect_timeout=v.positive_int(hc.get("connect_timeout", 3), "health_check.connect_timeout", 300),
        http_path=v.http_path(hc.get("path", "/"), "health_check.path"),
        http_status=v.http_status(hc.get("status", 200), "health_check.status"),
        real_servers=tuple(reals), interface=interface,
        virtual_router_id=v.router_id(vr.get("virtual_router_id", 51), "vrrp.virtual_router_id"),
        auth_pass=v.auth_pass(vr["auth_pass"], "vrrp.auth_pass"),
        advert_int=v.positive_int(vr.get("advert_int", 1), "vrrp.advert_int", 255),
        instance=instance, directors=tuple(directors))


#: A director form is a page of TOML; a bigger file is not one (never read into memory).
MAX_PLAN_BYTES = 1 << 20


def load_director_spec(path: str | Path, hosts: list[str] | None = None) -> DirectorSpec:
    try:
        raw = read_regular(path, MAX_PLAN_BYTES)
    except FileRefused as exc:
        raise v.ValidationError(f"{path}: {exc}") from None
    if raw is None:
        raise v.ValidationError(f"{path}: No such file or directory")
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise v.ValidationError(f"{path}:{line}: not UTF-8 (TOML files are UTF-8)") from None
    except tomllib.TOMLDecodeError as exc:
        raise v.ValidationError(f"{path}: not valid TOML: {exc}") from None
    except RecursionError:  # tomllib recurses per nested array or inline table
        raise v.ValidationError(f"{path}: not valid TOML: nested too deeply") from None
    try:
        return parse_director_spec(data, hosts)
    except v.ValidationError as exc:
        raise v.ValidationError(f"{path}: {exc}") from None


def keepalived_conf(spec: DirectorSpec, director: DirectorEntry) -> str:
    width = 128 if ":" in spec.vip else 32
    lines = [
        "# Written by lvstui setup director; the next run replaces it, --undo restores the previous file.",
        "global_defs {",
        f"    router_id lvstui_{re.sub(r'[^A-Za-z0-9_]', '_', director.host.rpartition('@')[2])}",
        "}",
        "",
        f"vrrp_instance {spec.instance} {{",
        f"    state {director.state}",
        f"    interface {director.interface}",
        f"    virtual_router_id {spec.virtual_router_id}",
        f"    priority {director.priority}",
        f"    advert_int {spec.advert_int}",
        "    authentication {",
        "        auth_type PASS",
        f"        auth_pass {spec.auth_pass}",
        "    }",
        "    virtual_ipaddress {",
        f"        {spec.vip}/{width} dev {director.interface}",
        "    }",
        "}",
        "",
        f"virtual_server {spec.vip} {spec.port} {{",
        f"    delay_loop {spec.delay_loop}",
        f"    lb_algo {spec.lb_algo}",
        f"    lb_kind {spec.lb_kind}",
    ]
    if spec.persistence_timeout:
        lines.append(f"    persistence_timeout {spec.persistence_timeout}")
    lines.append(f"    protocol {spec.protocol}")
    for rs in spec.real_servers:
        port = rs.port or spec.port
        lines += ["", f"    real_server {rs.address} {port} {{", f"        weight {rs.weight}"]
        if spec.check == "TCP_CHECK":
            lines += ["        TCP_CHECK {", f"            connect_timeout {spec.connect_timeout}",
                      "        }"]
        else:
            lines += ["        HTTP_GET {", "            url {", f"                path {spec.http_path}",
                      f"                status_code {spec.http_status}", "            }",
                      f"            connect_timeout {spec.connect_timeout}", "        }"]
        lines.append("    }")
    lines.append("}")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class HostFacts:
    """What the director plan needs to know about a host (found read-only)."""

    package_manager: str           # apt, dnf, yum or "" (none found)
    missing: tuple[str, ...]       # packages not installed
    systemd: bool                  # systemd is PID 1


_PROBE = Script(
    "for pm in apt-get dnf yum; do command -v $pm >/dev/null && { echo pm=$pm; break; }; done; "
    "for p in ipvsadm keepalived; do command -v $p >/dev/null || echo missing=$p; done; "
    "[ -d /run/systemd/system ] && echo systemd=1; true")


def probe_director_host(runner: Runner) -> HostFacts:
    out = runner.run(_PROBE).stdout.split()
    pm = next((w[3:] for w in out if w.startswith("pm=")), "")
    missing = tuple(w[8:] for w in out if w.startswith("missing="))
    return HostFacts({"apt-get": "apt"}.get(pm, pm), missing, "systemd=1" in out)


def _install_step(facts: HostFacts) -> SetupStep | None:
    if not facts.missing:
        return CommandStep("ipvsadm and keepalived are installed", ["true"],
                           check=Script("command -v ipvsadm && command -v keepalived"))
    pkgs = list(facts.missing)
    if facts.package_manager == "apt":
        # no service starts while installing; a failure leaves dpkg as it was; undo purges what appeared
        return AptInstallStep(tuple(pkgs))
    cmd: Any
    undo: Any
    if facts.package_manager in ("dnf", "yum"):
        cmd = [facts.package_manager, "install", "-y", *pkgs]
        undo = [[facts.package_manager, "remove", "-y", *pkgs]]
    else:
        cmd = Script(f"echo 'no apt-get, dnf or yum: install {' '.join(pkgs)} by hand' >&2; exit 1")
        undo = []
    return CommandStep(f"install {' '.join(pkgs)} ({facts.package_manager or 'no package manager'})", cmd,
                       check=Script("command -v ipvsadm && command -v keepalived"), undo=undo, timeout=600)


def _service_steps(facts: HostFacts) -> list[SetupStep]:
    pid = shlex.quote(PIDFILE)
    if facts.systemd:
        return [
            CommandStep("enable and start keepalived", ["systemctl", "enable", "--now", "keepalived"],
                        check=Script("systemctl is-enabled -q keepalived && "
                                     "systemctl is-active -q keepalived"),
                        undo=[["systemctl", "disable", "--now", "keepalived"]], key="start"),
            CommandStep("reload keepalived with the new configuration", ["systemctl", "reload", "keepalived"],
                        check=["true"], also_after=("conf",)),
        ]
    running = f"[ -s {pid} ] && kill -0 \"$(cat {pid})\" 2>/dev/null"
    return [
        CommandStep("start keepalived (no systemd on this host)",
                    ["keepalived", "-f", CONF, "-p", PIDFILE], check=Script(running),
                    undo=[Script(f"if {running}; then kill \"$(cat {pid})\"; for i in $(seq 50); do "
                                 f"{running} || exit 0; sleep 0.1; done; fi")], key="start"),
        CommandStep("reload keepalived with the new configuration", Script(f"kill -HUP \"$(cat {pid})\""),
                    check=["true"], also_after=("conf",)),
    ]


def _reload_after_restore(facts: HostFacts) -> list[Any]:
    pid = shlex.quote(PIDFILE)
    if facts.systemd:
        return [Script("if systemctl is-active -q keepalived; then systemctl reload keepalived; fi")]
    return [Script(f"if [ -s {pid} ] && kill -0 \"$(cat {pid})\" 2>/dev/null; "
                   f"then kill -HUP \"$(cat {pid})\"; fi")]


def _expect_ipvs(spec: DirectorSpec):  # type: ignore[no-untyped-def]
    def check(result: RunResult) -> str | None:
        if not result.ok:
            return f"ipvsadm -Ln failed: {result.output}"
        text = result.stdout
        vs = f"[{spec.vip}]:{spec.port}" if ":" in spec.vip else f"{spec.vip}:{spec.port}"
        if f" {vs} " not in text.replace("\n", " \n"):
            return f"{spec.protocol} {vs} is not in IPVS"
        missing = [r.address for r in spec.real_servers
                   if f"-> {r.address}:{r.port or spec.port} " not in text.replace("\n", " \n")
                   and f"-> [{r.address}]:{r.port or spec.port} " not in text.replace("\n", " \n")]
        return f"real servers missing from IPVS: {', '.join(missing)}" if missing else None
    return check


def _expect_state(state: str):  # type: ignore[no-untyped-def]
    def check(result: RunResult) -> str | None:
        states = [line.split("=", 1)[1].strip() for line in result.stdout.splitlines() if "State =" in line]
        if state in states:
            return None
        return f"VRRP state is {states[0] if states else 'unknown'}, want {state}"
    return check


def director_plan(spec: DirectorSpec, director: DirectorEntry, facts: HostFacts) -> SetupPlan:
    steps: list[SetupStep] = []
    install = _install_step(facts)
    if install is not None:
        steps.append(install)
    steps.append(FileStep(CONF, keepalived_conf(spec, director), mode=0o644,
                          validate=("keepalived", "-t", "-f", "{}"), key="conf",
                          title=f"write {CONF} (VRRP {director.state}, priority {director.priority})",
                          after_undo=tuple(_reload_after_restore(facts))))
    steps += _service_steps(facts)
    steps.append(VerifyStep(f"IPVS has {spec.vip}:{spec.port} with {len(spec.real_servers)} real server(s)",
                            ["ipvsadm", "-Ln"], _expect_ipvs(spec), attempts=15, delay=1.0))
    pid = shlex.quote(PIDFILE)
    dump = Script(f"rm -f /tmp/keepalived.data; kill -s \"$(keepalived --signum=DATA)\" \"$(cat {pid})\" "
                  "&& for i in $(seq 30); do [ -s /tmp/keepalived.data ] && break; sleep 0.1; done; "
                  "sleep 0.2; grep 'State = ' /tmp/keepalived.data")
    steps.append(VerifyStep(f"VRRP instance {spec.instance} is {director.state}", dump,
                            _expect_state(director.state), attempts=15, delay=1.0))
    return SetupPlan(PLAN_NAME, steps, f"keepalived {director.state} for {spec.vip}:{spec.port}")
