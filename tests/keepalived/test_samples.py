"""Every shared keepalived sample parses, writes back byte-identical and makes sense."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lvstui.keepalived import edit
from lvstui.keepalived.loader import load
from lvstui.keepalived.validate import find_keepalived, keepalived_test
from lvstui.keepalived.view import build_view
from tests.keepalived.support import sample_files, shared_samples

SAMPLES = sample_files()


def test_there_are_samples() -> None:
    assert len(list(shared_samples().iterdir())) >= 20


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_sample_roundtrips_byte_identical(path: Path) -> None:
    config = load(path)
    assert config.main_file.data == path.read_bytes()
    assert not list(config.modified_files())
    build_view(config, "main")  # the semantic view builds for every sample


def view(name: str, config_id: str | None = None):  # type: ignore[no-untyped-def]
    return build_view(load(shared_samples() / name), config_id)


def test_quorum_sample_facts() -> None:
    v = view("keepalived.conf.quorum")
    assert len(v.virtual_servers) == 1
    vs = v.virtual_servers[0]
    assert vs.key == "tcp:10.0.1.1:80"
    assert len(vs.real_servers) == 10
    assert (vs.quorum, vs.hysteresis) == (7, 2)
    assert all(c.type == "TCP_CHECK" for rs in vs.real_servers for c in rs.checkers)
    assert vs.real_servers[0].checkers[0].get("connect_port") == "80"


def test_fwmark_sample_facts() -> None:
    vs = view("keepalived.conf.fwmark").virtual_servers[0]
    assert (vs.kind, vs.fwmark, vs.key) == ("fwmark", 1, "fwmark:1")
    assert vs.persistence_timeout == 900
    assert [rs.address for rs in vs.real_servers] == ["192.168.201.100", "192.168.201.101"]
    assert vs.real_servers[0].port is None


def test_virtual_server_group_sample_facts() -> None:
    v = view("keepalived.conf.virtual_server_group")
    assert [g.name for g in v.virtual_server_groups] == ["VSG_1"]
    assert "fwmark 1" in v.virtual_server_groups[0].members
    assert "192.168.200.3-10 80" in v.virtual_server_groups[0].members
    vs = v.virtual_servers[0]
    assert (vs.kind, vs.group, vs.lb_kind, vs.lb_algo) == ("group", "VSG_1", "NAT", "rr")
    url = vs.real_servers[0].checkers[0].urls[0]
    assert dict(url)["digest"] == "640205b7b0fc66c1ea91c463fac6334d"


def test_checker_types_across_samples() -> None:
    seen = set()
    for path in SAMPLES:
        for vs in build_view(load(path)).virtual_servers:
            seen.update(c.type for rs in vs.real_servers for c in rs.checkers)
    assert {"TCP_CHECK", "HTTP_GET", "SSL_GET", "SMTP_CHECK", "MISC_CHECK", "PING_CHECK",
            "UDP_CHECK"} <= seen


def test_misc_check_arg_keeps_quoted_path() -> None:
    rs = view("keepalived.conf.misc_check_arg").virtual_servers[0].real_servers[0]
    assert rs.checkers[0].get("misc_path") == "/usr/local/bin/script.sh arg1 arg2"


def test_conditional_sample_depends_on_config_id() -> None:
    assert view("keepalived.conf.conditional_conf", "high").vrrp_instances[0].priority == 170
    assert view("keepalived.conf.conditional_conf", "low").vrrp_instances[0].priority == 85
    assert view("keepalived.conf.conditional_conf", "other").vrrp_instances[0].priority == 100
    vi = view("keepalived.conf.conditional_conf", "high").vrrp_instances[0]
    assert [t.name for t in vi.track_scripts] == ["check_VI_0"]
    assert [(t.name, t.weight) for t in vi.track_interfaces] == [("eth3", None), ("eth2", 20)]


def test_vrrp_samples_facts() -> None:
    v = view("keepalived.conf.vrrp.lvs_syncd")
    vi = v.vrrp_instance("VI_1")
    assert vi is not None
    assert (vi.state, vi.interface, vi.virtual_router_id, vi.priority) == ("MASTER", "eth0", 51, 150)
    assert "192.168.200.16" in vi.virtual_ipaddresses
    sync = view("keepalived.conf.vrrp.sync")
    assert sync.vrrp_sync_groups and sync.vrrp_sync_groups[0].members
    scripts = view("keepalived.conf.vrrp.localcheck")
    assert {s.name for s in scripts.vrrp_scripts} >= {"chk_sshd", "chk_haproxy"}


def test_sources_point_at_lines() -> None:
    path = shared_samples() / "keepalived.conf.quorum"
    vs = build_view(load(path)).virtual_servers[0]
    lines = path.read_text().splitlines()
    for rs in vs.real_servers:
        assert rs.source is not None
        assert lines[rs.source.line - 1].strip().startswith(f"real_server {rs.address}")


# ---- keepalived -t --------------------------------------------------------------------------

needs_keepalived = pytest.mark.skipif(find_keepalived() is None, reason="keepalived not installed")


def accepted_samples() -> list[Path]:
    if find_keepalived() is None:
        return []
    return [p for p in SAMPLES if (r := keepalived_test(load(p))) is not None and r.ok]


@needs_keepalived
def test_keepalived_accepts_several_samples() -> None:
    assert len(accepted_samples()) >= 8


@needs_keepalived
def test_edits_of_accepted_samples_pass_keepalived_t(tmp_path: Path) -> None:
    """Every file the edit API writes from a valid input is accepted by keepalived -t."""
    checked = 0
    for path in accepted_samples():
        copy = tmp_path / path.name
        shutil.copyfile(path, copy)
        config = load(copy)
        v = build_view(config)
        for vs in v.virtual_servers:
            if not vs.real_servers:
                continue
            config = edit.set_weight(config, vs.real_servers[0], 5)
            config = edit.set_lb_algo(config, build_view(config).virtual_server(vs.key), "wlc")
            vs2 = build_view(config).virtual_server(vs.key)
            assert vs2 is not None
            new1, new2 = ("fd00::77:7", "fd00::77:8") if ":" in vs.real_servers[0].address \
                else ("192.168.77.7", "192.168.77.8")
            config = edit.add_real_server(config, vs2, new1, vs.real_servers[0].port,
                                          weight=2, template=vs2.real_servers[0])
            vs3 = build_view(config).virtual_server(vs.key)
            assert vs3 is not None
            config = edit.add_real_server(config, vs3, new2, vs.real_servers[0].port, weight=3)
            vs4 = build_view(config).virtual_server(vs.key)
            assert vs4 is not None and len(vs4.real_servers) == len(vs.real_servers) + 2
            config = edit.remove_real_server(config, vs4, vs4.real_servers[0])
            # the drain set-up: a track_file before the service, a FILE_CHECK in a real server
            vs5 = build_view(config).virtual_server(vs.key)
            assert vs5 is not None
            name = f"lvstui_drain_{len(build_view(config).track_files)}"
            config = edit.append_block(config, copy, f'track_file {name} {{\n    file "/run/lvstui/{name}"\n'
                                                     f'    weight 0\n}}', before=vs5)
            vs6 = build_view(config).virtual_server(vs.key)
            assert vs6 is not None
            config = edit.insert_block(config, vs6.real_servers[-1], f"FILE_CHECK {{\n    track_file {name}\n}}")
            config = edit.set_lb_kind(config, build_view(config).virtual_server(vs.key), vs.lb_kind)  # type: ignore[arg-type]
        for vi in v.vrrp_instances:
            config = edit.set_priority(config, build_view(config).vrrp_instance(vi.name), 42)  # type: ignore[arg-type]
        if config.main_file.text == load(copy).main_file.text:
            continue
        result = keepalived_test(config)
        assert result is not None and result.ok, f"{path.name}: {result.messages if result else ''}"
        from lvstui.ops.files import write_config

        write_config(config)
        again = keepalived_test(load(copy))
        assert again is not None and again.ok
        checked += 1
    assert checked >= 6
