from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lvstui.setup import validate as v
from lvstui.setup.runner import Script, command_text

INJECTIONS = ["1.2.3.4; rm -rf /", "1.2.3.4 && reboot", "$(reboot)", "`id`", "1.2.3.4\nreboot",
              "1.2.3.4|sh", "'1.2.3.4'", "1.2.3.4/32;x", "1.2.3.4 ", "lo;x"]


@pytest.mark.parametrize("bad", INJECTIONS[:-2])
def test_vip_injection_refused(bad: str) -> None:
    with pytest.raises(v.ValidationError):
        v.vip(bad)


def test_vip_forms() -> None:
    assert v.vip("192.168.1.100") == "192.168.1.100/32"
    assert v.vip(" 192.168.1.100/32 ") == "192.168.1.100/32"
    assert v.vip("2001:DB8::0:1") == "2001:db8::1/128"
    for bad in ("192.168.1.0/24", "2001:db8::1/64", "127.0.0.1", "0.0.0.0", "224.0.0.1", "fe80::1"):
        with pytest.raises(v.ValidationError, match="VIP"):
            v.vip(bad)


@pytest.mark.parametrize("bad", ["lo;x", "eth0 up", "", "a" * 16, "../x", "$(x)", "eth\x00"])
def test_interface_refused(bad: str) -> None:
    with pytest.raises(v.ValidationError):
        v.interface(bad)


def test_numbers() -> None:
    assert v.port("80") == 80 and v.weight(0) == 0 and v.router_id("51") == 51 and v.priority(150) == 150
    for fn, bad in ((v.port, 0), (v.port, "65536"), (v.port, "8o"), (v.weight, -1), (v.router_id, 256),
                    (v.priority, 255), (v.priority, True), (v.port, "1e3")):
        with pytest.raises(v.ValidationError):
            fn(bad)


def test_auth_pass_limits() -> None:
    assert v.auth_pass("s3cret") == "s3cret"
    with pytest.raises(v.ValidationError, match="at most 8"):
        v.auth_pass("123456789")
    for bad in ('ab"c', "a b", "a#b", "a}b", ""):
        with pytest.raises(v.ValidationError):
            v.auth_pass(bad)


def test_hosts_paths_and_words() -> None:
    assert v.hostname("rs1.example.") == "rs1.example"
    assert v.hostname("[2001:db8::1]") == "2001:db8::1"
    assert v.ssh_target("admin@rs1") == ("admin", "rs1")
    for bad in ("rs1;id", "-oProxyCommand=x", "a..b", "root@@x", "x y"):
        with pytest.raises(v.ValidationError):
            v.ssh_target(bad)
    assert v.abs_path("/etc/keepalived/keepalived.conf")
    for bad in ("etc/x", "/etc/../shadow", "/a b", "/a;b", "/a/.."):
        with pytest.raises(v.ValidationError):
            v.abs_path(bad)
    assert v.http_path("/health?x=1") == "/health?x=1"
    with pytest.raises(v.ValidationError):
        v.http_path('/"; x')
    assert v.lb_algo("WRR") == "wrr" and v.lb_kind("dr") == "DR" and v.protocol("tcp") == "TCP"
    with pytest.raises(v.ValidationError):
        v.lb_algo("rr; x")


@given(st.lists(st.text(alphabet=st.characters(blacklist_characters="\x00"), max_size=20), max_size=5))
def test_quote_argv_round_trips(words: list[str]) -> None:
    import shlex
    assert shlex.split(command_text(words)) == words


def test_script_is_run_through_sh_c_quoted() -> None:
    assert command_text(Script("echo 'a'")) == "sh -c 'echo '\"'\"'a'\"'\"''"
    with pytest.raises(v.ValidationError):
        command_text(["a\x00b"])
