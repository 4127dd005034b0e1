"""``lvstui setup`` without arguments: the wizard screens in a small app of their own.

The dashboard can open the same wizards with
``app.push_screen(SetupChooserScreen())`` (from lvstui.ui.setup_forms).
"""

from __future__ import annotations

from textual.app import App

from lvstui.ui.setup_forms import MakeConnector, SetupChooserScreen, ssh_connector_factory

__all__ = ["SetupApp", "run_setup_app"]


class SetupApp(App[None]):
    TITLE = "lvstui setup"

    def __init__(self, make_connector: MakeConnector = ssh_connector_factory) -> None:
        super().__init__()
        self.make_connector = make_connector

    def on_mount(self) -> None:
        self.push_screen(SetupChooserScreen(self.make_connector), lambda _: self.exit())


def run_setup_app() -> int:
    SetupApp().run()
    return 0
