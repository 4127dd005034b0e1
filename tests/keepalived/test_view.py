"""The semantic view of a configuration using every checker type and the VRRP features lvstui shows.

The same file is accepted by the installed keepalived -t, so the view is checked against a
configuration keepalived itself considers valid.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lvstui.keepalived.expand import default_config_id
from lvstui.keepalived.loader import load
from lvstui.keepalived.processes import KeepalivedProcess
from lvstui.keepalived.validate import find_keepalived, keepalived_test
from lvstui.keepalived.view import CHECKER_TYPES, build_view
from tests.keepalived.support import interface

CONF = """\
global_defs {
    router_id lvstui_view
    script_user root
    enable_script_security
}

track_file maint {
    file "/run/lvstui-test/maint"
    weight -60
    init_file 0 overwrite
}
vrrp_track_file old_style {
    file /run/lvstui-test/old
    weight -100
}
vrrp_script chk_web {
    script "/bin/true web"
    interval 2
    weight -20
    fall 3
    rise 2
    timeout 5
}
bfd_instance bfd_rs1 {
    neighbor_ip 127.0.0.21
    source_ip 127.0.0.1
}

vrrp_sync_group G1 {
    group {
        VI_2
        VI_3
    }
    track_file {
        maint
    }
}

vrrp_instance VI_1 {
    state BACKUP
    interface lo
    virtual_router_id 51
    priority 150
    advert_int 2
    nopreempt
    authentication {
        auth_type PASS
        auth_pass s3cret
    }
    unicast_peer {
        127.0.0.12
    }
    virtual_ipaddress {
        127.0.0.100/32 dev lo label lo:vip
        127.0.0.101
    }
    virtual_ipaddress_excluded {
        127.0.0.102
    }
    track_script {
        chk_web weight -30
    }
    track_file {
        maint
    }
    track_interface {
        lo weight 10
    }
}

vrrp_instance VI_2 {
    interface lo
    virtual_router_id 52
    virtual_ipaddress {
        127.0.0.103
    }
}
vrrp_instance VI_3 {
    interface lo
    virtual_router_id 53
    virtual_ipaddress {
        127.0.0.104
    }
}

virtual_server_group WEB {
    127.0.0.100 80
    127.0.0.110-120 80
}

virtual_server group WEB {
    delay_loop 3
    lvs_sched wlc
    lvs_method DR
    protocol TCP
    persistence_timeout 600
    persistence_granularity 255.255.255.0
    quorum 2
    hysteresis 1
    sorry_server 127.0.0.99 80
    inhibit_on_failure

    real_server 127.0.0.21 80 {
        weight 3
        TCP_CHECK {
            connect_port 8080
            connect_timeout 2
        }
        BFD_CHECK {
            name bfd_rs1
        }
    }
    real_server 127.0.0.22 80 {
        weight 4
        inhibit_on_failure off
        HTTP_GET {
            url {
                path /health
                status_code 200
            }
            url {
                path /ready
                digest 640205b7b0fc66c1ea91c463fac6334d
            }
            connect_timeout 3
        }
        SSL_GET {
            url {
                path /tls
                status_code 200
            }
        }
    }
    real_server 127.0.0.23 80 {
        SMTP_CHECK {
            helo_name "mail.example"
            host {
                connect_ip 127.0.0.23
                connect_port 25
            }
        }
        MISC_CHECK {
            misc_path "/bin/true misc arg"
            misc_timeout 5
        }
        FILE_CHECK {
            track_file maint
            weight 10
        }
    }
}

virtual_server fwmark 7 {
    lb_algo sh
    lb_kind NAT
    real_server 127.0.0.31 {
        DNS_CHECK {
            type A
            name example.org
        }
        PING_CHECK {
        }
    }
}

