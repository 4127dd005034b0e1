"""The LVS-DR real-server plan: VIPs on lo, ARP sysctls, persistence, verification.

In direct routing the director forwards packets to the real server's MAC with
the VIP still as destination, so each real server must own the VIP (on ``lo``,
as a host address) without answering ARP for it: ``arp_ignore=1`` and
``arp_announce=2`` on ``lo`` and ``all``.  Both are made persistent the way the
host configures its network:

* systemd-networkd running: ``/etc/systemd/network/90-lvstui-lo.network``;
* ifupdown (``/etc/network/interfaces`` sourcing ``interfaces.d``, and no
  systemd, or its ``networking`` service enabled): ``/etc/network/interfaces.d/lvstui-vip``;
* otherwise (NetworkManager, which leaves ``lo`` alone, or anything else): a
  systemd oneshot unit ``lvstui-vip.service`` enabled in ``multi-user.target``;

plus ``/etc/sysctl.d/90-lvstui-dr.conf`` for the sysctls.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from lvstui.setup import validate
from lvstui.setup.plan import AddressStep, CommandStep, FileStep, SetupPlan, SetupStep, SysctlStep, VerifyStep
from lvstui.setup.runner import Runner, RunResult, Script

__all__ = ["PERSISTENCE", "PLAN_NAME", "RealServerSpec", "detect_persistence", "realserver_plan"]

PLAN_NAME = "realserver"
PERSISTENCE = ("networkd", "ifupdown", "unit")
SYSCTL_FILE = "/etc/sysctl.d/90-lvstui-dr.conf"
NETWORKD_FILE = "/etc/systemd/network/90-lvstui-lo.network"
IFUPDOWN_FILE = "/etc/network/interfaces.d/lvstui-vip"
UNIT_NAME = "lvstui-vip.service"
UNIT_FILE = f"/etc/systemd/system/{UNIT_NAME}"
UNIT_LINK = f"/etc/systemd/system/multi-user.target.wants/{UNIT_NAME}"
SYSCTLS = (("net.ipv4.conf.lo.arp_ignore", "1"), ("net.ipv4.conf.all.arp_ignore", "1"),
           ("net.ipv4.conf.lo.arp_announce", "2"), ("net.ipv4.conf.all.arp_announce", "2"))
_HEADER = ("# Written by lvstui setup realserver (LVS direct routing); "
           "`lvstui setup realserver --undo` removes it.\n")


@dataclass(frozen=True)
class RealServerSpec:
    vips: tuple[str, ...]
    port: int | None = None
    persistence: str = "auto"

    @classmethod
    def parse(cls, vips: list[str], port: object = None, persistence: str = "auto") -> RealServerSpec:
        """Validate everything (raises ValidationError) before any host is contacted."""
        if not vips:
            raise validate.ValidationError("at least one --vip is needed")
        checked = tuple(dict.fromkeys(validate.vip(v) for v in vips))
        if persistence not in ("auto", *PERSISTENCE):
            raise validate.ValidationError(
                f"persistence: {persistence!r} must be auto or one of {', '.join(PERSISTENCE)}")
        return cls(checked, None if port in (None, "") else validate.port(port), persistence)


_DETECT = Script(
    "if [ -d /run/systemd/system ] && systemctl is-active -q systemd-networkd; then echo networkd; "
    "elif [ -f /etc/network/interfaces ] && command -v ifup >/dev/null "
    "&& grep -Eqs '^[[:space:]]*(source|source-directory)[[:space:]]+/etc/network/interfaces.d' "
    "/etc/network/interfaces && { [ ! -d /run/systemd/system ] || systemctl is-enabled -q networking; }; "
    "then echo ifupdown; else echo unit; fi")


def detect_persistence(runner: Runner) -> str:
    """How this host configures its network at boot: networkd, ifupdown or unit (read-only)."""
    result = runner.run(_DETECT)
    found = result.stdout.strip()
    return found if result.ok and found in PERSISTENCE else "unit"


def _sysctl_conf() -> str:
    return _HEADER + "".join(f"{k} = {v}\n" for k, v in SYSCTLS)


def _networkd(vips: tuple[str, ...]) -> str:
    return _HEADER + "[Match]\nName=lo\n\n[Network]\n" + "".join(f"Address={v}\n" for v in vips)


def _ifupdown(vips: tuple[str, ...]) -> str:
    stanzas = [f"iface lo {'inet6' if ':' in v else 'inet'} static\n    address {v}\n" for v in vips]
    return _HEADER + "\n".join(stanzas)


def _unit(vips: tuple[str, ...]) -> str:
    start = "".join(f"ExecStart=/sbin/ip addr replace {v} dev lo\n" for v in vips)
    stop = "".join(f"ExecStop=-/sbin/ip addr del {v} dev lo\n" for v in vips)
    return (_HEADER + "[Unit]\nDescription=lvstui: LVS-DR virtual IPs on lo\nDefaultDependencies=no\n"
            "After=network-pre.target\nBefore=network.target\n\n[Service]\nType=oneshot\n"
            f"RemainAfterExit=yes\n{start}{stop}\n[Install]\nWantedBy=multi-user.target\n")


_RELOAD_IF_SYSTEMD = "if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi"


def _persist_steps(vips: tuple[str, ...], how: str) -> list[SetupStep]:
    if how == "networkd":
        return [FileStep(NETWORKD_FILE, _networkd(vips), title=f"make the VIPs persistent ({NETWORKD_FILE})")]
    if how == "ifupdown":
        return [FileStep(IFUPDOWN_FILE, _ifupdown(vips), title=f"make the VIPs persistent ({IFUPDOWN_FILE})")]
    link = shlex.quote(UNIT_LINK)
    return [
        FileStep(UNIT_FILE, _unit(vips), title=f"make the VIPs persistent ({UNIT_FILE})"),
        CommandStep(f"enable {UNIT_NAME} at boot",
                    Script(f"mkdir -p -- \"$(dirname -- {link})\" && ln -sfn ../{UNIT_NAME} {link} "
                           f"&& {_RELOAD_IF_SYSTEMD}"),
                    check=Script(f"[ \"$(readlink -- {link})\" = ../{UNIT_NAME} ]"),
                    undo=[Script(f"rm -f -- {link}; {_RELOAD_IF_SYSTEMD}")]),
    ]


def _expect_sysctls(result: RunResult) -> str | None:
    values = result.stdout.split()
    wanted = [v for _, v in SYSCTLS]
    if values != wanted:
        return f"sysctls are {' '.join(values) or '?'}, want {' '.join(wanted)}"
    return None


def _expect_vips(vips: tuple[str, ...]):  # type: ignore[no-untyped-def]
    def check(result: RunResult) -> str | None:
        missing = [v for v in vips if f" {v} " not in f" {result.stdout} ".replace("\n", " ")]
        return f"not on lo: {', '.join(missing)}" if missing else None
    return check


def _expect_listening(port: int):  # type: ignore[no-untyped-def]
    def check(result: RunResult) -> str | None:
        for line in result.stdout.splitlines():
            fields = line.split()
            if len(fields) >= 4 and fields[3].rsplit(":", 1)[-1] == str(port):
                return None
        return f"nothing listens on TCP port {port}"
    return check


def realserver_plan(spec: RealServerSpec, persistence: str) -> SetupPlan:
    """The plan for one real server; *persistence* from :func:`detect_persistence` or the spec."""
    how = spec.persistence if spec.persistence != "auto" else persistence
    if how not in PERSISTENCE:
        raise validate.ValidationError(f"persistence: {how!r}")
    steps: list[SetupStep] = [SysctlStep(k, v) for k, v in SYSCTLS]
    steps.append(FileStep(SYSCTL_FILE, _sysctl_conf(), title=f"make the sysctls persistent ({SYSCTL_FILE})"))
    steps += [AddressStep(v, "lo") for v in spec.vips]
    steps += _persist_steps(spec.vips, how)
    steps.append(VerifyStep("ARP sysctls are live",
                            ["cat", *("/proc/sys/" + k.replace(".", "/") for k, _ in SYSCTLS)],
                            _expect_sysctls))
    steps.append(VerifyStep(f"{', '.join(spec.vips)} on lo", ["ip", "-o", "addr", "show", "dev", "lo"],
                            _expect_vips(spec.vips)))
    if spec.port is not None:
        steps.append(VerifyStep(f"service listening on TCP port {spec.port}", ["ss", "-Hltn"],
                                _expect_listening(spec.port), attempts=3, delay=1.0))
    return SetupPlan(PLAN_NAME, steps, f"LVS-DR real server for {', '.join(spec.vips)} (boot: {how})")
