"""Forms for the operations that need input: set weight, add a real server, add/edit a virtual service.

Each is a modal screen with inline validation: every field is checked as it is typed with the
same parsers as the CLI (:mod:`lvstui.ops.targets`), and the whole change is planned against
the snapshot on screen (duplicate, DR port mismatch, thresholds...) so the operator sees the
problem before submitting.  A valid form returns change objects; the dashboard then shows the
confirmation (every change is confirmed) and applies it in a worker.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar, TypeVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from lvstui.model import Snapshot, VirtualService
from lvstui.ops import changes as c
from lvstui.ops import targets as t
from lvstui.ops.changes import Change, Refused
from lvstui.ops.targets import InvalidInput, ServerKey, ServiceKey

__all__ = ["AddServerScreen", "FormScreen", "ServiceFormScreen", "WeightScreen"]

T = TypeVar("T")


class FormScreen(ModalScreen[list[Change] | None]):
    """Labelled fields, an error line under each, a general error line, OK/Cancel."""

    DEFAULT_CSS = """
    FormScreen { align: center middle; }
    FormScreen > Vertical { width: 90%; max-width: 90; height: auto; max-height: 95%;
                            border: thick $primary; background: $surface; padding: 0 1; }
    FormScreen .form-title { text-style: bold; margin-bottom: 1; }
    FormScreen .form-row { height: auto; margin-bottom: 1; }
    FormScreen .form-row Label { width: 22; padding: 0 1 0 0; }
    FormScreen .form-row Input, FormScreen .form-row Select { width: 1fr; }
    FormScreen .form-row Input.-textual-compact { background: $boost; }
    FormScreen .form-error { color: $text-error; height: auto; padding-left: 22; }
    FormScreen #form-problem { color: $text-error; text-style: bold; padding-left: 0; }
    FormScreen #form-buttons { height: auto; align-horizontal: right; }
    FormScreen Button { margin-left: 2; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", id="form.cancel")]

    title_text = ""
    submit_label = "OK"

    def __init__(self) -> None:
        super().__init__()
        self.errors: dict[str, str] = {}
        self.problem: str | None = None

    def fields(self) -> ComposeResult:  # pragma: no cover - overridden
        yield from ()

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Content(self.title_text), classes="form-title")
            yield from self.fields()
            yield Static("", id="form-problem", classes="form-error")
            with Horizontal(id="form-buttons"):
                yield Button(self.submit_label, id="submit", variant="primary")
                yield Button("Cancel", id="cancel")

    def row(self, label: str, widget: Input | Select[Any]) -> ComposeResult:
        with Horizontal(classes="form-row"):
            yield Label(label)
            yield widget
        yield Static("", id=f"err-{widget.id}", classes="form-error")

    def on_mount(self) -> None:
        first = self.query(Input).first() if self.query(Input) else None
        if first is not None:
            first.focus()
        self.validate()

    def value(self, field_id: str) -> str:
        widget = self.query_one(f"#{field_id}")
        if isinstance(widget, Select):
            return "" if widget.value is Select.BLANK else str(widget.value)
        assert isinstance(widget, Input)
        return widget.value

    def build(self) -> list[Change]:  # pragma: no cover - overridden
        """The changes, or raise InvalidInput/Refused; per-field errors go to ``self.errors``."""
        raise NotImplementedError

    def check(self, field_id: str, parse: Callable[[], T]) -> T | None:
        try:
            return parse()
        except InvalidInput as exc:
            self.errors[field_id] = str(exc)
            return None

    def validate(self) -> list[Change] | None:
        self.errors = {}
        self.problem = None
        result: list[Change] | None = None
        try:
            result = self.build()
        except (InvalidInput, Refused) as exc:
            self.problem = str(exc)
        if self.errors:
            result = None
        for static in self.query(".form-error"):
            if static.id and static.id.startswith("err-"):
                assert isinstance(static, Static)
                text = self.errors.get(static.id[4:], "")
                static.update(Content(text))  # plain: "[ADDRESS]:PORT" is not markup
                static.display = bool(text)
        problem = self.query_one("#form-problem", Static)
        problem.update(Content(self.problem or ""))
        problem.display = bool(self.problem)
        self.query_one("#submit", Button).disabled = result is None
        return result

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.validate()

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        self.validate()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "submit":
            self.action_submit()
        else:
            self.action_cancel()

    def action_submit(self) -> None:
        result = self.validate()
        if result is None:
            self.app.bell()
            return
        self.dismiss(result)

    def action_cancel(self) -> None:
        self.dismiss(None)


