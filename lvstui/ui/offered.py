"""Which actions of the ``ACTIONS`` registry the dashboard offers, and their palette entries.

One filter for bindings (the screen's ``check_action``), help and the command palette: the
read-only mode hides every mutating action, and an action that needs something of the source
(the lab's controls) shows only when the source declares it
(:class:`lvstui.capabilities.Capabilities`).  Plain functions over the registry; the screen
supplies what depends on the cursor.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator
from functools import partial

from textual.app import SystemCommand
from textual.markup import escape

from lvstui.capabilities import Capabilities
from lvstui.ui.actions import ActionSpec, key_label
from lvstui.ui.columns import RS_COLUMNS, SERVICE_COLUMNS

__all__ = ["action_keys", "allowed_specs", "keys_of", "offered", "palette_actions", "key_refusal", "refusal",
           "sort_commands"]

KeysFor = Callable[[str, str], str]  # binding id, default keys -> the keys after the user's keymap


def _name(spec: ActionSpec) -> str:
    """``drain``, ``add server``, ``VRRP demote``: the label as a sentence reads it."""
    label = spec.label
    return label[:1].lower() + label[1:] if label[1:2].islower() else label


def refusal(spec: ActionSpec, *, readonly: bool, capabilities: Capabilities, mutating: Collection[str]) -> str | None:
    """Why this mode or this source does not offer the action (one line for the key's toast), or None."""
    name = _name(spec)
    if readonly and spec.action in mutating:
        return f"read-only: {name} is not allowed (started with --readonly)"
    if spec.needs_lab and not capabilities.lab_controls:
        return f"{name}: only inside `lvstui lab`"
    if spec.needs_vrrp and not capabilities.vrrp:
        if capabilities.demo:
            return f"demo: {name} is not simulated (the demo's VI_1 MASTER is made up; no keepalived behind it)"
        return f"{name}: this source has no keepalived (nothing to demote or promote)"
    if spec.needs_sysctl and capabilities.demo:
        return f"demo: {name} is not simulated (the demo's director has no IPVS sysctls)"
    if spec.real_hosts and capabilities.demo:
        return f"demo: {name} is not simulated (it reaches real hosts over SSH and DNS); run lvstui without --demo"
    return None


def offered(spec: ActionSpec, *, readonly: bool, capabilities: Capabilities, mutating: Collection[str]) -> bool:
    """This mode and this source offer the action at all (wherever the cursor is)."""
    return refusal(spec, readonly=readonly, capabilities=capabilities, mutating=mutating) is None


def action_keys(specs: Iterable[ActionSpec], action: str, keys_for: KeysFor) -> str:
    """The key on screen for an action, after the user's keymap (``set_weight`` → ``w``)."""
    return next(keys_of(spec, keys_for) for spec in specs if spec.action == action)


def key_refusal(specs: Iterable[ActionSpec], key: str, keys_for: KeysFor, *, readonly: bool,
                capabilities: Capabilities, mutating: Collection[str]) -> str | None:
    """Why the action bound to ``key`` (after the user's keymap) is not offered here, or None."""
    for spec in specs:
        if key in (k.strip() for k in keys_for(f"app.{spec.action}", spec.keys).split(",")):
            return refusal(spec, readonly=readonly, capabilities=capabilities, mutating=mutating)
    return None


def allowed_specs(specs: Iterable[ActionSpec], *, readonly: bool, capabilities: Capabilities,
                  mutating: Collection[str]) -> list[ActionSpec]:
    return [s for s in specs if offered(s, readonly=readonly, capabilities=capabilities, mutating=mutating)]


def keys_of(spec: ActionSpec, keys_for: KeysFor) -> str:
    return key_label(keys_for(f"app.{spec.action}", spec.keys))


def palette_actions(specs: Iterable[ActionSpec], enabled: Callable[[str], bool], keys_for: KeysFor,
                    run: Callable[[str], object]) -> Iterator[SystemCommand]:
    """An entry per action enabled here (help and quit have their own); ``run(action)`` runs it."""
    for spec in specs:
        if spec.action in ("help", "quit") or not enabled(spec.action):
            continue
        # the palette reads its strings as markup: escaped, the "/" key is "[/]" as text, not a tag
        yield SystemCommand(escape(spec.label), escape(f"{spec.help} [{keys_of(spec, keys_for)}]"),
                            partial(run, spec.action))


def sort_commands(sort: Callable[[str, str], None]) -> Iterator[SystemCommand]:
    """Sorting either table by any column (``sort(table_id, column)``), found by searching."""
    for table_id, title, columns in (("#services", "services", SERVICE_COLUMNS),
                                     ("#real-servers", "real servers", RS_COLUMNS)):
        for column in columns:
            label = column.label or "health (the status column, worst first)"
            yield SystemCommand(escape(f"Sort {title} by {label}"), "click the header to reverse",
                                partial(sort, table_id, column.key), discover=False)
