"""The plain-Python parts behind the dashboard: demo, rates, feed, view, layout, config, themes, host."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest

from lvstui.backend.host import HostReader
from lvstui.config import ConfigError, config_path, load_config, save_theme
from lvstui.demo import DemoSource
from lvstui.model import Rates, Snapshot, Stats
from lvstui.rates import compute_deltas, rs_key, stats_delta
from lvstui.ui.columns import RS_COLUMNS, SERVICE_COLUMNS, RateView
from lvstui.ui.feed import Feed
from lvstui.ui.filtering import Term, parse_terms
from lvstui.ui.formatting import age, si
from lvstui.ui.themes import load_theme_file, load_themes, theme_dirs
from lvstui.ui.view import ViewSpec, build_tables
from lvstui.ui.vtable import layout_columns
from lvstui.ui.widgets import sparkline


def test_demo_is_deterministic_for_a_seed_and_time() -> None:
    a = DemoSource(seed=3, clock=lambda: 0.0).snapshot_at(42.0)
    b = DemoSource(seed=3, clock=lambda: 500.0).snapshot_at(42.0)
    c = DemoSource(seed=4, clock=lambda: 0.0).snapshot_at(42.0)
    assert a == b
    assert a != c


def test_demo_has_every_kind_of_service_and_the_scheduled_incidents() -> None:
    source = DemoSource(clock=lambda: 0.0)
    early = source.snapshot_at(10.0)
    ids = [vs.id for vs in early.virtual_services]
    assert "tcp:[2001:db8::10]:80" in ids and "fwmark:42" in ids and "udp:192.0.2.53:53" in ids
    assert early.real_server_count >= 40
    assert early.source == "demo"
    web = early.service("tcp:192.0.2.10:80")
    assert web is not None and web.real_server("10.1.0.14:80").state == "up"  # type: ignore[union-attr]
    down = source.snapshot_at(35.0).service("tcp:192.0.2.10:80")
    assert down is not None and down.real_server("10.1.0.14:80").state == "down"  # type: ignore[union-attr]
    back = source.snapshot_at(55.0).service("tcp:192.0.2.10:80")
    assert back is not None and back.real_server("10.1.0.14:80").state == "up"  # type: ignore[union-attr]
    assert source.snapshot_at(80.0).service("tcp:192.0.2.10:80").real_server("10.1.0.23:80") is None  # type: ignore[union-attr]
    db_early = source.snapshot_at(10.0).service("tcp:198.51.100.20:3306")
    db_late = source.snapshot_at(70.0).service("tcp:198.51.100.20:3306")
    assert db_early.real_server("10.3.0.12:3306").weight == 100  # type: ignore[union-attr]
    assert db_late.real_server("10.3.0.12:3306").weight == 50  # type: ignore[union-attr]
    assert db_early.real_server("10.3.0.13:3306").state == "drained"  # type: ignore[union-attr]


def test_demo_counters_never_go_backwards() -> None:
    source = DemoSource(clock=lambda: 0.0)
    previous = source.snapshot_at(0.0)
    for t in range(1, 130, 3):
        current = source.snapshot_at(float(t))
        deltas = compute_deltas(dataclasses.replace(previous, monotonic=t - 3.0),
                                dataclasses.replace(current, monotonic=float(t)))
        # every service that exists in both has a (non-negative) rate
        assert set(deltas.services) == {vs.id for vs in previous.virtual_services}
        previous = current


def test_stats_delta_and_counter_reset() -> None:
    old = Stats(conns=100, inpkts=1000, outpkts=0, inbytes=10_000, outbytes=0)
    new = Stats(conns=300, inpkts=3000, outpkts=0, inbytes=50_000, outbytes=0)
    assert stats_delta(old, new, 2.0) == Rates(cps=100, inpps=1000, outpps=0, inbps=20_000, outbps=0)
    assert stats_delta(new, old, 2.0) is None  # went backwards: service re-created
    assert stats_delta(old, new, 0.0) is None


def test_compute_deltas_keyed_by_id_not_position() -> None:
    source = DemoSource(clock=lambda: 0.0)
    a, b = source.snapshot_at(5.0), source.snapshot_at(7.0)
    shuffled = dataclasses.replace(b, virtual_services=tuple(reversed(b.virtual_services)), monotonic=7.0)
    deltas = compute_deltas(dataclasses.replace(a, monotonic=5.0), shuffled)
    assert deltas.interval == 2.0
    web_a, web_b = a.service("tcp:192.0.2.10:80"), b.service("tcp:192.0.2.10:80")
    assert web_a is not None and web_b is not None
    expected = round((web_b.stats.conns - web_a.stats.conns) / 2.0)
    assert deltas.services["tcp:192.0.2.10:80"].cps == expected
    rs = web_b.real_servers[0]
    old_rs = web_a.real_server(rs.id)
    assert old_rs is not None
    assert deltas.real_servers[rs_key(web_b.id, rs.id)].cps == round((rs.stats.conns - old_rs.stats.conns) / 2)
    # failed or unordered snapshots give no deltas
    assert not compute_deltas(dataclasses.replace(a, monotonic=7.0), shuffled).available
    assert not compute_deltas(a, dataclasses.replace(shuffled, error="boom")).available


def test_feed_logs_down_up_appear_vanish_weight_events() -> None:
    source = DemoSource(clock=lambda: 0.0)
    feed = Feed()
    for t in range(0, 125, 1):
        feed.process(dataclasses.replace(source.snapshot_at(float(t)), monotonic=float(t)))
    events, index = feed.events_since(0)
    kinds = {(e.kind, e.rs_id) for e in events}
    assert ("down", "10.1.0.14:80") in kinds
    assert ("up", "10.1.0.14:80") in kinds
    assert ("vanished", "10.1.0.23:80") in kinds
    assert ("appeared", "10.1.0.23:80") in kinds  # comes back at t=120
    assert ("weight", "10.3.0.12:3306") in kinds
    down = next(e for e in events if e.kind == "down")
    assert down.at.second == 30 and "HTTP_GET" in down.detail
    assert feed.events_since(index) == ([], index)
    assert len(feed.history("tcp:192.0.2.10:80")) == 125
    # the first point has no lvstui delta yet; later ones do
    points = feed.history("tcp:192.0.2.10:80")
    assert math.isnan(points[0][2]) and not math.isnan(points[5][2])


def test_filter_words_match_address_port_protocol_and_state() -> None:
    snapshot = DemoSource(clock=lambda: 0.0).snapshot_at(35.0)
    view = RateView()

    def build(text: str) -> tuple[list[str], list[str]]:
        tables = build_tables(snapshot, ViewSpec(filter=text), view)
        return list(tables.svc_keys), list(tables.rs_keys)

    assert parse_terms("  Down  10.1 state:UP") == (Term(None, "down"), Term(None, "10.1"), Term("state", "up"))
    services, servers = build("down")
    assert services == ["tcp:192.0.2.10:80"] and servers == ["10.1.0.14:80"]
    services, _ = build("udp")
    assert services == ["udp:192.0.2.53:53"]
    services, servers = build(":443")
    assert services == ["tcp:192.0.2.10:443"] and len(servers) == 12  # the service matched: all its servers
    services, servers = build("drained")
    assert services == ["tcp:198.51.100.20:3306"] and servers == ["10.3.0.13:3306"]
    services, _ = build("2001:db8")
    assert services == ["tcp:[2001:db8::10]:80"]
    assert build("nothing-matches") == ([], [])


@pytest.mark.parametrize("column", [c.key for c in SERVICE_COLUMNS])
def test_services_sort_by_every_column(column: str) -> None:
    snapshot = DemoSource(clock=lambda: 0.0).snapshot_at(35.0)
    view = RateView()
    up = build_tables(snapshot, ViewSpec(svc_sort=column), view).svc_keys
    down = build_tables(snapshot, ViewSpec(svc_sort=column, svc_reverse=True), view).svc_keys
    assert sorted(up) == sorted(vs.id for vs in snapshot.virtual_services)
    if column in ("cps", "active", "inbps"):
        values = [snapshot.service(k).rates.cps for k in up] if column == "cps" else None
        if values is not None:
            assert values == sorted(values)
    assert list(down) != list(up) or len(set(up)) <= 1 or column in ("sched", "persist", "outpps", "outbps")


@pytest.mark.parametrize("column", [c.key for c in RS_COLUMNS])
def test_real_servers_sort_by_every_column(column: str) -> None:
    snapshot = DemoSource(clock=lambda: 0.0).snapshot_at(35.0)
    spec = ViewSpec(selected="tcp:192.0.2.10:80", rs_sort=column)
    tables = build_tables(snapshot, spec, RateView())
    assert len(tables.rs_keys) == 13
    if column == "id":
        assert tables.rs_keys[0] == "10.1.0.11:80" and tables.rs_keys[-1] == "10.1.0.23:80"
    if column == "state":
        assert tables.rs_keys[0] == "10.1.0.14:80"  # down first
    if column == "active":
        actives = [tables.rs_items[k].rs.active_conns for k in tables.rs_keys]
        assert actives == sorted(actives)


def test_layout_drops_low_priority_columns_first_and_keeps_ids_whole() -> None:
    wide = layout_columns(SERVICE_COLUMNS, 200, natural_flex=22)
    assert [c.key for c, _ in wide] == [c.key for c in SERVICE_COLUMNS]
    narrow = layout_columns(SERVICE_COLUMNS, 80, natural_flex=22)
    keys = [c.key for c, _ in narrow]
    assert {"id", "up", "active", "cps"} <= set(keys)
    assert "outpps" not in keys
    assert {c.key: w for c, w in narrow}["id"] >= 22
    assert sum(w for _, w in narrow) + len(narrow) - 1 + 2 <= 80
    tiny = layout_columns(RS_COLUMNS, 40, natural_flex=30)
    assert [c.key for c, _ in tiny][:1] == ["id"] and all(c.priority == 0 for c, _ in tiny)


def test_config_round_trip_keeps_other_keys(isolated_config: Path) -> None:
    path = config_path()
    assert path == isolated_config / "lvstui" / "config.toml"
    assert load_config().theme is None
    path.parent.mkdir(parents=True)
    path.write_text('interval = 2.5\n[keys]\nquit = "x"\n')
    save_theme("light")
    config = load_config()
    assert config.theme == "light" and config.interval == 2.5
    assert 'quit = "x"' in path.read_text()
    path.write_text("theme = [")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config()
    path.write_text("interval = -1")
    with pytest.raises(ConfigError, match="positive"):
        load_config()


def test_config_path_honours_xdg(monkeypatch: pytest.MonkeyPatch) -> None:
    assert config_path({"XDG_CONFIG_HOME": "/x/y", "HOME": "/h"}) == Path("/x/y/lvstui/config.toml")
    assert config_path({"HOME": "/h"}) == Path("/h/.config/lvstui/config.toml")
    assert config_path({"XDG_CONFIG_HOME": "relative", "HOME": "/h"}) == Path("/h/.config/lvstui/config.toml")


def test_bundled_themes_load_and_bad_ones_are_reported(tmp_path: Path) -> None:
    themes, errors = load_themes(theme_dirs())
    assert {"dark", "light", "high-contrast"} <= {t.name for t in themes} and errors == []
    bad = tmp_path / "themes"
    bad.mkdir()
    (bad / "broken.toml").write_text('name = "broken"\nprimary = "#12345G"\nbogus = 1\n[variables]\nrs-up = "nope"\n')
    with pytest.raises(ValueError) as info:
        load_theme_file(bad / "broken.toml")
    message = str(info.value)
    assert "primary" in message and "bogus" in message and "rs-up" in message
    _, errors = load_themes([bad])
    assert len(errors) == 1


def test_high_contrast_theme_does_not_use_red_and_green_for_state() -> None:
    theme = load_theme_file(Path(theme_dirs()[0]) / "high-contrast.toml")
    up, down = theme.variables["rs-up"].upper(), theme.variables["rs-down"].upper()
    assert up != down
    from textual.color import Color

    # they differ in brightness, not only in hue
    assert abs(Color.parse(up).brightness - Color.parse(down).brightness) > 0.05


def test_host_reader_reads_this_machine() -> None:
    reader = HostReader()
    reader.read()
    stats = reader.read()
    assert stats.cpus and all(0 <= c.softirq <= 100 and 0 <= c.busy <= 100 for c in stats.cpus)
    assert stats.mem_total > stats.mem_used > 0
    assert any(n.name == "lo" for n in stats.nics)


def test_formatting() -> None:
    assert [si(v) for v in (0, 950, 1234, 12_345, 3_400_000)] == ["0", "950", "1.2k", "12k", "3.4M"]
    assert [age(s) for s in (0.42, 12, 185, 7800)] == ["0.4s", "12s", "3m05s", "2h10m"]
    line = sparkline([1, 2, 3, float("nan"), 4], 6)
    assert len(line) == 6 and line[0] == " " and line[4] == " " and line[-1] == "█"


def test_empty_snapshot_builds_empty_tables() -> None:
    from lvstui.model import EMPTY_SNAPSHOT

    tables = build_tables(EMPTY_SNAPSHOT, ViewSpec(), RateView())
    assert tables.svc_keys == [] and tables.rs_vs_id is None
    assert isinstance(EMPTY_SNAPSHOT, Snapshot)


def test_service_flags_text() -> None:
    from lvstui.model import VirtualService
    from lvstui.ui.columns import service_flags

    plain = VirtualService("tcp", "inet", "10.0.0.1", 80)
    assert service_flags(plain) == "-"
    sticky = VirtualService("udp", "inet", "10.0.0.1", 53, scheduler="sh", persistence_timeout=300,
                            flags=("persistent", "ops", "sh-fallback", "sh-port"))
    assert service_flags(sticky) == "p300,ops,shfb,shport"


def test_config_keys_table(isolated_config: Path) -> None:
    path = config_path()
    path.parent.mkdir(parents=True)
    path.write_text('[keys]\n"app.quit" = "q,ctrl+q"\n')
    assert load_config().keys == (("app.quit", "q,ctrl+q"),)
    path.write_text('[keys]\n"app.quit" = 3\n')
    with pytest.raises(ConfigError, match=r"\[keys\]"):
        load_config()


def test_history_is_bounded_on_large_directors() -> None:
    from lvstui.ui.feed import HISTORY_POINTS, Ring

    ring = Ring(3)
    for i in range(5):
        ring.append((i, i * 10, float("nan"), 1.5))
    assert [p[0] for p in ring.points()] == [2.0, 3.0, 4.0] and len(ring) == 3
    assert math.isnan(ring.points()[0][2])

    clock = [0.0]
    big = DemoSource.scaled(1, 2500, clock=lambda: clock[0])  # above both limits
    feed = Feed()
    vs_id = "tcp:10.100.0.0:80"
    feed.watch([vs_id], [rs_key(vs_id, "172.16.0.7:80")])
    for _ in range(3):
        clock[0] += 1
        feed.process(big.read())
    assert feed.history_keys() == 2  # the service and the one selected server, not 2,500
    assert len(feed.history(rs_key(vs_id, "172.16.0.7:80"))) == 3
    feed.watch([vs_id], [rs_key(vs_id, "172.16.0.8:80")])
    clock[0] += 1
    feed.process(big.read())
    assert feed.history(rs_key(vs_id, "172.16.0.7:80")) == []  # no longer watched: dropped
    assert len(feed.history(vs_id)) == 4 <= HISTORY_POINTS


def test_header_names_every_vrrp_instance_and_its_state() -> None:
    from lvstui.model import VrrpInstance
    from lvstui.ui.widgets import HeaderState, header_content

    none = str(header_content(HeaderState(director="lb1", age_seconds=0.4)))
    assert "keepalived: not running" in none and "lb1" in none and "data 0.4s old" in none
    two = header_content(HeaderState(director="lb1", age_seconds=1.0, vrrp=(
        VrrpInstance("VI_1", "MASTER", 150, 150), VrrpInstance("VI_2", "FAULT", 100, 100))))
    assert "VI_1 MASTER VI_2 FAULT" in str(two) and "keepalived" not in str(two)
    stale = str(header_content(HeaderState(director="lb1", age_seconds=12.0, error="netlink: EPERM",
                                           readonly=True, paused=True)))
    assert "STALE" in stale and "data 12s old" in stale and "netlink: EPERM" in stale
    assert "READ-ONLY" in stale and "PAUSED" in stale