class WeightScreen(FormScreen):
    """A weight for one real server or every tagged one: N (0-2147483647), or +N/-N relative."""

    submit_label = "Set weight"

    def __init__(self, targets: Sequence[tuple[ServiceKey, ServerKey]], current: int | None) -> None:
        super().__init__()
        self.targets = list(targets)
        self.current = current
        if len(self.targets) == 1:
            vs, rs = self.targets[0]
            now = f" (now {current})" if current is not None else ""
            self.title_text = f"Weight of {rs.id} in {vs.id}{now}"
        else:
            self.title_text = f"Weight of {len(self.targets)} tagged real servers"

    def fields(self) -> ComposeResult:
        current = str(self.current if self.current is not None else "")
        yield from self.row("Weight (N, +N, -N)", Input(current, compact=True, id="weight",
                                                        placeholder="0-2147483647 or +1/-1"))

    def build(self) -> list[Change]:
        text = self.value("weight").strip()
        if text[:1] in "+-" and text[1:].isdigit():
            delta = int(text)
            return [c.SetWeight(vs, rs, delta=delta) for vs, rs in self.targets]
        weight = self.check("weight", lambda: t.parse_weight(text))
        if weight is None:
            return []
        return [c.SetWeight(vs, rs, weight=weight) for vs, rs in self.targets]


_FORWARDS = [("DR (direct routing)", "DR"), ("NAT (masquerading)", "NAT"), ("TUN (IP-in-IP tunnel)", "TUN")]


class AddServerScreen(FormScreen):
    submit_label = "Add"

    def __init__(self, vs: VirtualService, snapshot: Snapshot) -> None:
        super().__init__()
        self.vs = vs
        self.snapshot = snapshot
        self.title_text = f"Add a real server to {vs.id}"
        forwards = [rs.forward.value for rs in vs.real_servers if rs.forward.value in ("DR", "NAT", "TUN")]
        self.default_forward = max(set(forwards), key=forwards.count) if forwards else "DR"

    def fields(self) -> ComposeResult:
        port = self.vs.port or 0
        yield from self.row("Address:port", Input("", compact=True, id="server",
                                                  placeholder=f"10.0.0.5:{port} or [2001:db8::5]:{port}"))
        yield from self.row("Forwarding", Select(_FORWARDS, value=self.default_forward, allow_blank=False,
                                                 compact=True, id="forward"))
        yield from self.row("Weight", Input("1", compact=True, id="weight"))
        yield from self.row("Upper threshold", Input("0", compact=True, id="upper", placeholder="0: none"))
        yield from self.row("Lower threshold", Input("0", compact=True, id="lower", placeholder="0: none"))

    def build(self) -> list[Change]:
        service = t.parse_service_id(self.vs.id)
        text = self.value("server")
        server = None
        if not text.strip():
            self.errors["server"] = "required: the real server's ADDRESS:PORT"
        else:
            fwmark = self.vs.fwmark is not None
            server = self.check("server", lambda: t.parse_server_id(text, allow_port_zero=fwmark))
        forward = self.check("forward", lambda: t.parse_forward(self.value("forward") or "DR"))
        weight = self.check("weight", lambda: t.parse_weight(self.value("weight")))
        upper = self.check("upper", lambda: t.parse_threshold(self.value("upper") or "0", "upper"))
        lower = self.check("lower", lambda: t.parse_threshold(self.value("lower") or "0", "lower"))
        if self.errors or server is None or forward is None or weight is None or upper is None or lower is None:
            return []  # a None comes with its error under the field
        change = c.AddServer(service, server, weight=weight, forward=forward, upper=upper, lower=lower)
        change.plan(self.snapshot, {})  # duplicate, DR/TUN port, thresholds, family: said here, not later
        return [change]


