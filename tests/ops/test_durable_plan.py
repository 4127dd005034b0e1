"""Planning and writing changes that survive keepalived, against configurations in temp dirs.

The kernel is an in-memory director (the planning is what is tested here; the lab tests in
tests/lab/test_durable_keepalived.py run the same code against real IPVS and keepalived).
``keepalived -t`` is the real one: every file written here passes it.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lvstui.keepalived.loader import load
from lvstui.keepalived.site import KeepalivedSite, track_name
from lvstui.keepalived.validate import keepalived_test
from lvstui.model import Forward, RealServer, Snapshot, VirtualService
from lvstui.ops import changes as c
from lvstui.ops.engine import KeepalivedRefused, Operations
from lvstui.ops.journal import Journal, WeightMemory
from lvstui.ops.targets import parse_server_id, parse_service_id

VS = "tcp:192.168.1.100:80"
RS1, RS2, RS3 = "192.168.1.21:80", "192.168.1.22:80", "192.168.1.23:80"

CONF = """\
! lvstui unit test
global_defs {
    router_id test
}

virtual_server 192.168.1.100 80 {
    delay_loop 2
    lb_algo wrr
    lb_kind DR
    protocol TCP
%(vs_extra)s
    real_server 192.168.1.21 80 {
        weight 3
        TCP_CHECK {
            connect_timeout 1
        }
    }
    real_server 192.168.1.22 80 {
        weight 2    # the bigger one
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
"""


class MemoryDirector:
    """An IPVS table in memory, with the Director interface the operations layer uses."""

    def __init__(self, services: list[VirtualService]) -> None:
        self.services = {vs.id: vs for vs in services}
        self.calls: list[str] = []

    def read(self) -> Snapshot:
        return Snapshot(director="test", taken_at=datetime.now(UTC),
                        virtual_services=tuple(self.services.values()))

    def _put(self, vs: VirtualService, servers: list[RealServer]) -> None:
        self.services[vs.id] = dataclasses.replace(self.services[vs.id], real_servers=tuple(servers))

    def add_service(self, vs: VirtualService) -> None:
        self.services[vs.id] = vs

    def edit_service(self, vs: VirtualService) -> None:
        self.services[vs.id] = dataclasses.replace(vs, real_servers=self.services[vs.id].real_servers)

    def delete_service(self, vs: VirtualService) -> None:
        del self.services[vs.id]

    def add_dest(self, vs: VirtualService, rs: RealServer) -> None:
        self.calls.append(f"add {rs.id} w{rs.weight}")
        self._put(vs, [*self.services[vs.id].real_servers, rs])

    def edit_dest(self, vs: VirtualService, rs: RealServer) -> None:
        self.calls.append(f"edit {rs.id} w{rs.weight}")
        self._put(vs, [rs if r.id == rs.id else r for r in self.services[vs.id].real_servers])

    def delete_dest(self, vs: VirtualService, rs: RealServer) -> None:
        self.calls.append(f"delete {rs.id}")
        self._put(vs, [r for r in self.services[vs.id].real_servers if r.id != rs.id])

    def weights(self) -> dict[str, int]:
        return {rs.id: rs.weight for rs in self.services[VS].real_servers}


def rs(address: str, weight: int, active: int = 0) -> RealServer:
    return RealServer(address=address, port=80, forward=Forward.DR, weight=weight, active_conns=active)


@pytest.fixture()
def env(tmp_path: Path) -> dict:  # type: ignore[type-arg]
    conf = tmp_path / "keepalived.conf"
    conf.write_text(CONF % {"vs_extra": ""})
    vs = VirtualService(protocol="tcp", family="inet", address="192.168.1.100", port=80, scheduler="wrr",
                        real_servers=(rs("192.168.1.21", 3), rs("192.168.1.22", 2)))
    director = MemoryDirector([vs])
    ops = Operations(director, journal=Journal(tmp_path / "journal.jsonl"),
                     memory=WeightMemory(tmp_path / "w.json"),
                     keepalived=KeepalivedSite(conf, None, None, "test"),
                     track_dir=tmp_path / "track",
                     settle_seconds=0, eqt=lambda: 1)
    return {"conf": conf, "director": director, "ops": ops, "tmp": tmp_path}


def key(vs: str = VS, server: str = RS1) -> tuple:  # type: ignore[type-arg]
    return parse_service_id(vs), parse_server_id(server)


def diff_lines(plan: c.Plan) -> list[str]:
    return plan.durable.lines


def journal(env: dict) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in (env["tmp"] / "journal.jsonl").read_text().splitlines()]


def no_reload(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    calls: list[object] = []
    monkeypatch.setattr("lvstui.ops.keepalived.reload_keepalived",
                        lambda site: calls.append(site))  # noqa: PLW0108 - stands in for reload_keepalived(site), keyword calls included
    return calls


def test_first_drain_plans_track_file_check_and_inhibit(env: dict) -> None:
    plan = env["ops"].plan(c.Drain(*key()))
    name = track_name(VS, RS1)
    track = env["tmp"] / "track" / name
    assert name == "lvstui_tcp_192.168.1.100_80_192.168.1.21_80"
    # the track_file is declared before the virtual server (keepalived resolves names as it reads)
    assert diff_lines(plan) == [
        f"keepalived.conf:6: + track_file {name} {{",
        f'keepalived.conf:7: + file "{track}"',
        "keepalived.conf:8: + weight 0",
        "keepalived.conf:9: + }",
        "keepalived.conf:10: + ",
        "keepalived.conf:22: + FILE_CHECK {",
        f"keepalived.conf:23: + track_file {name}",
        "keepalived.conf:24: + weight 0",
        "keepalived.conf:25: + }",
        "keepalived.conf:26: + inhibit_on_failure",
    ]
    assert [(w.path, w.value, w.before) for w in plan.durable.track_writes] == [(track, "1", None)]
    assert plan.durable.reload and plan.lines() == [f"{VS} -> {RS1}: weight 3 -> 0"]
    assert not track.exists() and env["conf"].read_text() == CONF % {"vs_extra": ""}  # planning never writes


def test_drain_writes_validated_file_with_backup_then_second_drain_needs_no_reload(
        env: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    reloads = no_reload(monkeypatch)
    original = env["conf"].read_text()
    outcome = env["ops"].apply(c.Drain(*key()))
    assert env["director"].weights() == {RS1: 0, RS2: 2}
    entry = journal(env)[-1]
    (backup,) = entry["keepalived"]["backups"].values()  # kept in lvstui's state directory
    assert Path(backup).read_text() == original and not Path(backup).is_relative_to(env["tmp"])
    result = keepalived_test(load(env["conf"]))
    assert result is not None and result.ok, result.messages
    track = env["tmp"] / "track" / track_name(VS, RS1)
    assert track.read_text() == "1\n" and len(reloads) == 1
    assert any("reloaded keepalived" in m for m in outcome.messages)
    entry = journal(env)[-1]
    assert entry["result"] == "applied" and entry["keepalived"]["reload"] is True
    assert entry["keepalived"]["track_files"] == {str(track): "1"}
    # restore: the track file only, no edit, no reload; the weight is keepalived's (3)
    written = env["conf"].read_text()
    env["ops"].apply(c.Restore(*key()))
    assert track.read_text() == "0\n" and env["conf"].read_text() == written and len(reloads) == 1
    assert env["director"].weights() == {RS1: 3, RS2: 2}
    # the set-up stays: the next drain is a track file write only
    plan = env["ops"].plan(c.Drain(*key()))
    assert plan.durable.lines == [] and not plan.durable.reload
    assert [(w.value, w.before) for w in plan.durable.track_writes] == [("1", "0\n")]


def test_restore_uses_keepalived_weight_over_remembered(env: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    no_reload(monkeypatch)
    env["ops"].apply(c.Drain(*key()))
    WeightMemory(env["tmp"] / "w.json").update({(VS, RS1): 9}, [])
    plan = env["ops"].plan(c.Restore(*key()))
    assert plan.lines() == [f"{VS} -> {RS1}: weight 0 -> 3"]
    assert any("restoring keepalived's weight 3" in w and "not the remembered 9" in w for w in plan.warnings)


def test_weight_edits_only_the_weight_line(env: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    reloads = no_reload(monkeypatch)
    plan = env["ops"].plan(c.SetWeight(*key(server=RS2), weight=7))
    assert plan.durable.lines == ["keepalived.conf:19: - weight 2    # the bigger one",
                                  "keepalived.conf:19: + weight 7    # the bigger one"]
    env["ops"].apply(c.SetWeight(*key(server=RS2), weight=7))
    assert env["conf"].read_text() == (CONF % {"vs_extra": ""}).replace("weight 2 ", "weight 7 ")
    assert env["director"].weights() == {RS1: 3, RS2: 7} and len(reloads) == 1


def test_add_rs_copies_a_sibling_block_and_remove_rs_deletes_it(
        env: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    no_reload(monkeypatch)
    env["ops"].apply(c.AddServer(*key(server=RS3), weight=4, upper=100))
    text = env["conf"].read_text()
    assert "    real_server 192.168.1.23 80 {\n        weight 4\n        TCP_CHECK {" in text
    assert "uthreshold 100" in text and env["director"].weights()[RS3] == 4
    # remove-rs: refused while not drained (a reload without it would drop its connections)
    with pytest.raises(KeepalivedRefused, match=r"not drained.*Drain it first"):
        env["ops"].apply(c.RemoveServer(*key(server=RS3)))
    assert env["conf"].read_text() == text and env["director"].weights()[RS3] == 4
    env["ops"].apply(c.Drain(*key(server=RS3)))
    env["ops"].apply(c.RemoveServer(*key(server=RS3)))
    final = env["conf"].read_text()
    assert "192.168.1.23" not in final and track_name(VS, RS3) not in final  # its track_file went too
    assert not (env["tmp"] / "track" / track_name(VS, RS3)).exists()
    assert RS3 not in env["director"].weights()
    result = keepalived_test(load(env["conf"]))
    assert result is not None and result.ok


def test_add_rs_with_another_forwarding_method_is_refused(env: dict) -> None:
    with pytest.raises(KeepalivedRefused, match="lb_kind DR"):
        env["ops"].plan(c.AddServer(*key(server="192.168.1.24:8080"), forward=Forward.NAT))


def test_invalid_config_refused_with_file_and_line_nothing_changed(env: dict) -> None:
    broken = (CONF % {"vs_extra": ""}).replace("    delay_loop 2\n",
                                               "    delay_loop 2\n    no_such_keyword 1\n")
    env["conf"].write_text(broken)
    with pytest.raises(KeepalivedRefused) as exc:
        env["ops"].apply(c.SetWeight(*key(), weight=5))
    assert "keepalived.conf:8: Unknown keyword" in str(exc.value) and "no_such_keyword" in str(exc.value)
    assert env["conf"].read_text() == broken and env["director"].calls == []
    assert sorted(p.name for p in env["tmp"].iterdir()) == ["journal.jsonl", "keepalived.conf"]
    assert journal(env)[-1]["result"] == "refused"


def test_unparseable_config_refused(env: dict) -> None:
    env["conf"].write_text((CONF % {"vs_extra": ""}) + "}\n")
    with pytest.raises(KeepalivedRefused, match=r"keepalived.conf:\d+"):
        env["ops"].apply(c.Drain(*key()))
    assert env["director"].calls == []


def test_changed_on_disk_after_preview_is_refused_before_the_kernel(
        env: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    reloads = no_reload(monkeypatch)
    change = c.SetWeight(*key(), weight=5)
    preview = env["ops"].plan(change)
    behind = env["conf"].read_text().replace("router_id test", "router_id someone_else")
    env["conf"].write_text(behind)
    with pytest.raises(KeepalivedRefused, match=r"keepalived.conf changed since the preview.*nothing was changed"):
        env["ops"].apply(change, preview)
    assert env["conf"].read_text() == behind and reloads == []
    assert env["director"].weights() == {RS1: 3, RS2: 2} and env["director"].calls == []
    assert journal(env)[-1]["result"] == "refused"


def test_changed_on_disk_while_applying_rolls_the_kernel_back(
        env: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    reloads = no_reload(monkeypatch)
    change = c.SetWeight(*key(), weight=5)
    behind = env["conf"].read_text().replace("router_id test", "router_id someone_else")
    director = env["director"]
    edit_dest = director.edit_dest

    def edit_and_someone_writes(vs: VirtualService, server: RealServer) -> None:
        edit_dest(vs, server)
        if env["conf"].read_text() != behind:  # an editor outside lvstui, between the kernel and the write
            env["conf"].write_text(behind)

    monkeypatch.setattr(director, "edit_dest", edit_and_someone_writes)
    with pytest.raises(KeepalivedRefused,
                       match=r"changed on disk since lvstui read it.*kernel change was undone"):
        env["ops"].apply(change)
    assert env["conf"].read_text() == behind and reloads == []
    assert director.weights() == {RS1: 3, RS2: 2}
    assert director.calls == [f"edit {RS1} w5", f"edit {RS1} w3"]  # applied, then undone
    assert journal(env)[-1]["result"] == "refused"


def test_changed_on_disk_drain_leaves_no_track_file(env: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    no_reload(monkeypatch)
    change = c.Drain(*key())
    preview = env["ops"].plan(change)
    env["conf"].write_text(env["conf"].read_text() + "\n! edited by hand\n")
    with pytest.raises(KeepalivedRefused):
        env["ops"].apply(change, preview)
    assert not (env["tmp"] / "track" / track_name(VS, RS1)).exists()
    assert env["director"].weights() == {RS1: 3, RS2: 2}


def test_runtime_only_changes_the_kernel_only_and_says_so(env: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    reloads = no_reload(monkeypatch)
    before = env["conf"].read_text()
    outcome = env["ops"].apply(c.SetWeight(*key(), weight=5), runtime_only=True)
    assert env["director"].weights()[RS1] == 5 and env["conf"].read_text() == before and reloads == []
    assert outcome.plan.runtime_only and any(m.startswith("RUNTIME ONLY") for m in outcome.messages)
    assert any("back to weight 3" in w for w in outcome.plan.warnings)
    assert journal(env)[-1]["runtime_only"] is True
    # also with a broken file: runtime-only does not need it
    env["conf"].write_text(before + "}\n")
    outcome = env["ops"].apply(c.SetWeight(*key(), weight=6), runtime_only=True)
    assert env["director"].weights()[RS1] == 6
    assert outcome.plan.runtime_only and any("RUNTIME ONLY" in m for m in outcome.messages)
    assert any("cannot be used" in w for w in outcome.plan.warnings)
    assert journal(env)[-1]["runtime_only"] is True


def test_remove_rs_forced_by_the_change_itself(env: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    no_reload(monkeypatch)  # the TUI passes force in the change, not to apply()
    env["ops"].apply(c.RemoveServer(*key(server=RS2), force=True))
    assert RS2 not in env["director"].weights() and "192.168.1.22" not in env["conf"].read_text()


@pytest.mark.parametrize(("vs_extra", "change", "message"), [
    ("    quorum 4\n", lambda: c.Drain(*key()), "drop below its quorum 4 (alive weight 5 -> 2)"),
    ("    sorry_server 192.168.1.99 80\n", lambda: c.DrainHost("192.168.1.21"), None),
    ("    sorry_server 192.168.1.99 80\n", lambda: c.SetWeight(*key(server=RS2), weight=0), None),
    ("    quorum 4\n    sorry_server 192.168.1.99 80\n", lambda: c.Drain(*key(server=RS2)),
     "bring in its sorry server 192.168.1.99 80"),
    ("", lambda: c.Drain(*key(server=RS2)), None),
])
def test_quorum_sorry_server_warnings(env: dict, vs_extra: str, change: object, message: str | None) -> None:
    env["conf"].write_text(CONF % {"vs_extra": vs_extra})
    if message is None:  # one real server stays healthy: no warning
        plan = env["ops"].plan(change())  # type: ignore[operator]
        assert plan.durable is not None and not plan.durable.blockers
        return
    with pytest.raises(KeepalivedRefused, match="--force") as exc:
        env["ops"].plan(change())  # type: ignore[operator]
    assert message in str(exc.value)
    plan = env["ops"].plan(change(), force=True)  # type: ignore[operator]
    assert any(message in w for w in plan.warnings)


def test_last_healthy_real_server(env: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    no_reload(monkeypatch)
    env["ops"].apply(c.Drain(*key()))
    with pytest.raises(KeepalivedRefused, match="last healthy real server"):
        env["ops"].apply(c.Drain(*key(server=RS2)))
    assert env["director"].weights() == {RS1: 0, RS2: 2}
    with pytest.raises(KeepalivedRefused, match="last healthy real server"):
        env["ops"].apply(c.SetWeight(*key(server=RS2), weight=0))
    env["ops"].apply(c.Drain(*key(server=RS2)), force=True)
    assert env["director"].weights() == {RS1: 0, RS2: 0}


def test_drain_host_covers_every_service_in_one_edit(env: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    reloads = no_reload(monkeypatch)
    base = CONF % {"vs_extra": ""}
    conf = base + base.split("}\n\n", 1)[1].replace(" 80 {", " 443 {")
    env["conf"].write_text(conf)
    vs443 = VirtualService(protocol="tcp", family="inet", address="192.168.1.100", port=443, scheduler="wrr",
                           real_servers=(dataclasses.replace(rs("192.168.1.21", 3), port=443),
                                         dataclasses.replace(rs("192.168.1.22", 2), port=443)))
    env["director"].services[vs443.id] = vs443
    plan = env["ops"].plan(c.DrainHost("192.168.1.21"))
    assert len(plan.durable.track_writes) == 2 and plan.durable.reload
    assert sorted(plan.durable.managed) == ["tcp:192.168.1.100:443 -> 192.168.1.21:443 (keepalived.conf:31)",
                                            f"{VS} -> {RS1} (keepalived.conf:12)"]
    env["ops"].apply(c.DrainHost("192.168.1.21"))
    assert len(reloads) == 1
    result = keepalived_test(load(env["conf"]))
    assert result is not None and result.ok
    assert env["conf"].read_text().count("inhibit_on_failure") == 2


def test_unmanaged_service_is_kernel_only_without_keepalived_lines(env: dict) -> None:
    other = VirtualService(protocol="tcp", family="inet", address="192.168.1.101", port=80,
                           real_servers=(rs("192.168.1.21", 1),))
    env["director"].services[other.id] = other
    plan = env["ops"].plan(c.Drain(parse_service_id(other.id), parse_server_id(RS1)))
    assert plan.durable is None and not plan.runtime_only and plan.keepalived_lines() == []


def test_edit_vs_of_a_managed_service_is_refused_unless_runtime_only(env: dict) -> None:
    change = c.EditService(parse_service_id(VS), c.ServiceSettings(scheduler="rr"))
    with pytest.raises(KeepalivedRefused, match=r"keepalived manages .*keepalived.conf:6"):
        env["ops"].plan(change)
    assert env["ops"].plan(change, runtime_only=True).runtime_only


def test_reload_failure_keeps_file_and_kernel_and_says_so(env: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    from lvstui.ops.engine import OperationFailed

    def fail(site: object) -> None:
        raise ProcessLookupError(3, "No such process")

    monkeypatch.setattr("lvstui.ops.keepalived.reload_keepalived", fail)
    with pytest.raises(OperationFailed, match=r"could not reload keepalived.*reload it by hand"):
        env["ops"].apply(c.SetWeight(*key(), weight=5))
    assert "weight 5" in env["conf"].read_text() and env["director"].weights()[RS1] == 5
    assert journal(env)[-1]["result"] == "failed"


def test_find_site_picks_the_keepalived_of_this_network_namespace() -> None:
    import os

    from lvstui.keepalived.processes import KeepalivedProcess
    from lvstui.keepalived.site import find_site

    mine = os.stat("/proc/self/ns/net").st_ino
    other = KeepalivedProcess(parent_pid=os.getpid(), config_file="/etc/other.conf", netns_inode=mine + 1)
    ours = KeepalivedProcess(parent_pid=os.getpid(), config_file="/etc/keepalived/ours.conf", config_id="lb9",
                             netns_inode=mine)
    assert find_site([other]) is None
    site = find_site([other, ours])
    assert site is not None and (site.config_path, site.config_id, site.parent_pid) == \
        (Path("/etc/keepalived/ours.conf"), "lb9", os.getpid())


def test_site_in_another_root_maps_paths(env: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    no_reload(monkeypatch)
    root = env["tmp"] / "root"
    (root / "etc").mkdir(parents=True)
    conf = root / "etc" / "keepalived.conf"
    conf.write_text(CONF % {"vs_extra": ""})
    site = KeepalivedSite(conf, None, None, "test", root)
    ops = Operations(env["director"], journal=Journal(env["tmp"] / "j2.jsonl"),
                     memory=WeightMemory(env["tmp"] / "m2"), keepalived=site,
                     track_dir=Path("/var/lib/lvstui/keepalived"), settle_seconds=0)
    ops.apply(c.Drain(*key()))
    name = track_name(VS, RS1)
    assert f'file "/var/lib/lvstui/keepalived/{name}"' in conf.read_text()  # keepalived's path
    assert (root / "var/lib/lvstui/keepalived" / name).read_text() == "1\n"  # written in its root


def test_service_in_an_included_file_is_edited_there(env: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    no_reload(monkeypatch)
    conf_d = env["tmp"] / "conf.d"
    conf_d.mkdir()
    base = CONF % {"vs_extra": ""}
    head, vs_text = base.split("}\n\n", 1)
    main = head + "}\n\ninclude conf.d/*.conf\n"
    env["conf"].write_text(main)
    (conf_d / "web.conf").write_text(vs_text)
    plan = env["ops"].plan(c.Drain(*key()))
    assert plan.durable.lines and all(line.startswith("web.conf:") for line in plan.durable.lines)
    env["ops"].apply(c.Drain(*key()))
    assert env["conf"].read_text() == main
    text = (conf_d / "web.conf").read_text()
    assert text.index("track_file lvstui_") < text.index("virtual_server") < text.index("FILE_CHECK")
    assert [p.name for p in conf_d.iterdir()] == ["web.conf"]  # no backup beside it
    assert {Path(b).read_text() for b in journal(env)[-1]["keepalived"]["backups"].values()} == {vs_text}
    result = keepalived_test(load(env["conf"]))
    assert result is not None and result.ok, result.messages



def test_real_server_keepalived_took_out_can_still_be_drained(
        env: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    reloads = no_reload(monkeypatch)
    director = env["director"]
    director.services[VS] = dataclasses.replace(director.services[VS],
                                                real_servers=(rs("192.168.1.21", 3),))  # RS2 failed its check
    outcome = env["ops"].apply(c.Drain(*key(server=RS2)))
    assert director.calls == [] and len(reloads) == 1
    assert (env["tmp"] / "track" / track_name(VS, RS2)).read_text() == "1\n"
    assert any("not in the kernel" in w for w in outcome.plan.warnings)
    env["ops"].apply(c.SetWeight(*key(server=RS2), weight=5))
    assert "weight 5    # the bigger one" in env["conf"].read_text() and director.calls == []
    assert (env["tmp"] / "track" / track_name(VS, RS2)).read_text() == "0\n"
    # a real server keepalived does not know stays refused as before
    with pytest.raises(c.Refused, match="is not in"):
        env["ops"].apply(c.Drain(*key(server=RS3)))
