"""`lvstui keepalived parse|check`, run as the operator runs them (a subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lvstui.keepalived.validate import find_keepalived
from tests.keepalived.support import shared_samples

REPO = str(Path(__file__).resolve().parents[2])


def lvstui(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lvstui", "keepalived", *args], capture_output=True,
                          text=True, cwd=REPO, timeout=60)


def test_parse_json_structure() -> None:
    r = lvstui("parse", "--json", str(shared_samples() / "keepalived.conf.vrrp.lvs_syncd"))
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    (vs,) = doc["virtual_servers"]
    assert vs["key"] == "tcp:192.168.200.19:80" and vs["lb_algo"] == "rr"
    assert [(rs["address"], rs["port"], rs["weight"]) for rs in vs["real_servers"]] == [("192.168.201.100", 80, 1)]
    assert vs["real_servers"][0]["checkers"][0]["type"] == "TCP_CHECK"
    vi = {i["name"]: i for i in doc["vrrp_instances"]}
    assert (vi["VI_1"]["state"], vi["VI_1"]["priority"], vi["VI_1"]["interface"],
            vi["VI_1"]["virtual_router_id"]) == ("MASTER", 150, "eth0", 51)
    assert "192.168.200.16" in vi["VI_1"]["virtual_ipaddresses"]
    assert vi["VI_1"]["source"]["line"] > 0


def test_parse_config_id_option() -> None:
    path = str(shared_samples() / "keepalived.conf.conditional_conf")
    for cid, prio in (("high", 170), ("low", 85)):
        r = lvstui("parse", "--json", "--config-id", cid, path)
        assert json.loads(r.stdout)["vrrp_instances"][0]["priority"] == prio


def test_parse_summary_is_readable() -> None:
    r = lvstui("parse", str(shared_samples() / "keepalived.conf.quorum"))
    assert r.returncode == 0, r.stderr
    assert "virtual_server tcp:10.0.1.1:80" in r.stdout and "TCP_CHECK" in r.stdout


def test_parse_error_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "keepalived.conf"
    path.write_text("global_defs {\n  router_id x\n}\n}\n")
    r = lvstui("parse", str(path))
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.strip() == "lvstui: keepalived.conf:4: unbalanced '}'"
    r = lvstui("check", str(path))
    assert r.returncode == 1 and "keepalived.conf:4: unbalanced '}'" in r.stderr


def test_missing_file_is_one_line(tmp_path: Path) -> None:
    r = lvstui("check", str(tmp_path / "nope.conf"))
    assert r.returncode == 1
    assert len(r.stderr.strip().splitlines()) == 1 and "nope.conf: cannot read" in r.stderr


@pytest.mark.skipif(find_keepalived() is None, reason="keepalived not installed")
def test_check_passes_a_good_sample_and_fails_a_bad_one(tmp_path: Path) -> None:
    r = lvstui("check", str(shared_samples() / "keepalived.conf.sample"))
    assert r.returncode == 0, r.stderr
    assert "byte-identical" in r.stdout and "keepalived -t: ok" in r.stdout
    bad = tmp_path / "keepalived.conf"
    bad.write_text("vrrp_instance X {\n  interface lo\n  virtual_router_id 300\n  priority 100\n}\n")
    r = lvstui("check", str(bad))
    assert r.returncode == 1
    assert "keepalived.conf:3:" in r.stderr and "300" in r.stderr
    assert bad.read_text().startswith("vrrp_instance X")  # check never writes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keepalived.conf"]
    r = lvstui("check", "--no-keepalived", str(bad))
    assert r.returncode == 0


@pytest.mark.skipif(find_keepalived() is None, reason="keepalived not installed")
def test_check_passes_config_id_to_keepalived(tmp_path: Path) -> None:
    path = tmp_path / "keepalived.conf"
    path.write_text("global_defs {\n  router_id x\n}\n@bad bogus_keyword 1\n")
    assert lvstui("check", "--config-id", "good", str(path)).returncode == 0
    r = lvstui("check", "--config-id", "bad", str(path))
    assert r.returncode == 1 and "keepalived.conf:4: Unknown keyword 'bogus_keyword'" in r.stderr