def _flags_text(vs: VirtualService) -> str:
    return ",".join(f for f in vs.flags if f not in ("persistent", "hashed"))


class ServiceFormScreen(FormScreen):
    """Add a virtual service (``existing`` None) or edit one's settings."""

    def __init__(self, snapshot: Snapshot, existing: VirtualService | None = None) -> None:
        super().__init__()
        self.snapshot = snapshot
        self.existing = existing
        self.title_text = f"Edit virtual service {existing.id}" if existing else "Add a virtual service"
        self.submit_label = "Save" if existing else "Add"

    def fields(self) -> ComposeResult:
        vs = self.existing
        if vs is None:
            yield from self.row("Protocol", Select([(p, p) for p in (*t.PROTOCOLS, "fwmark")], value="tcp",
                                                   allow_blank=False, compact=True, id="protocol"))
            hint = "192.0.2.10:80, [2001:db8::1]:80, or 7"
            yield from self.row("Address:port / mark", Input("", compact=True, id="address", placeholder=hint))
        scheduler = vs.scheduler if vs and vs.scheduler in t.SCHEDULERS else "wlc"
        yield from self.row("Scheduler", Select([(s, s) for s in t.SCHEDULERS], value=scheduler,
                                                allow_blank=False, compact=True, id="scheduler"))
        timeout = str(vs.persistence_timeout if vs else 0)
        yield from self.row("Persistence (s)", Input(timeout, compact=True, id="persistent",
                                                     placeholder="0: not persistent"))
        netmask = vs.netmask if vs and vs.persistence_timeout else ""
        yield from self.row("Persistence netmask", Input(netmask, compact=True, id="netmask",
                                                         placeholder="255.255.255.255 (IPv6: 128)"))
        yield from self.row("Flags", Input(_flags_text(vs) if vs else "", compact=True, id="flags",
                                           placeholder="ops, sh-fallback, sh-port, mh-fallback, mh-port"))

    def _service_key(self) -> ServiceKey | None:
        if self.existing is not None:
            return t.parse_service_id(self.existing.id)
        protocol = self.value("protocol") or "tcp"
        text = self.value("address").strip()
        if not text:
            self.errors["address"] = "required: ADDRESS:PORT (or the fwmark number)"
            return None
        return self.check("address", lambda: t.parse_service_id(f"{protocol}:{text}"))

    def build(self) -> list[Change]:
        key = self._service_key()
        scheduler = self.check("scheduler", lambda: t.parse_scheduler(self.value("scheduler") or "wlc"))
        timeout = self.check("persistent", lambda: t.parse_timeout(self.value("persistent") or "0"))
        family = key.family if key is not None else "inet"
        mask_text = self.value("netmask").strip()
        netmask = self.check("netmask", lambda: t.parse_netmask(mask_text, family)) if mask_text else None
        flags = self.value("flags").strip()
        if scheduler is not None:
            self.check("flags", lambda: t.parse_flags(flags, scheduler))
        if self.errors or key is None:
            return []
        if netmask is not None and not timeout:
            default = "128" if family == "inet6" else "255.255.255.255"
            if netmask != default:
                self.errors["netmask"] = "a netmask applies to persistent services only (set a persistence)"
                return []
            netmask = None
        settings = c.ServiceSettings(scheduler=scheduler, persistence_timeout=timeout,
                                     netmask=netmask if timeout else None, flags=flags)
        change: Change = c.EditService(key, settings) if self.existing else c.AddService(key, settings)
        change.plan(self.snapshot, {})  # duplicate, missing, netmask/persistence: said here
        return [change]
