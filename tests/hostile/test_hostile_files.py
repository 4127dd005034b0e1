"""The hostile-input suite, part 2: files lvstui reads (config.toml, plan files, ~/.ssh/config,
known_hosts), each form through the real CLI: one line on stderr, nothing changed, in seconds."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.hostile.support import assert_one_line_refusal, run_cli, tree
from tests.setup.sshd_support import Sshd, start_sshd

EXAMPLE = (Path(__file__).resolve().parents[2] / "examples" / "director.toml").read_text()
Writer = Callable[[Path], None]


def text(content: str | bytes) -> Writer:
    def write(path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_bytes(content)
    return write


def fifo(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(path)


def directory(path: Path) -> None:
    path.mkdir(parents=True)


def huge(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        fh.write(b'theme = "x"\n')
        fh.truncate(40 << 20)


def link_loop(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(path.name)


def dangling_to_dev_zero(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to("/dev/zero")


COMMON_FILE_FORMS: list[tuple[str, Writer]] = [
    ("non-utf8", text(b'theme = "\xff\xfe"\n')), ("nul byte", text(b'theme = "a\x00b"\n')),
    ("fifo", fifo), ("directory", directory), ("huge", huge), ("symlink loop", link_loop),
    ("link to /dev/zero", dangling_to_dev_zero), ("not toml", text("theme = [\n")),
    ("deep arrays", text("a = " + "[" * 50000 + "]" * 50000 + "\n")),
    ("deep inline tables", text("a = " + "{b = " * 5000 + "1" + "}" * 5000 + "\n")),
    ("escape sequences", text('theme = "\\u001b[2J"\n[keys]\n"app.quit" = 5\n')),
]

CONFIG_FORMS: list[tuple[str, Writer]] = [
    *COMMON_FILE_FORMS,
    ("theme not a string", text("theme = 5\n")), ("interval negative", text("interval = -1\n")),
    ("interval nan", text("interval = nan\n")), ("interval inf", text("interval = inf\n")),
    ("interval huge", text("interval = 1e300\n")), ("interval bool", text("interval = true\n")),
    ("interval string", text('interval = "2"\n')), ("keys not a table", text("keys = 5\n")),
    ("key value not a string", text('[keys]\n"app.quit" = 3\n')), ("empty key value", text('[keys]\n"a" = " "\n')),
    ("dotted key unquoted", text("[keys]\napp.quit = \"q\"\n")),
    ("duplicate key", text('theme = "a"\ntheme = "b"\n')),
]


def _plan(**replace: str) -> str:
    out = EXAMPLE
    for old, new in replace.items():
        old_line = next(line for line in out.splitlines() if line.split("=")[0].strip() == old)
        out = out.replace(old_line, f"{old} = {new}", 1)
    return out


PLAN_FORMS: list[tuple[str, Writer]] = [
    *COMMON_FILE_FORMS,
    ("empty", text("")),
    ("vip shell", text(_plan(vip='"1.2.3.4; id"'))), ("vip ipv6 link-local", text(_plan(vip='"fe80::1"'))),
    ("vip ipv6 zone", text(_plan(vip='"fe80::1%eth0"'))), ("vip mapped", text(_plan(vip='"::ffff:1.2.3.4"'))),
    ("vip number", text(_plan(vip="3232235876"))), ("vip escape", text(_plan(vip='"\\u001b[2J"'))),
    ("port negative", text(_plan(port="-80"))), ("port huge", text(_plan(port="99999999999999999999999"))),
    ("port float", text(_plan(port="80.5"))), ("port string", text(_plan(port='"80; id"'))),
    ("protocol", text(_plan(protocol='"ICMP"'))), ("lb_algo", text(_plan(lb_algo='"rr\\nnotify /bin/sh"'))),
    ("lb_kind", text(_plan(lb_kind='"DR}"'))), ("persistence negative", text(_plan(persistence_timeout="-1"))),
    ("persistence huge", text(_plan(persistence_timeout="1e309"))), ("delay_loop 0", text(_plan(delay_loop="0"))),
    ("connect_timeout", text(_plan(connect_timeout='"3 }"'))),
    ("weight negative", text(_plan(weight="-1"))), ("weight huge", text(_plan(weight="4294967296"))),
    ("address traversal", text(_plan(address='"../../etc"'))), ("address unicode", text(_plan(address='"١.٢.٣.٤"'))),
    ("interface shell", text(_plan(interface='"eth0; reboot"'))), ("interface long", text(_plan(interface='"' + "e" * 40 + '"'))),
    ("interface traversal", text(_plan(interface='"../../x"'))),
    ("router id", text(_plan(virtual_router_id="256"))), ("router id 0", text(_plan(virtual_router_id="0"))),
    ("auth_pass long", text(_plan(auth_pass='"123456789"'))), ("auth_pass brace", text(_plan(auth_pass='"a}b"'))),
    ("auth_pass quote", text(_plan(auth_pass="'a\"b'"))), ("advert_int", text(_plan(advert_int="-1"))),
    ("instance newline", text(_plan(instance='"VI_1\\n}\\nvrrp_script x {"'))),
    ("host shell", text(_plan(host='"root@h; id"'))), ("host option", text(_plan(host='"-oProxyCommand=id"'))),
    ("state", text(_plan(state='"LEADER"'))), ("priority 0", text(_plan(priority="0"))),
    ("priority 255", text(_plan(priority="255"))),
    ("unknown key", text(EXAMPLE + "\n[extra]\nx = 1\n")),
    ("three directors", text(EXAMPLE + '\n[[director]]\nhost = "h3"\nstate = "BACKUP"\npriority = 50\n')),
    ("real_server not a list", text(EXAMPLE.replace("[[real_server]]", "[real_server_x]"))),
    ("table is a string", text('virtual_server = "x"\n')),
]

SSH_CONFIG_FORMS: list[tuple[str, Writer]] = [
    *[(n, w) for n, w in COMMON_FILE_FORMS if n not in ("not toml", "deep arrays", "deep inline tables")],
    ("port word", text("Host rs9\n  Port notanumber\n")), ("port huge", text("Host rs9\n  Port 99999\n")),
    ("port negative", text("Host rs9\n  Port -1\n")),
    ("proxyjump self", text("Host rs9\n  ProxyJump rs9\n")),
    ("proxyjump loop", text("Host a\n  ProxyJump b\nHost b\n  ProxyJump a\nHost rs9\n  ProxyJump a\n")),
    ("proxyjump empty list", text("Host rs9\n  ProxyJump ,\n")),
    ("proxycommand fails", text("Host rs9\n  ProxyCommand /bin/false\n")),
    ("proxycommand missing", text("Host rs9\n  ProxyCommand /nonexistent/proxy %h %p\n")),
    ("proxycommand and jump", text("Host rs9\n  ProxyJump a\n  ProxyCommand nc %h %p\n")),
    ("hostname shell", text("Host rs9\n  HostName h$(id)\n")), ("hostname empty", text("Host rs9\n  HostName \"\"\n")),
    ("user shell", text("Host rs9\n  User root;id\n")), ("user option", text("Host rs9\n  User -oProxyCommand=x\n")),
    ("no value", text("Host rs9\n  Port\n")), ("match exec", text("Match exec \"exit 3\"\n  Port 1\n")),
    ("unknown token", text("Host rs9\n  HostName %Z\n")), ("escape", text("Host rs9\n  HostName \x1b[2J\n")),
    ("identity missing", text("Host rs9\n  HostName 127.0.0.1\n  IdentityFile /nonexistent\n  Port 1\n")),
]


def _check(argv: list[str], watched: list[Path], env: dict[str, str], cwd: Path, netns: bool = True) -> str:
    before = tree(*watched)
    out = run_cli(argv, env=env, cwd=cwd, netns=netns)
    line = assert_one_line_refusal(out)
    assert tree(*watched) == before
    return line


def _watched(tmp_path: Path) -> list[Path]:
    return [Path(os.environ["LVSTUI_STATE_DIR"]), Path(os.environ["XDG_CONFIG_HOME"]), tmp_path]


@pytest.mark.parametrize(("label", "write"), CONFIG_FORMS, ids=[c[0] for c in CONFIG_FORMS])
def test_hostile_config_toml(label: str, write: Writer, tmp_path: Path) -> None:
    config = Path(os.environ["XDG_CONFIG_HOME"]) / "lvstui" / "config.toml"
    write(config)
    line = _check(["--demo"], _watched(tmp_path), {}, tmp_path)
    assert "config.toml" in line


@pytest.mark.parametrize(("label", "write"), PLAN_FORMS, ids=[c[0] for c in PLAN_FORMS])
def test_hostile_plan_file(label: str, write: Writer, tmp_path: Path) -> None:
    plan = tmp_path / "plan.toml"
    write(plan)
    line = _check(["setup", "director", "--from", str(plan), "--dry-run", "--timeout", "2"],
                  _watched(tmp_path), {"HOME": str(tmp_path)}, tmp_path)
    assert "plan.toml" in line


@pytest.mark.parametrize(("label", "write"), SSH_CONFIG_FORMS, ids=[c[0] for c in SSH_CONFIG_FORMS])
def test_hostile_ssh_config(label: str, write: Writer, tmp_path: Path) -> None:
    config = tmp_path / "ssh_config"
    write(config)
    (tmp_path / "known_hosts").write_text("")
    _check(["setup", "realserver", "rs9", "--vip", "10.0.0.9", "--dry-run", "--timeout", "2",
            "--ssh-config", str(config), "--known-hosts", str(tmp_path / "known_hosts")],
           _watched(tmp_path), {"HOME": str(tmp_path)}, tmp_path)


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    server = start_sshd(tmp_path_factory.mktemp("hostile-sshd"))
    try:
        yield server
    finally:
        server.stop()


def _known_hosts_forms() -> list[tuple[str, Callable[[Sshd], bytes]]]:
    def key(s: Sshd) -> list[str]:
        return s.host_key.with_suffix(".pub").read_text().split()

    return [
        ("@revoked", lambda s: f"@revoked * {key(s)[0]} {key(s)[1]}\n{s.known_hosts_line()}".encode()),
        ("@cert-authority", lambda s: f"@cert-authority * {key(s)[0]} {key(s)[1]}\n".encode()),
        ("unknown marker", lambda s: f"@weird * {key(s)[0]} {key(s)[1]}\n".encode()),
        ("bad base64", lambda s: f"[127.0.0.1]:{s.port} ssh-ed25519 !!!notbase64\n".encode()),
        ("truncated key", lambda s: f"[127.0.0.1]:{s.port} ssh-ed25519 {key(s)[1][:20]}\n".encode()),
        ("unknown type", lambda s: f"[127.0.0.1]:{s.port} ssh-foo {key(s)[1]}\n".encode()),
        ("non-utf8", lambda s: b"\xff\xfe garbage\n"), ("nul", lambda s: b"\x00\x00\x00\n"),
        ("hashed garbage", lambda s: f"|1|x|y {key(s)[0]} {key(s)[1]}\n".encode()),
        ("escape", lambda s: f"\x1b[2J {key(s)[0]} {key(s)[1]}\n".encode()),
        ("huge line", lambda s: b"h ssh-ed25519 " + b"A" * 2_000_000 + b"\n"),
        ("only fields", lambda s: b"host\n"), ("wrong host's key", lambda s: f"other {key(s)[0]} {key(s)[1]}\n".encode()),
    ]


KNOWN_HOSTS_FORMS = _known_hosts_forms()


@pytest.mark.parametrize(("label", "content"), KNOWN_HOSTS_FORMS, ids=[c[0] for c in KNOWN_HOSTS_FORMS])
def test_hostile_known_hosts(label: str, content: Callable[[Sshd], bytes], sshd: Sshd, tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    known.write_bytes(content(sshd))
    line = _check(["setup", "realserver", "127.0.0.1", "--vip", "10.0.0.9", "--dry-run", "--timeout", "3",
                   "--ssh-port", str(sshd.port), "--user", "root", "--identity", str(sshd.client_key),
                   "--ssh-config", str(tmp_path / "none"), "--known-hosts", str(known)],
                  _watched(tmp_path), {"HOME": str(tmp_path)}, tmp_path, netns=False)
    assert re.search(r"unknown host key|REFUSED", line), line


def test_count_of_file_cases() -> None:
    total = len(CONFIG_FORMS) + len(PLAN_FORMS) + len(SSH_CONFIG_FORMS) + len(KNOWN_HOSTS_FORMS)
    print(f"\nhostile file cases: config.toml {len(CONFIG_FORMS)}, plan files {len(PLAN_FORMS)}, "
          f"ssh config {len(SSH_CONFIG_FORMS)}, known_hosts {len(KNOWN_HOSTS_FORMS)}: {total}")
    assert total > 80
