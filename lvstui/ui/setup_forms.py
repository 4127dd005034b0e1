"""Wizard forms: choose a wizard, fill a form validated as you type, then preview.

Every field is checked with lvstui.setup.validate on each change; a field in
error shows why under it, and Preview stays disabled until the whole form is
valid.  Nothing connects anywhere before Preview.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Label, Select, Static

from lvstui.setup import session, validate
from lvstui.setup.director import PLAN_NAME as DIRECTOR_PLAN
from lvstui.setup.director import DirectorSpec, load_director_spec, parse_director_spec
from lvstui.setup.realserver import PERSISTENCE, RealServerSpec
from lvstui.setup.realserver import PLAN_NAME as REALSERVER_PLAN
from lvstui.setup.ssh import SshOptions, parse_target
from lvstui.ui.setup_run import ConnectorFactory, SetupRunScreen

__all__ = [
    "DirectorFormScreen",
    "MakeConnector",
    "RealServerFormScreen",
    "SetupChooserScreen",
    "ssh_connector_factory",
]

#: SSH options from the form -> how the run screen connects
MakeConnector = Callable[[SshOptions], ConnectorFactory]


def ssh_connector_factory(options: SshOptions) -> ConnectorFactory:
    return lambda confirm: session.ssh_connector(options, confirm)


def _words(text: str) -> list[str]:
    return text.replace(",", " ").split()


def _hosts(text: str) -> list[str]:
    hosts = _words(text)
    if not hosts:
        raise validate.ValidationError("at least one host")
    for h in hosts:
        parse_target(h)
    return hosts


def _optional(check: Callable[[str], object]) -> Callable[[str], object]:
    return lambda text: None if not text.strip() else check(text.strip())


class Field(Vertical):
    """A label, an input and the reason it is invalid (if it is)."""

    DEFAULT_CSS = """
    Field { height: auto; margin-bottom: 1; }
    Field .field-error { color: $error; height: auto; }
    """

    def __init__(self, label: str, field_id: str, check: Callable[[str], object], value: str = "",
                 placeholder: str = "", password: bool = False) -> None:
        super().__init__(id=f"field-{field_id}")
        self.label, self.field_id, self.check = label, field_id, check
        self.value, self.placeholder, self.password = value, placeholder, password
        self.error: str | None = None
        self.touched = bool(value)  # an untouched empty field is not shown as an error yet

    def compose(self) -> ComposeResult:
        yield Label(self.label)
        yield Input(self.value, placeholder=self.placeholder, id=self.field_id, password=self.password)
        yield Static("", classes="field-error", id=f"error-{self.field_id}")

    def validate_now(self) -> bool:
        text = self.query_one(Input).value
        try:
            self.check(text)
            self.error = None
        except ValueError as exc:
            self.error = str(exc)
        shown = self.error if self.touched else None
        self.query_one(".field-error", Static).update(shown or "")
        self.query_one(Input).set_class(shown is not None, "-invalid")
        return self.error is None


class SetupForm(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("f2", "preview", "Preview plan", id="setup.preview"),
                Binding("escape", "app.pop_screen", "Back", id="setup.form.back")]
    DEFAULT_CSS = """
    SetupForm VerticalScroll { padding: 0 2; }
    SetupForm #form-error { color: $error; height: auto; padding: 0 2; }
    SetupForm #form-buttons { height: auto; padding: 0 2; }
    SetupForm .section { text-style: bold; margin-top: 1; }
    """
    TITLE_TEXT = ""

    def __init__(self, make_connector: MakeConnector) -> None:
        super().__init__()
        self.make_connector = make_connector

    def ssh_fields(self) -> ComposeResult:
        yield Label("SSH (defaults from ~/.ssh/config)", classes="section")
        yield Field("User", "ssh-user", _optional(validate.user_name), placeholder="from ~/.ssh/config")
        yield Field("SSH port", "ssh-port", _optional(lambda t: validate.port(t, "SSH port")),
                    placeholder="22, or from ~/.ssh/config")
        yield Field("Identity file", "ssh-identity", _optional(lambda t: t),
                    placeholder="default keys and agent")
        yield Field("Jump host", "ssh-jump", _optional(parse_target), placeholder="e.g. [user@]host[:port]")
        yield Field("sudo password (when the login is not root)", "ssh-sudo", lambda t: t, password=True)

    def buttons(self) -> ComposeResult:
        yield Static("", id="form-error")
        with Horizontal(id="form-buttons"):
            yield Button("Preview plan", id="preview", variant="primary", disabled=True)
            yield Button("Preview undo", id="preview-undo", disabled=True)
            yield Button("Back", id="back")

    def value(self, field_id: str) -> str:
        return self.query_one(f"#{field_id}", Input).value.strip()

    def on_mount(self) -> None:
        self.revalidate()
        self.query(Input).first().focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        for node in event.input.ancestors:
            if isinstance(node, Field):
                node.touched = True
                break
        self.revalidate()

    def on_select_changed(self, event: Select.Changed) -> None:
        self.revalidate()

    def revalidate(self) -> bool:
        ok = all([f.validate_now() for f in self.query(Field)])  # noqa: C419 - validate every field, show every error
        message = ""
        if ok:
            try:
                self.check_form()
            except validate.ValidationError as exc:
                ok, message = False, str(exc)
        self.query_one("#form-error", Static).update(message)
        for button in ("#preview", "#preview-undo"):
            self.query_one(button, Button).disabled = not ok
        return ok

    def check_form(self) -> None:
        """Whole-form checks beyond single fields (raise ValidationError)."""

    def options(self) -> SshOptions:
        port = self.value("ssh-port")
        return SshOptions(user=self.value("ssh-user") or None, port=int(port) if port else None,
                          identity=self.value("ssh-identity") or None, jump=self.value("ssh-jump") or None,
                          sudo_password=self.query_one("#ssh-sudo", Input).value or None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "back":
            self.app.pop_screen()
        elif event.button.id == "preview":
            self.action_preview()
        elif event.button.id == "preview-undo":
            self.preview(undo=True)

    def action_preview(self) -> None:
        self.preview(undo=False)

    def preview(self, undo: bool) -> None:
        for field in self.query(Field):
            field.touched = True
        if not self.revalidate():
            self.notify("Fix the fields in red first.", severity="error")
            return
        title, prepare = self.job(undo)
        self.app.push_screen(SetupRunScreen(title, prepare, self.make_connector(self.options()), undo=undo))

    def job(self, undo: bool) -> tuple[str, Any]:
        raise NotImplementedError


class RealServerFormScreen(SetupForm):
    """LVS-DR real servers: hosts, VIPs, the service port, how to persist."""

    def compose(self) -> ComposeResult:
        yield Static("Real servers for LVS direct routing", classes="section")
        with VerticalScroll():
            yield Field("Hosts ([user@]host[:port], several separated by spaces)", "hosts", _hosts,
                        placeholder="e.g. rs1 rs2")
            yield Field("Virtual IPs (on lo as /32 or /128)", "vips",
                        lambda t: [validate.vip(v) for v in _words(t)] or validate.vip(""),
                        placeholder="e.g. 192.168.1.100")
            yield Field("Service port to verify (optional)", "port", _optional(validate.port),
                        placeholder="e.g. 80")
            yield Label("Keep the VIPs across reboots with")
            yield Select([(p, p) for p in ("auto", *PERSISTENCE)], value="auto", allow_blank=False,
                         id="persist")
            yield from self.ssh_fields()
        yield from self.buttons()
        yield Footer()

    def spec(self) -> RealServerSpec:
        return RealServerSpec.parse(_words(self.value("vips")), self.value("port") or None,
                                    str(self.query_one("#persist", Select).value))

    def check_form(self) -> None:
        self.spec()

    def job(self, undo: bool) -> tuple[str, Any]:
        hosts = _hosts(self.value("hosts"))
        if undo:
            return (f"Undo the real-server set-up on {' '.join(hosts)}",
                    lambda connect: session.prepare_undo(hosts, REALSERVER_PLAN, connect))
        spec = self.spec()
        return (f"Real servers {' '.join(hosts)} for {' '.join(spec.vips)}",
                lambda connect: session.prepare_realservers(hosts, spec, connect))


_ALGOS = ("rr", "wrr", "lc", "wlc", "sh", "dh", "sed", "nq", "mh", "lblc", "lblcr", "fo", "ovf", "twos")


def _real_servers(text: str) -> list[dict[str, Any]]:
    """``192.168.1.21 192.168.1.22=3`` -> [{address, weight}]"""
    entries = []
    for word in _words(text):
        address, _, weight = word.partition("=")
        entries.append({"address": validate.address(address, "real server"),
                        "weight": validate.weight(weight or "1", f"weight of {address}")})
    if not entries:
        raise validate.ValidationError("at least one real server")
    return entries


class DirectorFormScreen(SetupForm):
    """A keepalived MASTER/BACKUP pair for one virtual service."""

    DEFAULT_CSS = """
    DirectorFormScreen #load-row { height: auto; }
    DirectorFormScreen #load-path { width: 1fr; }
    DirectorFormScreen #load-error { color: $error; height: auto; }
    """

    def __init__(self, make_connector: MakeConnector) -> None:
        super().__init__(make_connector)
        # what the form has no field for, kept from a loaded plan file
        self.extras: dict[str, dict[str, Any]] = {"virtual_server": {"delay_loop": 3}, "vrrp": {}}

    def compose(self) -> ComposeResult:
        yield Static("Directors: keepalived MASTER/BACKUP pair", classes="section")
        with VerticalScroll():
            with Horizontal(id="load-row"):
                yield Input(placeholder="fill the form from a plan file, e.g. examples/director.toml",
                            id="load-path")
                yield Button("Load", id="load")
            yield Static("", id="load-error")
            yield Label("Virtual service", classes="section")
            yield Field("Virtual IP", "vip", validate.vip, placeholder="e.g. 192.168.1.100")
            yield Field("Port", "port", validate.port, value="80")
            yield Label("Protocol / scheduler / forwarding")
            with Horizontal(classes="selects"):
                yield Select([(p, p) for p in ("TCP", "UDP", "SCTP")], value="TCP", allow_blank=False,
                             id="protocol")
                yield Select([(a, a) for a in _ALGOS], value="wlc", allow_blank=False, id="lb_algo")
                yield Select([(k, k) for k in ("DR", "NAT", "TUN")], value="DR", allow_blank=False,
                             id="lb_kind")
            yield Field("Persistence timeout (seconds, empty for none)", "persistence",
                        _optional(lambda t: validate.positive_int(t, "persistence")))
            yield Field("Real servers (address[=weight], separated by spaces)", "reals", _real_servers,
                        placeholder="e.g. 192.168.1.21 192.168.1.22=2")
            yield Label("Health check")
            yield Select([(c, c) for c in ("TCP_CHECK", "HTTP_GET")], value="TCP_CHECK", allow_blank=False,
                         id="check")
            yield Field("HTTP_GET path", "http-path", validate.http_path, value="/")
            yield Field("HTTP_GET expected status", "http-status", validate.http_status, value="200")
            yield Label("VRRP", classes="section")
            yield Field("Interface", "interface", validate.interface, value="eth0")
            yield Field("virtual_router_id (1-255)", "vrid", validate.router_id, value="51")
            yield Field("Password (at most 8 characters)", "auth", validate.auth_pass)
            yield Field("MASTER host", "master", parse_target, placeholder="e.g. lb1")
            yield Field("MASTER priority", "master-priority", validate.priority, value="150")
            yield Field("BACKUP host (optional)", "backup", _optional(parse_target), placeholder="e.g. lb2")
            yield Field("BACKUP priority", "backup-priority", validate.priority, value="100")
            yield from self.ssh_fields()
        yield from self.buttons()
        yield Footer()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "load":
            self.load_plan(self.query_one("#load-path", Input).value.strip())
        else:
            super().on_button_pressed(event)

    def load_plan(self, path: str) -> None:
        """Fill the fields from a plan file (the TOML of ``lvstui setup director --from``), read in a
        thread: a file on a hung network mount must not freeze the screen."""
        self.query_one("#load-error", Static).update(f"reading {path}...")
        self._read_plan(path)

    @work(thread=True, exclusive=True, group="setup-load")
    def _read_plan(self, path: str) -> None:
        try:
            spec = load_director_spec(path)
        except validate.ValidationError as exc:
            self.app.call_from_thread(self._plan_read, None, str(exc))
            return
        self.app.call_from_thread(self._plan_read, spec, "")

    def _plan_read(self, spec: DirectorSpec | None, message: str) -> None:
        if not self.is_mounted:
            return
        error = self.query_one("#load-error", Static)
        error.update(message)
        if spec is None:
            return
        inputs = {"vip": spec.vip, "port": str(spec.port),
                  "persistence": str(spec.persistence_timeout or ""),
                  "reals": " ".join(f"{r.address}={r.weight}" for r in spec.real_servers),
                  "http-path": spec.http_path, "http-status": str(spec.http_status),
                  "interface": spec.interface, "vrid": str(spec.virtual_router_id), "auth": spec.auth_pass,
                  "master": spec.directors[0].host, "master-priority": str(spec.directors[0].priority),
                  "backup": spec.directors[1].host if len(spec.directors) > 1 else "",
                  "backup-priority": str(spec.directors[1].priority) if len(spec.directors) > 1 else "100"}
        for field_id, value in inputs.items():
            self.query_one(f"#{field_id}", Input).value = value
        for select_id, value in {"protocol": spec.protocol, "lb_algo": spec.lb_algo, "lb_kind": spec.lb_kind,
                                 "check": spec.check}.items():
            self.query_one(f"#{select_id}", Select).value = value
        self.extras = {"virtual_server": {"delay_loop": spec.delay_loop},
                       "vrrp": {"advert_int": spec.advert_int, "instance": spec.instance}}
        if any(r.port for r in spec.real_servers):
            error.update("note: per-real-server ports are not shown here; the form uses the service port")
        for field in self.query(Field):
            field.touched = True
        self.revalidate()

    def _select(self, ident: str) -> str:
        return str(self.query_one(f"#{ident}", Select).value)

    def form_data(self) -> dict[str, Any]:
        select = self._select
        directors = [{"host": self.value("master"), "state": "MASTER",
                      "priority": self.value("master-priority")}]
        if self.value("backup"):
            directors.append({"host": self.value("backup"), "state": "BACKUP",
                              "priority": self.value("backup-priority")})
        vs: dict[str, Any] = {"vip": self.value("vip"), "port": self.value("port"),
                              "protocol": select("protocol"), "lb_algo": select("lb_algo"),
                              "lb_kind": select("lb_kind"), **self.extras["virtual_server"]}
        if self.value("persistence"):
            vs["persistence_timeout"] = self.value("persistence")
        return {
            "virtual_server": vs,
            "health_check": {"type": select("check"), "path": self.value("http-path"),
                             "status": self.value("http-status")},
            "real_server": _real_servers(self.value("reals")),
            "vrrp": {"interface": self.value("interface"), "virtual_router_id": self.value("vrid"),
                     "auth_pass": self.value("auth"), **self.extras["vrrp"]},
            "director": directors,
        }

    def check_form(self) -> None:
        parse_director_spec(self.form_data())

    def job(self, undo: bool) -> tuple[str, Any]:
        spec = parse_director_spec(self.form_data())
        hosts = [d.host for d in spec.directors]
        if undo:
            return (f"Undo the director set-up on {' '.join(hosts)}",
                    lambda connect: session.prepare_undo(hosts, DIRECTOR_PLAN, connect))
        return (f"Directors {' '.join(hosts)} for {spec.vip}:{spec.port}",
                lambda connect: session.prepare_directors(spec, connect))


class SetupChooserScreen(Screen[None]):
    """The entry point: which wizard."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("r", "realserver", "Real servers", id="setup.realserver"),
                Binding("d", "director", "Directors", id="setup.director"),
                Binding("escape", "leave", "Back", id="setup.leave")]
    DEFAULT_CSS = """
    SetupChooserScreen { align: center middle; }
    SetupChooserScreen > Vertical { width: 70; height: auto; border: round $primary; padding: 1 2; }
    SetupChooserScreen Button { width: 100%; margin-top: 1; }
    SetupChooserScreen Label { width: 100%; }
    """

    def __init__(self, make_connector: MakeConnector = ssh_connector_factory) -> None:
        super().__init__()
        self.make_connector = make_connector

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Set up LVS over SSH. Every change is shown before it is made, and can be undone.")
            yield Button("Real servers (LVS-DR: VIP on lo, ARP sysctls)", id="realserver", variant="primary")
            yield Button("Directors (ipvsadm + keepalived, MASTER/BACKUP)", id="director")
        yield Footer()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "realserver":
            self.action_realserver()
        elif event.button.id == "director":
            self.action_director()

    def action_realserver(self) -> None:
        self.app.push_screen(RealServerFormScreen(self.make_connector))

    def action_director(self) -> None:
        self.app.push_screen(DirectorFormScreen(self.make_connector))

    def action_leave(self) -> None:
        self.dismiss(None)
