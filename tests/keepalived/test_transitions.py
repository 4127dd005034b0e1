"""The last hour's VRRP transitions from keepalived's log lines, with their logged reasons.

The lines are keepalived 2.2.7's own (Debian 12), as the lab's syslog and journald wrote them.
"""

from __future__ import annotations

from datetime import UTC, datetime

from lvstui.keepalived.transitions import transitions

NOW = datetime(2026, 12, 2, 6, 0, 0, tzinfo=UTC)
SYSLOG = """\
Dec  2 04:10:00 lab Keepalived_vrrp[838]: (VI_1) Entering BACKUP STATE (init)
Dec  2 05:24:32 lab Keepalived_healthcheckers[837]: TCP connection to [192.168.1.21]:tcp:80 success.
Dec  2 05:24:36 lab Keepalived_vrrp[838]: (VI_1) Receive advertisement timeout
Dec  2 05:24:36 lab Keepalived_vrrp[838]: (VI_1) Entering MASTER STATE
Dec  2 05:24:36 lab Keepalived_vrrp[838]: (VI_1) setting VIPs.
Dec  2 05:24:36 lab Keepalived_vrrp[838]: Sending gratuitous ARP on eth0 for 192.168.1.100
Dec  2 05:40:01 lab Keepalived_vrrp[838]: (VI_1) Master received advert from 192.168.1.11 with higher priority 150, ours 100
Dec  2 05:40:01 lab Keepalived_vrrp[838]: (VI_1) Entering BACKUP STATE
Dec  2 05:40:01 lab Keepalived_vrrp[838]: (VI_1) removing VIPs.
Dec  2 05:50:00 lab Keepalived_vrrp[838]: Netlink reports eth1 down
Dec  2 05:50:00 lab Keepalived_vrrp[838]: (VI_2) Entering FAULT STATE
"""


def test_syslog_lines_counted_within_the_hour_with_their_reasons() -> None:
    got = [(t.at.strftime("%H:%M:%S"), t.instance, t.state, t.reason) for t in transitions(SYSLOG.splitlines(), NOW)]
    assert got == [
        ("05:24:36", "VI_1", "MASTER", "Receive advertisement timeout"),
        ("05:40:01", "VI_1", "BACKUP", "Master received advert from 192.168.1.11 with higher priority 150, ours 100"),
        ("05:50:00", "VI_2", "FAULT", "Netlink reports eth1 down"),
    ]  # 04:10 is more than an hour ago


def test_rfc3339_and_journald_stamps() -> None:
    lines = ["2026-12-02T05:59:00.123456+00:00 lb1 Keepalived_vrrp[90]: (VI_1) Receive advertisement timeout",
             "2026-12-02T05:59:00+0000 lb1 Keepalived_vrrp[90]: (VI_1) Entering MASTER STATE"]
    [t] = transitions(lines, NOW)
    assert (t.at, t.state, t.reason) == (datetime(2026, 12, 2, 5, 59, tzinfo=UTC), "MASTER",
                                         "Receive advertisement timeout")


def test_an_old_line_is_not_the_reason_and_unstamped_lines_are_not_counted() -> None:
    lines = ["Dec  2 05:00:00 lab Keepalived_vrrp[1]: (VI_1) Receive advertisement timeout",
             "Dec  2 05:30:00 lab Keepalived_vrrp[1]: (VI_1) Entering MASTER STATE",
             "garbage (VI_1) Entering BACKUP STATE"]
    assert [(t.state, t.reason) for t in transitions(lines, NOW)] == [("MASTER", "")]


def test_december_lines_read_in_january_belong_to_last_year() -> None:
    january = datetime(2027, 1, 1, 0, 10, tzinfo=UTC)
    [t] = transitions(["Dec 31 23:59:30 lab Keepalived_vrrp[1]: (VI_1) Entering MASTER STATE"], january)
    assert t.at.year == 2026
