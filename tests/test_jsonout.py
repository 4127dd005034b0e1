"""The JSON schema of `lvstui snapshot --json`, and the streaming encoder's byte-identity with it."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime

from lvstui.jsonout import CompactEncoder, dumps, real_server_dict, real_server_json
from lvstui.model import (
    ConfiguredServer,
    ConfiguredService,
    Forward,
    Rates,
    RealServer,
    Snapshot,
    Stats,
    VirtualService,
)


def _snap(services: tuple[VirtualService, ...]) -> Snapshot:
    return Snapshot(director="lb1", taken_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
                    virtual_services=services)


def _services() -> tuple[VirtualService, ...]:
    rs = tuple(RealServer(address=f"192.168.1.{20 + i}", port=80, weight=i, active_conns=i * 3,
                          stats=Stats(i, i * 10, 0, i * 100, 0), rates=Rates(1, 2, 3, 4, 5)) for i in range(1, 4))
    v6 = RealServer(address="2001:db8::13", port=53, family="inet6", forward=Forward.TUN, tun_type="gue",
                    tun_port=6080, tun_flags=("csum",))
    return (
        VirtualService(protocol="tcp", family="inet", address="192.168.1.100", port=80, scheduler="wrr",
                       real_servers=rs),
        VirtualService(protocol="udp", family="inet6", address="2001:db8::1", port=53, scheduler="sh",
                       flags=("ops", "sh-port"), netmask="128", real_servers=(v6,)),
        VirtualService(protocol=None, family="inet", address=None, port=None, fwmark=7, scheduler="rr",
                       flags=("persistent",), persistence_timeout=300, netmask="255.255.255.0"),
    )


def test_schema_names_and_ids() -> None:
    doc = json.loads(dumps(_snap(_services())))
    assert set(doc) >= {"director", "taken_at", "virtual_services", "vrrp"}
    web, dns, mark = doc["virtual_services"]
    assert (web["id"], dns["id"], mark["id"]) == ("tcp:192.168.1.100:80", "udp:[2001:db8::1]:53", "fwmark:7")
    assert mark["protocol"] is None and mark["fwmark"] == 7 and mark["persistence_timeout"] == 300
    rs = web["real_servers"][0]
    assert set(rs) >= {"id", "address", "port", "forward", "weight", "upper_threshold", "lower_threshold",
                       "active_conns", "inactive_conns", "persistent_conns", "stats", "rates", "state",
                       "in_kernel", "check"}
    assert rs["stats"] == {"conns": 1, "inpkts": 10, "outpkts": 0, "inbytes": 100, "outbytes": 0}
    assert rs["rates"] == {"cps": 1, "inpps": 2, "outpps": 3, "inbps": 4, "outbps": 5}
    assert dns["real_servers"][0]["id"] == "[2001:db8::13]:53"
    assert dns["real_servers"][0]["forward"] == "TUN" and dns["real_servers"][0]["tun_flags"] == ["csum"]


def test_streaming_encoder_is_byte_identical_as_objects_change_and_repeat() -> None:
    enc = CompactEncoder()
    services = _services()
    assert enc.dumps(_snap(services)) == dumps(_snap(services))
    # the same objects again (an idle table), then one real server changed, then a service removed
    assert enc.dumps(_snap(services)) == dumps(_snap(services))
    web = services[0]
    changed_rs = dataclasses.replace(web.real_servers[1], weight=0, active_conns=0)
    web2 = dataclasses.replace(web, real_servers=(web.real_servers[0], changed_rs, web.real_servers[2]))
    second = (web2, services[1], services[2])
    out = enc.dumps(_snap(second))
    assert out == dumps(_snap(second))
    assert json.loads(out)["virtual_services"][0]["real_servers"][1]["weight"] == 0
    third = (web2, services[2])
    assert enc.dumps(_snap(third)) == dumps(_snap(third))


def test_direct_real_server_text_matches_json_dumps_for_every_shape() -> None:
    from lvstui.model import CheckState

    shapes = [rs for vs in _services() for rs in vs.real_servers]
    shapes.append(dataclasses.replace(shapes[0], check=CheckState("TCP_CHECK", False, 1, 'said "no"'),
                                      in_kernel=False, weight=0))
    shapes.append(dataclasses.replace(shapes[0], stats=Stats(2**64 - 1, 2**63, 1, 2**40, 7)))
    for rs in shapes:
        assert real_server_json(rs) == json.dumps(real_server_dict(rs), separators=(",", ":"))


def test_keepalived_config_is_written_once_per_configuration_and_byte_identical() -> None:
    conf = (ConfiguredService("tcp:192.168.1.100:80", "wrr", "DR", "300 s", (
        ConfiguredServer("192.168.1.21:80", 5, "", ("TCP_CHECK timeout 1", 'HTTP_GET url /"x"')),)),)
    enc = CompactEncoder()
    services = _services()
    for config in (None, conf, conf, (*conf, ConfiguredService("fwmark:7", "rr")), None):
        snap = dataclasses.replace(_snap(services), keepalived_config=config)
        out = enc.dumps(snap)
        assert out == dumps(snap)
        written = json.loads(out)["keepalived_config"]
        assert written is None if config is None else [c["id"] for c in written] == [c.id for c in config]
    doc = json.loads(dumps(dataclasses.replace(_snap(services), keepalived_config=conf)))
    assert doc["keepalived_config"] == [{
        "id": "tcp:192.168.1.100:80", "scheduler": "wrr", "forward": "DR", "persistence": "300 s",
        "real_servers": [{"id": "192.168.1.21:80", "weight": 5, "forward": "",
                          "checks": ["TCP_CHECK timeout 1", 'HTTP_GET url /"x"']}]}]