virtual_server 127.0.0.200 53 {
    protocol UDP
    lb_algo rr
    lb_kind DR
    real_server 127.0.0.41 53 {
        UDP_CHECK {
            connect_timeout 4
        }
    }
}
"""


@pytest.fixture
def view(tmp_path: Path):  # type: ignore[no-untyped-def]
    path = tmp_path / "keepalived.conf"
    path.write_text(CONF)
    return build_view(load(path))


def test_every_checker_type(view) -> None:  # type: ignore[no-untyped-def]
    types = {c.type for vs in view.virtual_servers for rs in vs.real_servers for c in rs.checkers}
    assert types == set(CHECKER_TYPES)


def test_virtual_server_group_fields(view) -> None:  # type: ignore[no-untyped-def]
    (group,) = view.virtual_server_groups
    assert group.members == ("127.0.0.100 80", "127.0.0.110-120 80")
    vs = view.virtual_server("group:WEB")
    assert vs is not None
    assert (vs.lb_algo, vs.lb_kind, vs.protocol, vs.persistence_timeout, vs.persistence_granularity) == \
        ("wlc", "DR", "TCP", 600, "255.255.255.0")
    assert (vs.quorum, vs.hysteresis, vs.sorry_server, vs.delay_loop) == (2, 1, "127.0.0.99 80", 3.0)
    rs1, rs2, rs3 = vs.real_servers
    assert (rs1.weight, rs1.inhibit_on_failure) == (3, True)  # inherited from the virtual server
    assert (rs2.weight, rs2.inhibit_on_failure) == (4, False)  # overridden
    assert rs3.weight == 1  # keepalived's default
    assert rs1.checkers[0].get("connect_port") == "8080" and rs1.checkers[1].get("name") == "bfd_rs1"
    http = rs2.checkers[0]
    assert [dict(u)["path"] for u in http.urls] == ["/health", "/ready"]
    assert dict(http.urls[0])["status_code"] == "200"
    assert http.summary == "HTTP_GET url /health,/ready"
    smtp, misc, filec = rs3.checkers
    assert smtp.get("helo_name") == "mail.example" and dict(smtp.hosts[0])["connect_port"] == "25"
    assert misc.get("misc_path") == "/bin/true misc arg"
    assert (filec.get("track_file"), filec.get("weight")) == ("maint", "10")


def test_fwmark_and_udp_services(view) -> None:  # type: ignore[no-untyped-def]
    fw = view.virtual_server("fwmark:7")
    assert fw is not None and fw.real_servers[0].port is None
    assert [c.type for c in fw.real_servers[0].checkers] == ["DNS_CHECK", "PING_CHECK"]
    assert fw.real_servers[0].checkers[0].summary == "DNS_CHECK type A name example.org"
    udp = view.virtual_server("udp:127.0.0.200:53")
    assert udp is not None and udp.real_servers[0].checkers[0].type == "UDP_CHECK"


def test_vrrp_fields(view) -> None:  # type: ignore[no-untyped-def]
    vi = view.vrrp_instance("VI_1")
    assert vi is not None
    assert (vi.state, vi.interface, vi.virtual_router_id, vi.priority, vi.advert_int, vi.nopreempt) == \
        ("BACKUP", "lo", 51, 150, 2.0, True)
    assert dict(vi.authentication) == {"auth_type": "PASS", "auth_pass": "s3cret"}
    assert vi.virtual_ipaddresses == ("127.0.0.100/32", "127.0.0.101")
    assert vi.virtual_ipaddresses_excluded == ("127.0.0.102",)
    assert vi.unicast_peers == ("127.0.0.12",)
    assert view.unicast_peers == ("127.0.0.12",)  # every instance's, once each (the dashboard offers them)
    assert [(t.name, t.weight) for t in vi.track_scripts] == [("chk_web", -30)]
    assert [(t.name, t.weight) for t in vi.track_files] == [("maint", None)]
    assert [(t.name, t.weight) for t in vi.track_interfaces] == [("lo", 10)]
    (sync,) = view.vrrp_sync_groups
    assert (sync.name, sync.members, [(t.name, t.weight) for t in sync.track_files]) == \
        ("G1", ("VI_2", "VI_3"), [("maint", None)])
    (script,) = view.vrrp_scripts
    assert (script.script, script.interval, script.weight, script.fall, script.rise, script.timeout) == \
        ("/bin/true web", 2.0, -20, 3, 2, 5.0)
    tracks = {t.name: t for t in view.track_files}
    assert (tracks["maint"].file, tracks["maint"].weight, tracks["maint"].init_file, tracks["maint"].deprecated) \
        == ("/run/lvstui-test/maint", -60, "0 overwrite", False)
    assert tracks["old_style"].deprecated and tracks["old_style"].weight == -100


def test_sources_and_json(view) -> None:  # type: ignore[no-untyped-def]
    vi = view.vrrp_instance("VI_1")
    assert vi is not None and vi.source is not None
    assert (vi.source.path.name, vi.source.line, vi.source.exact) == ("keepalived.conf", 39, True)
    doc = view.to_dict()
    assert doc["virtual_servers"][0]["key"] == "group:WEB"
    assert doc["vrrp_instances"][0]["authentication"] == {"auth_type": "PASS", "auth_pass": "s3cret"}


@pytest.mark.skipif(find_keepalived() is None, reason="keepalived not installed")
def test_keepalived_accepts_this_configuration(tmp_path: Path) -> None:
    iface = interface()
    if iface is None:
        pytest.skip("no network interface but lo here")
    path = tmp_path / "keepalived.conf"
    path.write_text(CONF.replace("    interface lo\n", f"    interface {iface}\n"))
    result = keepalived_test(load(path))
    assert result is not None and result.ok, result.messages


def test_a_keepalived_without_dash_i_reads_conditions_for_its_node_name(tmp_path: Path) -> None:
    """keepalived without -i matches @ID lines against the node name up to its first dot; the
    dashboard, the toggles and the operations read the same view (they used to take None and
    skip every @ line)."""
    node = default_config_id()
    conf = tmp_path / "keepalived.conf"
    conf.write_text(f"@{node} virtual_server 10.0.0.1 80 {{\n  protocol TCP\n}}\n"
                    f"@^{node} virtual_server 10.0.0.2 80 {{\n  protocol TCP\n}}\n"
                    "@other virtual_server 10.0.0.3 80 {\n  protocol TCP\n}\n")
    plain = KeepalivedProcess(parent_pid=1, config_file=str(conf))
    assert plain.effective_config_id == node
    assert [vs.address for vs in build_view(load(conf), plain.effective_config_id).virtual_servers] == ["10.0.0.1"]
    other = KeepalivedProcess(parent_pid=1, config_file=str(conf), config_id="other")
    assert [vs.address for vs in build_view(load(conf), other.effective_config_id).virtual_servers] == \
        ["10.0.0.2", "10.0.0.3"]
