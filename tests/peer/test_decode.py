"""The peer's snapshot JSON read back into the model: what lvstui writes it reads, a bad document
is one error naming the field."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from lvstui.demo import DemoSource
from lvstui.jsonout import snapshot_dict
from lvstui.model import ConfiguredServer, ConfiguredService
from lvstui.peer.decode import PeerDataError, snapshot_from_dict


def test_what_snapshot_json_writes_reads_back_the_same() -> None:
    snap = DemoSource().read()
    back = snapshot_from_dict(json.loads(json.dumps(snapshot_dict(snap))))
    assert back.director == snap.director and back.taken_at == snap.taken_at
    assert back.vrrp == snap.vrrp and back.sync_daemons == snap.sync_daemons
    assert back.virtual_services == tuple(
        replace(vs, real_servers=tuple(replace(rs, inhibited=False) for rs in vs.real_servers))
        for vs in snap.virtual_services)
    assert sum(rs.stats.conns for vs in back.virtual_services for rs in vs.real_servers) > 0


@pytest.mark.parametrize(("path", "value", "message"), [
    (("virtual_services", 0, "real_servers", 1, "weight"), "5",
     "snapshot.virtual_services[0].real_servers[1].weight: str, not int"),
    (("virtual_services", 0, "real_servers", 0, "forward"), "WARP", "real_servers[0].forward"),
    (("virtual_services", 1, "port"), True, "snapshot.virtual_services[1].port: bool"),
    (("taken_at",), "yesterday", "snapshot.taken_at: not an ISO time"),
    (("vrrp",), {"x": 1}, "snapshot.vrrp: dict, not list"),
])
def test_a_bad_field_is_one_error_naming_it(path: tuple[object, ...], value: object, message: str) -> None:
    doc = snapshot_dict(DemoSource().read())
    node = doc
    for key in path[:-1]:
        node = node[key]  # type: ignore[index]
    node[path[-1]] = value  # type: ignore[index]
    with pytest.raises(PeerDataError) as err:
        snapshot_from_dict(doc)
    assert message in str(err.value)


def test_not_an_object() -> None:
    with pytest.raises(PeerDataError, match="snapshot: not an object"):
        snapshot_from_dict([1, 2])


def test_keepalived_config_reads_back_and_an_older_peer_has_none() -> None:
    conf = (ConfiguredService("tcp:192.168.1.100:80", "wrr", "DR", "off", (
        ConfiguredServer("192.168.1.21:80", 0, "NAT", ("FILE_CHECK track_file lvstui_x",)),)),)
    doc = json.loads(json.dumps(snapshot_dict(replace(DemoSource().read(), keepalived_config=conf))))
    assert snapshot_from_dict(doc).keepalived_config == conf
    del doc["keepalived_config"]  # a peer running an lvstui from before the comparison
    assert snapshot_from_dict(doc).keepalived_config is None
    doc["keepalived_config"] = [{"id": "tcp:192.168.1.100:80", "scheduler": "wrr", "forward": "DR",
                                 "persistence": "off", "real_servers": [{"id": "x", "weight": "5"}]}]
    with pytest.raises(PeerDataError, match=r"snapshot\.keepalived_config\[0\]\.real_servers\[0\]\.weight: str"):
        snapshot_from_dict(doc)
