"""Where lvstui says what keepalived will do, it is what keepalived 2.2.7 does (checked with ``keepalived -t``).

The view reports the effective forwarding method, VRRP state, priority, nopreempt and
authentication, drops a vrrp_script without a script, and carries a warning for each
difference from the file as written; an include that matches nothing is a warning, as it is
to keepalived.  Every warning is matched against the message of the real ``keepalived -t``.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from lvstui.keepalived.errors import KeepalivedConfigError
from lvstui.keepalived.loader import load
from lvstui.keepalived.validate import find_keepalived, keepalived_test
from lvstui.keepalived.view import ConfigView, build_view
from tests.keepalived.support import interface, sample_files

REPO = str(Path(__file__).resolve().parents[2])
needs_keepalived = pytest.mark.skipif(find_keepalived() is None, reason="keepalived not installed")

# each lvstui warning (left) and the words keepalived -t says for it (right), both as regular expressions
SAME_AS_KEEPALIVED = [
    (r"include '(.*)': (no such file|matches no file)", r"Config files missing '{0}'"),
    (r"unknown \[(\w+)\] routing method for (\w+) server", r"unknown \[{0}\] routing method for {1} server"),
    (r"\((\w+)\) unknown state '(\w*)', defaulting to BACKUP", r"\({0}\) unknown state '{1}', defaulting to BACKUP"),
    (r"\((\w+)\) state previously set as MASTER", r"\({0}\) state previously set as MASTER - ignoring BACKUP"),
    (r"\((\w+)\) state MASTER must match being address owner", r"\({0}\) State MASTER must match being address owner"),
    (r"\((\w+)\) initial state master is incompatible with AH",
     r"\({0}\) Initial state master is incompatible with AH authentication - clearing"),
    (r"\((\w+)\) nopreempt is incompatible with priority 255", r"\({0}\) nopreempt is incompatible with priority 255"),
    (r"\((\w+)\) nopreempt will not work with initial state MASTER",
     r"\({0}\) Warning - nopreempt will not work with initial state MASTER"),
    (r"\((\w+)\) truncating auth_pass to 8", r"Truncating auth_pass to 8 characters"),
    (r"\((\w+)\) strict mode does not support authentication", r"\({0}\) Strict mode does not support authentication"),
    (r"\((\w+)\) VRRP version 3 does not support authentication",
     r"\({0}\) VRRP version 3 does not support authentication"),
    (r"\((\w+)\) authentication specified but no password given",
     r"\({0}\) Authentication specified but no password given"),
    (r"\((\w+)\) priority not valid, must be between 1 & 255", r"\({0}\) Priority not valid! must be between 1 & 255"),
    (r"\((\w+)\) invalid strict_mode (\S+) specified", r"\({0}\) invalid strict_mode {1} specified"),
    (r"no script set for vrrp_script (\S+) - keepalived removes it", r"No script set for vrrp_script {0} - removing"),
    (r"line longer than 1023 bytes", r"Unknown keyword"),
    (r"unknown protocol (\S+) - keepalived ignores it", r"Unknown protocol {0} - ignoring"),
]


def keepalived_says(view: ConfigView, messages: tuple[str, ...]) -> None:
    """Every warning of the view is one keepalived -t gave too."""
    assert view.warnings
    for warning in view.warnings:
        for mine, theirs in SAME_AS_KEEPALIVED:
            m = re.search(mine, warning)
            if m:
                expected = theirs.format(*(re.escape(g) for g in m.groups()))
                assert any(re.search(expected, msg) for msg in messages), (warning, expected, messages)
                break
        else:
            pytest.fail(f"no keepalived message known for the warning {warning!r}")


def conf(tmp_path: Path, text: str) -> Path:
    iface = interface()
    if iface is None:
        pytest.skip("no network interface but lo here")
    path = tmp_path / "keepalived.conf"
    path.write_text(text.replace("IFACE", iface))
    return path


def instance(name: str, body: str, vrid: int) -> str:
    return (f"vrrp_instance {name} {{\n  interface IFACE\n  virtual_router_id {vrid}\n{body}"
            f"  virtual_ipaddress {{\n    10.9.9.{vrid}\n  }}\n}}\n")


VRRP = (
    "vrrp_script chk {\n  interval 2\n}\n"
    + instance("A", "  state MASTER\n  priority 100\n  authentication {\n    auth_type PASS\n"
               "    auth_pass 123456789abc\n  }\n  track_script {\n    chk\n  }\n", 51)
    + instance("B", "  state master\n", 52)
    + instance("C", "  state MASTER\n  nopreempt\n", 53)
    + instance("D", "  state MASTER\n  priority 150\n  strict_mode\n", 54)
    + instance("E", "  priority 255\n  nopreempt\n", 55)
    + instance("F", "  state MASTER\n  state BACKUP\n  priority 100\n  authentication {\n    auth_type AH\n"
               "    auth_pass abc\n  }\n", 56)
    + instance("G", "  state BACKUP\n  nopreempt\n", 57)
    + instance("H", "  state MASTER\n  priority 100\n  nopreempt\n", 58)
    + instance("I", "  version 3\n  authentication {\n    auth_type PASS\n    auth_pass abc\n  }\n", 59)
    + instance("J", "  authentication {\n    auth_type PASS\n  }\n", 60)
    + instance("K", "  state BACKUP\n  priority 300\n  strict_mode maybe\n", 61)
)


def test_vrrp_state_priority_nopreempt_and_auth_are_keepalived_s(tmp_path: Path) -> None:
    view = build_view(load(conf(tmp_path, VRRP)))
    got = {vi.name: (vi.state, vi.priority, vi.nopreempt) for vi in view.vrrp_instances}
    assert got == {
        "A": ("MASTER", 100, False),
        "B": ("BACKUP", 100, False),  # "master": unknown state, defaulting to BACKUP
        "C": ("MASTER", 255, False),  # no priority: MASTER makes it 255, which resets nopreempt
        "D": ("BACKUP", 150, False),  # strict mode: MASTER must be the address owner
        "E": ("MASTER", 255, False),  # no state: derived from priority 255; nopreempt reset
        "F": ("BACKUP", 100, False),  # BACKUP after MASTER ignored, then AH clears the initial MASTER
        "G": ("BACKUP", 100, True),
        "H": ("MASTER", 100, False),  # nopreempt will not work with initial state MASTER
        "I": ("BACKUP", 100, False),
        "J": ("BACKUP", 100, False),
        "K": ("BACKUP", 100, False),  # priority 300: not valid, keepalived uses 100
    }
    auth = {vi.name: vi.authentication for vi in view.vrrp_instances}
    assert (auth["I"], auth["J"]) == ((), ())  # keepalived ignores them: version 3, no password
    assert auth["F"] == (("auth_type", "AH"), ("auth_pass", "abc"))
    assert dict(view.vrrp_instance("A").authentication)["auth_pass"] == "12345678"  # type: ignore[union-attr]
    assert [s.name for s in view.vrrp_scripts] == []  # no script: keepalived removes it
    warnings = "\n".join(view.warnings)
    assert "keepalived.conf:11: (A) truncating auth_pass to 8 characters" in warnings
    assert "keepalived.conf:1: no script set for vrrp_script chk - keepalived removes it" in warnings


@needs_keepalived
def test_vrrp_warnings_are_what_keepalived_says(tmp_path: Path) -> None:
    config = load(conf(tmp_path, VRRP))
    result = keepalived_test(config)  # exit status 5: it reported configuration errors, and runs anyway
    assert result is not None and result.returncode in (0, 5), result.messages
    keepalived_says(build_view(config), result.messages)


LB_KIND = """virtual_server 10.0.0.1 80 {
  lb_kind dr
  protocol tcp
  real_server 10.0.0.2 80 {
    lvs_method tun
  }
  real_server 10.0.0.3 80 {
    lvs_method DR
  }
}
virtual_server 10.0.0.4 80 {
  lb_kind TUN
  lb_kind Dr
  protocol TCP
  protocol HTTP
}
"""


def test_lower_case_lb_kind_is_nat_as_in_keepalived(tmp_path: Path) -> None:
    view = build_view(load(conf(tmp_path, LB_KIND)))
    vs1, vs2 = view.virtual_servers
    assert (vs1.key, vs1.lb_kind) == ("tcp:10.0.0.1:80", "NAT")  # keepalived: "unknown [dr] routing method"
    assert [rs.lb_kind for rs in vs1.real_servers] == [None, "DR"]  # None: the virtual server's
    assert (vs2.lb_kind, vs2.key) == ("TUN", "tcp:10.0.0.4:80")  # an unknown value keeps the one before
    assert view.warnings[0] == ("keepalived.conf:2: unknown [dr] routing method for virtual server;"
                                " keepalived uses NAT (write DR)")


@needs_keepalived
def test_lb_kind_warnings_are_what_keepalived_says(tmp_path: Path) -> None:
    config = load(conf(tmp_path, LB_KIND))
    result = keepalived_test(config)  # exit status 5: it reported configuration errors, and runs anyway
    assert result is not None and result.returncode in (0, 5), result.messages
    keepalived_says(build_view(config), result.messages)


def lvstui(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lvstui", "keepalived", *args], capture_output=True,
                          text=True, cwd=REPO, timeout=60)


@needs_keepalived
def test_missing_include_is_a_warning_in_parse_and_check(tmp_path: Path) -> None:
    path = conf(tmp_path, "include /nonexistent/gobal_module\ninclude conf.d/*.conf\n"
                + instance("VI_1", "  state BACKUP\n  priority 90\n", 60))
    r = lvstui("check", str(path))
    assert r.returncode == 0, r.stderr
    assert "keepalived -t: ok" in r.stdout
    assert ("warning: keepalived.conf:1: include '/nonexistent/gobal_module': no such file"
            " (keepalived warns and goes on without it)") in r.stderr.splitlines()
    assert "keepalived -t: keepalived.conf:1: Config files missing '/nonexistent/gobal_module'." \
        in r.stderr.splitlines()
    assert "warning: keepalived.conf:2: include 'conf.d/*.conf': matches no file" in r.stderr
    r = lvstui("parse", str(path))
    assert r.returncode == 0, r.stderr
    assert "VI_1" in r.stdout and "warning: keepalived.conf:1: include '/nonexistent/gobal_module'" in r.stdout
    result = keepalived_test(load(path))
    assert result is not None and result.ok
    keepalived_says(build_view(load(path)), result.messages)


def samples_with_warnings() -> list[Path]:
    out = []
    for path in sample_files():
        try:
            if build_view(load(path), "main").warnings:
                out.append(path)
        except KeepalivedConfigError:
            out.append(path)  # (samples not found: the one placeholder fails loudly in the test)
    return out


@needs_keepalived
@pytest.mark.parametrize("path", samples_with_warnings(), ids=lambda p: p.name)
def test_warnings_on_keepalived_s_samples_are_what_keepalived_says(path: Path, tmp_path: Path) -> None:
    iface = interface()
    if iface is None:
        pytest.skip("no network interface but lo here")
    copy = tmp_path / path.name  # the samples name interfaces this machine may lack
    copy.write_text(re.sub(r"\binterface eth\d+", f"interface {iface}", path.read_text()))
    config = load(copy)
    result = keepalived_test(config, config_id="main")
    assert result is not None
    keepalived_says(build_view(config, "main"), result.messages)
