"""Pilot walks through the setup wizard screens.

The hosts here are FakeHost objects: an in-memory TEST FIXTURE that answers the
commands the plans run (sysctls, addresses, files).  It exists only in these UI
tests; the real thing (sshd, sysctls, keepalived) is tested in tests/setup/test_setup_lab.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Button, Input, ProgressBar, Static

from lvstui.setup.runner import Command, FileInfo, RunnerError, RunResult, Script
from lvstui.ui.setup_app import SetupApp
from lvstui.ui.setup_forms import DirectorFormScreen, RealServerFormScreen
from lvstui.ui.setup_run import HostKeyScreen, SetupRunScreen

SYSCTLS = [f"/proc/sys/net/ipv4/conf/{i}/{k}" for i in ("lo", "all") for k in ("arp_ignore", "arp_announce")]


#: scripts the plans run whose answer is "yes" on this fake host (keepalived installed and running,
#: the VIP unit enabled); any other script fails the test (see FakeHost.run)
OK_SCRIPTS = (
    "command -v ipvsadm && command -v keepalived",
    '[ -s /run/keepalived.pid ] && kill -0 "$(cat /run/keepalived.pid)" 2>/dev/null',
    'kill -HUP "$(cat /run/keepalived.pid)"',
    '[ "$(readlink -- /etc/systemd/system/multi-user.target.wants/lvstui-vip.service)" = ../lvstui-vip.service ]',
)


class UnknownCommand(AssertionError):
    """The plan ran something this fake host was not taught: the test must say what it answers."""


class FakeHost:
    """TEST FIXTURE: an in-memory stand-in for a host, for the UI tests only.

    It answers exactly the commands it knows; anything else raises :class:`UnknownCommand`
    (recorded in ``unknown``), so a plan that starts running something new fails here instead
    of being told "success".
    """

    def __init__(self, host: str, vrrp_state: str = "MASTER", fail_on: str = "") -> None:
        self.host = host
        self.files: dict[str, FileInfo] = {p: FileInfo(b"0\n", 0o644, "root", "root") for p in SYSCTLS}
        self.addrs = ["127.0.0.1/8"]
        self.vrrp_state = vrrp_state
        self.fail_on = fail_on
        self.ipvs = ""
        self.unknown: list[str] = []

    def _unknown(self, what: str) -> RunResult:
        self.unknown.append(what)
        raise UnknownCommand(f"FakeHost {self.host}: unknown command {what}")

    def run(self, command: Command, *, stdin: bytes = b"", timeout: float | None = None) -> RunResult:
        if isinstance(command, Script):
            text = str(command)
            if "systemd-networkd" in text:
                return RunResult(0, b"unit\n")
            if "for pm in" in text:
                return RunResult(0, b"pm=apt-get\n")
            if "keepalived.data" in text:
                return RunResult(0, f" State = {self.vrrp_state}\n".encode())
            if text in OK_SCRIPTS:
                return RunResult(0)
            backups = re.match(r"rm -rf -- (/var/lib/lvstui/backup/\S+) && \{ rmdir", text)
            if backups:  # an undo that left nothing: the plan's backups go
                for path in [p for p in self.files if p.startswith(backups.group(1) + "/")]:
                    del self.files[path]
                return RunResult(0)
            return self._unknown(repr(text))
        argv = list(command)
        if self.fail_on and " ".join(argv).startswith(self.fail_on):
            return RunResult(2, b"", b"RTNETLINK answers: Operation not permitted\n")
        if argv[0] == "cat":
            return RunResult(0, b"".join(self.files[p].content for p in argv[1:]))
        if argv[:2] == ["sysctl", "-w"]:
            key, value = argv[2].split("=")
            self.files["/proc/sys/" + key.replace(".", "/")] = FileInfo(f"{value}\n".encode(), 0o644, "root", "root")
            return RunResult(0)
        if argv[:3] == ["ip", "-o", "addr"]:
            return RunResult(0, "".join(f"1: lo    inet {a} scope host lo\n" for a in self.addrs).encode())
        if argv[:3] == ["ip", "addr", "add"]:
            self.addrs.append(argv[3])
            return RunResult(0)
        if argv[:3] == ["ip", "addr", "del"]:
            self.addrs.remove(argv[3])
            return RunResult(0)
        if argv == ["ss", "-Hltn"]:
            return RunResult(0, b"LISTEN 0 128 *:80 *:*\n")
        if argv == ["ipvsadm", "-Ln"]:
            return RunResult(0, self.ipvs.encode())
        if argv == ["true"]:  # the connection check
            return RunResult(0)
        if argv[:3] == ["keepalived", "-t", "-f"] and argv[3] in self.files:  # the candidate config
            return RunResult(0)
        return self._unknown(repr(argv))

    def read_file(self, path: str) -> FileInfo | None:
        return self.files.get(path)

    def write_file(self, path: str, content: bytes, *, mode: int = 0o644, owner: str = "root",
                   group: str = "root", backup_to: str | None = None) -> None:
        if backup_to and path in self.files:
            self.files[backup_to] = self.files[path]
        self.files[path] = FileInfo(content, mode, owner, group)

    def restore_file(self, path: str, backup: str | None) -> None:
        if backup is None:
            self.files.pop(path, None)
        else:
            self.files[path] = self.files[backup]

    def state(self) -> tuple[Any, ...]:
        return (sorted(self.addrs), {p: self.files[p].content for p in SYSCTLS},
                sorted(p for p in self.files if p.startswith("/etc/")))


def make_app(hosts: dict[str, FakeHost], key_answer: list[bool] | None = None) -> SetupApp:
    def factory(options: Any) -> Callable[[Callable[[str, str, str], bool]], Callable[[str], FakeHost]]:
        def with_confirm(confirm: Callable[[str, str, str], bool]) -> Callable[[str], FakeHost]:
            def connect(target: str) -> FakeHost:
                if key_answer is not None:
                    accepted = confirm(target, "ssh-ed25519", "SHA256:fakefingerprintfortests")
                    key_answer.append(accepted)
                    if not accepted:
                        raise RunnerError(f"{target}: unknown host key ssh-ed25519 SHA256:fakefingerprintfortests")
                return hosts[target]
            return connect
        return with_confirm
    return SetupApp(factory)


def text_of(app: SetupApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def settle(pilot: Any) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def test_realserver_wizard_preview_apply_undo() -> None:
    hosts = {"rs1": FakeHost("rs1"), "rs2": FakeHost("rs2")}
    before = {h: f.state() for h, f in hosts.items()}
    app = make_app(hosts)
    async with app.run_test(size=(110, 50)) as pilot:
        await pilot.press("r")
        form = app.screen
        assert isinstance(form, RealServerFormScreen)
        form.query_one("#hosts", Input).value = "rs1 rs2"
        await pilot.click("#vips")
        await pilot.press(*"1.2.3.4; rm -rf /")
        await pilot.pause()
        assert "is not an IPv4 or IPv6 address" in text_of(app, "#error-vips")
        assert form.query_one("#preview", Button).disabled
        form.query_one("#vips", Input).value = "192.168.1.100"
        form.query_one("#port", Input).value = "80"
        await pilot.pause()
        assert text_of(app, "#error-vips") == "" and not form.query_one("#preview", Button).disabled

        await pilot.click("#preview")
        await settle(pilot)
        run = app.screen
        assert isinstance(run, SetupRunScreen) and run.phase == "preview"
        plan = text_of(app, "#plan-text")
        assert "rs1: plan realserver (7 changes)" in plan and "rs2: plan realserver" in plan
        assert "+net.ipv4.conf.all.arp_announce = 2" in plan and "$ ip addr add 192.168.1.100/32 dev lo" in plan
        assert {h: f.state() for h, f in hosts.items()} == before  # a preview changes nothing

        await pilot.press("a")
        await settle(pilot)
        assert run.phase == "done", text_of(app, "#status")
        assert text_of(app, "#status") == "Done."
        assert "verified  service listening on TCP port 80" in text_of(app, "#plan-text")
        for fake in hosts.values():
            assert "192.168.1.100/32" in fake.addrs and fake.files[SYSCTLS[0]].content == b"1\n"
            assert "/etc/systemd/system/lvstui-vip.service" in fake.files

        await pilot.press("u")
        await settle(pilot)
        assert text_of(app, "#status") == "Undone: the hosts are as before."
        assert {h: f.state() for h, f in hosts.items()} == before
        assert not [p for f in hosts.values() for p in f.files if p.startswith("/var/lib/lvstui/")]


async def test_unknown_host_key_is_asked_and_refusal_stops() -> None:
    answers: list[bool] = []
    app = make_app({"rs1": FakeHost("rs1")}, answers)
    async with app.run_test(size=(110, 50)) as pilot:
        await pilot.press("r")
        app.screen.query_one("#hosts", Input).value = "rs1"
        app.screen.query_one("#vips", Input).value = "192.168.1.100"
        await pilot.pause()
        await pilot.click("#preview")
        for _ in range(100):
            await pilot.pause(0.02)
            if isinstance(app.screen, HostKeyScreen):
                break
        assert isinstance(app.screen, HostKeyScreen)
        assert "SHA256:fakefingerprintfortests" in text_of(app, "#fingerprint")
        assert app.focused is not None and app.focused.id == "refuse"
        await pilot.press("enter")  # the focused button: Refuse
        await settle(pilot)
        assert answers == [False]
        assert isinstance(app.screen, SetupRunScreen) and app.screen.phase == "failed"
        assert "unknown host key" in text_of(app, "#status")
        assert app.screen.query_one("#apply", Button).disabled


async def test_accepted_host_key_goes_on_to_the_preview() -> None:
    answers: list[bool] = []
    app = make_app({"rs1": FakeHost("rs1")}, answers)
    async with app.run_test(size=(110, 50)) as pilot:
        await pilot.press("r")
        app.screen.query_one("#hosts", Input).value = "rs1"
        app.screen.query_one("#vips", Input).value = "192.168.1.100"
        await pilot.pause()
        await pilot.click("#preview")
        for _ in range(100):
            await pilot.pause(0.02)
            if isinstance(app.screen, HostKeyScreen):
                break
        await pilot.press("y")
        await settle(pilot)
        assert answers == [True] and app.screen.phase == "preview"


async def test_failing_step_shows_output_and_is_rolled_back() -> None:
    fake = FakeHost("rs1", fail_on="ip addr add")
    before = fake.state()
    app = make_app({"rs1": fake})
    async with app.run_test(size=(110, 50)) as pilot:
        await pilot.press("r")
        app.screen.query_one("#hosts", Input).value = "rs1"
        app.screen.query_one("#vips", Input).value = "192.168.1.100"
        await pilot.pause()
        await pilot.click("#preview")
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        assert app.screen.phase == "failed"
        assert text_of(app, "#status").startswith("FAILED at add 192.168.1.100/32 to lo")
        out = text_of(app, "#plan-text")
        assert "RTNETLINK answers: Operation not permitted" in out and "the changes of this run were undone" in out
        assert "undone    sysctl net.ipv4.conf.lo.arp_ignore=1" in out
        # the bar stops at the step that failed: the rollback's steps are not progress
        failure = app.screen.items[0].result.failure
        assert failure.title == "add 192.168.1.100/32 to lo"
        assert app.screen.query_one(ProgressBar).progress == failure.index + 1
        assert fake.state() == before


async def test_failed_verification_keeps_the_changes_and_offers_undo() -> None:
    fake = FakeHost("rs1")  # its ss lists port 80 only
    before = fake.state()
    app = make_app({"rs1": fake})
    async with app.run_test(size=(110, 50)) as pilot:
        await pilot.press("r")
        for field, value in {"hosts": "rs1", "vips": "192.168.1.100", "port": "8081"}.items():
            app.screen.query_one(f"#{field}", Input).value = value
        await pilot.pause()
        await pilot.click("#preview")
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        run = app.screen
        assert isinstance(run, SetupRunScreen) and run.phase == "failed"
        assert text_of(app, "#status").startswith("FAILED at service listening on TCP port 8081")
        out = text_of(app, "#plan-text")
        assert "(verification); the changes are kept, Undo (u) reverts them" in out and "--undo" not in out
        assert "192.168.1.100/32" in fake.addrs
        assert not run.query_one("#undo", Button).disabled
        await pilot.press("u")
        await settle(pilot)
        assert text_of(app, "#status") == "Undone: the hosts are as before." and fake.state() == before


async def test_director_wizard() -> None:
    hosts = {"lb1": FakeHost("lb1", "MASTER"), "lb2": FakeHost("lb2", "BACKUP")}
    for fake in hosts.values():
        fake.ipvs = ("TCP  192.168.1.100:80 rr\n  -> 192.168.1.21:80 Route 1 0 0\n"
                     "  -> 192.168.1.22:80 Route 2 0 0\n")
    app = make_app(hosts)
    async with app.run_test(size=(110, 60)) as pilot:
        await pilot.press("d")
        form = app.screen
        assert isinstance(form, DirectorFormScreen)
        values = {"vip": "192.168.1.100", "reals": "192.168.1.21 192.168.1.22=2", "auth": "far-too-long",
                  "master": "lb1", "backup": "lb2"}
        for field, value in values.items():
            form.query_one(f"#{field}", Input).value = value
        await pilot.pause()
        assert "at most 8 characters" in text_of(app, "#error-auth")
        assert form.query_one("#preview", Button).disabled
        form.query_one("#auth", Input).value = "secret"
        form.query_one("#backup-priority", Input).value = "200"
        await pilot.pause()
        assert "MASTER's priority must be higher" in text_of(app, "#form-error")
        form.query_one("#backup-priority", Input).value = "100"
        await pilot.pause()
        assert not form.query_one("#preview", Button).disabled

        await pilot.click("#preview")
        await settle(pilot)
        plan = text_of(app, "#plan-text")
        assert "lb1: plan director" in plan and "+    state MASTER" in plan and "+    state BACKUP" in plan
        assert "+        weight 2" in plan
        await pilot.press("a")
        await settle(pilot)
        assert app.screen.phase == "done", text_of(app, "#status")
        conf = hosts["lb2"].files["/etc/keepalived/keepalived.conf"].content.decode()
        assert "state BACKUP" in conf and "auth_pass secret" in conf and "lb_algo wlc" in conf
        assert "verified  VRRP instance VI_1 is BACKUP" in text_of(app, "#plan-text")


async def test_preview_undo_then_apply_restores() -> None:
    from lvstui.setup.realserver import RealServerSpec, realserver_plan

    fake = FakeHost("rs1")
    before = fake.state()
    assert realserver_plan(RealServerSpec.parse(["192.168.1.100"]), "unit").apply(fake).ok  # an earlier run
    assert fake.state() != before
    app = make_app({"rs1": fake})
    async with app.run_test(size=(110, 50)) as pilot:
        await pilot.press("r")
        app.screen.query_one("#hosts", Input).value = "rs1"
        app.screen.query_one("#vips", Input).value = "192.168.1.100"
        await pilot.pause()
        await pilot.click("#preview-undo")
        await settle(pilot)
        listing = text_of(app, "#plan-text")
        assert "rs1: undo 7 step(s)" in listing and "undo: add 192.168.1.100/32 to lo" in listing
        assert fake.state() != before  # nothing undone before Apply
        await pilot.press("a")
        await settle(pilot)
        assert text_of(app, "#status") == "Undone." and fake.state() == before
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, RealServerFormScreen)


async def test_quitting_while_the_host_key_question_is_open_does_not_hang() -> None:
    answers: list[bool] = []
    app = make_app({"rs1": FakeHost("rs1")}, answers)
    async with app.run_test(size=(110, 50)) as pilot:
        await pilot.press("r")
        app.screen.query_one("#hosts", Input).value = "rs1"
        app.screen.query_one("#vips", Input).value = "192.168.1.100"
        await pilot.pause()
        await pilot.click("#preview")
        for _ in range(100):
            await pilot.pause(0.02)
            if isinstance(app.screen, HostKeyScreen):
                break
        assert isinstance(app.screen, HostKeyScreen)
        app.exit()
    assert answers in ([], [False])  # never an acceptance by default


@pytest.fixture
def edited_plan(tmp_path: Path) -> Path:
    """examples/director.toml with lb_algo and delay_loop changed, written as tmp_path/plan.toml.

    A sync fixture so the async test below does no blocking file I/O itself (ASYNC240)."""
    example = Path(__file__).resolve().parents[2] / "examples" / "director.toml"
    text = example.read_text().replace('lb_algo = "rr"', 'lb_algo = "sh"').replace("delay_loop = 3", "delay_loop = 9")
    plan = tmp_path / "plan.toml"
    plan.write_text(text)
    return plan


async def test_director_form_loads_a_plan_file(tmp_path: Any, edited_plan: Path) -> None:
    plan = edited_plan
    app = make_app({})
    async with app.run_test(size=(110, 60)) as pilot:
        await pilot.press("d")
        form = app.screen
        assert isinstance(form, DirectorFormScreen)
        form.query_one("#load-path", Input).value = str(tmp_path / "missing.toml")
        await pilot.click("#load")
        await settle(pilot)  # read in a thread
        assert "missing.toml" in text_of(app, "#load-error")
        form.query_one("#load-path", Input).value = str(plan)
        await pilot.pause(0.6)  # two clicks in a row on one button would be a double click
        await pilot.click("#load")
        await settle(pilot)
        assert text_of(app, "#load-error") == ""
        assert form.query_one("#master", Input).value == "root@192.168.1.11"
        assert form.query_one("#reals", Input).value == "192.168.1.21=1 192.168.1.22=1"
        assert not form.query_one("#preview", Button).disabled
        data = form.form_data()
        assert data["virtual_server"]["lb_algo"] == "sh" and data["virtual_server"]["delay_loop"] == 9
        assert data["vrrp"]["auth_pass"] == "lvs-pass" and data["director"][1]["state"] == "BACKUP"


def test_the_fake_host_fails_on_any_command_it_does_not_know() -> None:
    host = FakeHost("rs1")
    assert host.run(Script("command -v ipvsadm && command -v keepalived")).rc == 0
    with pytest.raises(UnknownCommand, match="unknown command 'systemctl restart keepalived'"):
        host.run(Script("systemctl restart keepalived"))
    with pytest.raises(UnknownCommand, match=r"\['rm', '-rf', '/etc/keepalived'\]"):
        host.run(["rm", "-rf", "/etc/keepalived"])
    with pytest.raises(UnknownCommand):  # keepalived -t only on a file the plan wrote
        host.run(["keepalived", "-t", "-f", "/etc/keepalived/never-written.conf"])
    assert len(host.unknown) == 3
