"""lvstui load's reading of saved rules and its plan of only what differs (the lab test in
tests/lab/test_ipvsadm_verbs.py applies it to the real kernel, beside ipvsadm -R)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from lvstui.backend.rules import save_lines
from lvstui.model import Forward, RealServer, Snapshot
from lvstui.ops import changes as c
from lvstui.ops.rules import parse_rules
from lvstui.ops.targets import InvalidInput

# Lines as ipvsadm -S -n printed them in the lab (tests/lab/test_ipvsadm_verbs.py's table).
SAVED = """\
-A -t 10.9.0.2:80 -s wrr
-a -t 10.9.0.2:80 -r 10.9.1.1:8080 -m -w 3
-a -t 10.9.0.2:80 -r 10.9.1.3:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-nocsum
-A -u 10.9.0.3:53 -s sh -o -b sh-port,sh-fallback
-a -u 10.9.0.3:53 -r 10.9.1.1:53 -g -w 1
-A -t [2001:db8:9::100]:80 -s wrr -p 120 -M 64
-a -t [2001:db8:9::100]:80 -r [2001:db8:9::1]:80 -g -w 4
-A -f 8 -6 -s wlc
-a -f 8 -6 -r [2001:db8:9::1]:0 -g -w 1
"""


def table(text: str) -> Snapshot:
    services = tuple(dataclasses.replace(s.vs, real_servers=tuple(x.rs for x in s.servers))
                     for s in parse_rules(text, "t"))
    return Snapshot(director="t", taken_at=datetime.now(UTC), virtual_services=services)


def test_saved_lines_read_back_to_the_same_lines() -> None:
    parsed = parse_rules(SAVED, "saved.rules")
    assert [s.vs.id for s in parsed] == ["tcp:10.9.0.2:80", "udp:10.9.0.3:53", "tcp:[2001:db8:9::100]:80",
                                         "fwmark:8:inet6"]
    assert parsed[1].vs.flags == ("ops", "sh-fallback", "sh-port")  # the kernel's order, whatever the file's
    gue = parsed[0].servers[1].rs
    assert (gue.forward, gue.tun_type, gue.tun_port, gue.tun_flags) == (Forward.TUN, "gue", 6080, ("nocsum",))
    assert "\n".join(save_lines(table(SAVED))) + "\n" == SAVED.replace("sh-port,sh-fallback", "sh-fallback,sh-port")


@pytest.mark.parametrize(("line", "message"), [
    ("-A -t 10.9.0.5:80 -s nosuch", r"rules:2: unknown scheduler 'nosuch'"),
    ("-a -t 10.9.0.9:80 -r 10.9.1.1:80 -g", r"rules:2: real server of tcp:10.9.0.9:80 before its -A line"),
    ("-a -t 10.9.0.2:80 -r 10.9.1.1:80 -g -w -1", r"rules:2: .*weight"),
    ("-a -t 10.9.0.2:80 -r 10.9.1.1:80 -g -x 5 -y 9", r"rules:2: lower threshold 9 is above upper threshold 5"),
    ("-C", r"rules:2: '-C': only -A and -a lines"),
    ("-A -t 10.9.0.5:80 -s wrr --frob 1", r"rules:2: --frob is not an option of a service line"),
    ("-A -t 10.9.0.2:80 -s rr", r"rules:2: tcp:10.9.0.2:80 is declared twice \(line 1 too\)"),
])
def test_each_bad_line_is_one_error_with_file_and_line(line: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_rules("-A -t 10.9.0.2:80 -s wrr\n" + line + "\n", "rules")


def test_the_plan_changes_only_the_differing_lines_and_keeps_thresholds() -> None:
    current = table(SAVED)
    web = current.virtual_services[0]
    kept = RealServer("10.9.1.1", 8080, forward=Forward.NAT, weight=3, upper_threshold=100, lower_threshold=10)
    current = dataclasses.replace(current, virtual_services=(
        dataclasses.replace(web, real_servers=(kept, web.real_servers[1])), *current.virtual_services[1:]))
    changed = (SAVED.replace("-r [2001:db8:9::1]:80 -g -w 4", "-r [2001:db8:9::1]:80 -g -w 7")
               .replace("-A -f 8 -6 -s wlc\n-a -f 8 -6 -r [2001:db8:9::1]:0 -g -w 1\n", "")
               + "-A -t 10.9.0.7:443 -s rr\n-a -t 10.9.0.7:443 -r 10.9.1.7:443 -g -w 2\n")
    plan = c.LoadTable(changed, "changed.rules").plan(current, {})
    assert plan.lines() == [
        "tcp:[2001:db8:9::100]:80 -> [2001:db8:9::1]:80: weight 4 -> 7",
        "add virtual service tcp:10.9.0.7:443 (rr)",
        "add real server 10.9.1.7:443 to tcp:10.9.0.7:443 (DR, weight 2)",
        "delete virtual service fwmark:8:inet6 (wlc)",
    ]  # the thresholds of 10.9.1.1:8080, which the file does not give, are not touched
    assert c.LoadTable(SAVED, "same").plan(table(SAVED), {}).steps == []
    assert "-a -t 10.9.0.2:80 -r 10.9.1.1:8080 -m -w 3 -x 100 -y 10" in plan.record["table_before"]  # type: ignore[operator]
