"""Every dashboard action in one place: key, footer label, help text, and whether it changes the director.

Bindings, the footer, the command palette and the help screen are all built
from :data:`ACTIONS`, so ``--readonly`` can hide every mutating action by
checking :data:`MUTATING_ACTIONS` in one ``check_action``.  The operations
(drain, restore, weight, add, remove, tag, the sysctl unpinning drained servers; see
:mod:`lvstui.ui.ops_controller`; VRRP demote and promote, :mod:`lvstui.ui.vrrp_controller`) are
``mutating=True``; those that act on the real server under the cursor (or on the
tagged ones) are ``on_rs_row`` and show only there.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding

__all__ = ["ACTIONS", "FLEET_ACTIONS", "MUTATING_ACTIONS", "ActionSpec", "app_bindings", "fleet_bindings", "key_label", "known_binding_ids"]


@dataclass(frozen=True, slots=True)
class ActionSpec:
    action: str
    keys: str  # Textual key names, comma separated
    label: str  # short, for the footer
    help: str  # a sentence, for the help screen and the palette
    show: bool = True  # in the footer
    mutating: bool = False  # changes the director: hidden and refused in --readonly
    on_rs_row: bool = False  # only offered when the cursor is on a real server
    needs_service: bool = False  # only offered when a virtual service is selected
    needs_lab: bool = False  # only offered inside `lvstui lab` (the source declares its lab controls)
    needs_vrrp: bool = False  # only offered when the source declares keepalived (Capabilities.vrrp)
    real_hosts: bool = False  # reaches real hosts (SSH, DNS): not offered in the demo, which cannot simulate it
    needs_sysctl: bool = False  # writes an IPVS sysctl: not offered in the demo, which has none behind it


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("help", "question_mark,f1", "Help", "Show every key and mouse action"),
    ActionSpec("filter", "slash", "Filter", "Filter rows: words match whole fields (DR, nat, lc, drained, 10.1.0), "
               "field:value only that field (fwd: state: proto: sched: addr: port: flag:); every term must match"),
    ActionSpec("sort_next", "s", "Sort", "Sort the focused table by its next column"),
    ActionSpec("sort_reverse", "S", "Reverse", "Reverse the sort order of the focused table", show=False),
    ActionSpec("toggle_pause", "p", "Pause", "Pause or resume polling (the screen says PAUSED)"),
    ActionSpec("toggle_events", "e", "Events", "Show or hide the event pane (changes of real servers)"),
    ActionSpec("toggle_director", "d", "Director", "Show or hide the director panel (CPU, softirq, NICs)",
               show=False),
    ActionSpec("toggle_rates", "r", "Rates", "Switch rates between the kernel's estimator and lvstui's own "
               "deltas between polls"),
    ActionSpec("next_theme", "t", "Theme", "Switch to the next theme (remembered in the config file)"),
    ActionSpec("switch_table", "tab", "Switch table", "Move between the services and the real servers",
               show=False),
    ActionSpec("back", "escape", "Back", "Back to the services table; clear the filter", show=False),
    ActionSpec("acknowledge_gone", "o", "Ack gone", "Acknowledge the real servers that left IPVS (⌫ gone, "
               "listed until then): stop listing them"),
    ActionSpec("poll_now", "f5", "Poll now", "Poll the director now instead of waiting", show=False),
    ActionSpec("detail", "enter", "Detail", "On a real server: its counters, rates, health check and its "
               "history, sparklines over the whole history, connections by state (Esc closes)", show=False,
               on_rs_row=True),
    ActionSpec("conns", "c", "Connections", "On a real server: its connection list from the kernel's table "
               "(source, state, expires, flowing or closed) and the clients pinned to it by persistence, "
               "live, filterable (Esc closes)", show=False, on_rs_row=True),
    ActionSpec("copy_id", "y", "Copy id", "Copy the selected id (the real server's, else the service's) to the "
               "clipboard, through the terminal (OSC 52)", show=False),
    ActionSpec("pair", "b", "Pair", "The pair: the other director (--peer) read or stale, VRRP state and "
               "priority on both, who holds each VIP, split brain, and every difference between the two "
               "tables (kind, ids, here, peer); Esc closes", show=False),
    ActionSpec("quit", "q", "Quit", "Quit lvstui"),
    # --- operations: every one confirmed in a dialog naming the service and real server ---
    ActionSpec("drain", "x", "Drain", "Drain the real server (weight 0: its connections finish, no new ones "
               "arrive); every tagged one if any are tagged", mutating=True, on_rs_row=True),
    ActionSpec("restore", "u", "Restore", "Restore a drained real server to the weight it had before the "
               "drain (tagged ones too)", mutating=True, on_rs_row=True),
    ActionSpec("weight_up", "plus", "Weight +1", "Raise the real server's weight by 1 (tagged ones too)",
               show=False, mutating=True, on_rs_row=True),
    ActionSpec("weight_down", "minus", "Weight -1", "Lower the real server's weight by 1 (tagged ones too)",
               show=False, mutating=True, on_rs_row=True),
    ActionSpec("set_weight", "w", "Weight", "Set the real server's weight: N, +N or -N (tagged ones too)",
               mutating=True, on_rs_row=True),
    ActionSpec("tag", "space", "Tag", "Tag or untag the real server (then x, u, w, +, - act on every tagged "
               "one; Esc clears the tags)", show=False, mutating=True, on_rs_row=True),
    ActionSpec("drain_host", "X", "Drain host", "Drain every real server on this address, in every virtual "
               "service", show=False, mutating=True, on_rs_row=True),
    ActionSpec("restore_host", "U", "Restore host", "Restore every real server on this address, in every "
               "virtual service", show=False, mutating=True, on_rs_row=True),
    ActionSpec("add_rs", "a", "Add server", "Add a real server to the selected virtual service (form)",
               show=False, mutating=True, needs_service=True),
    ActionSpec("remove_rs", "delete", "Remove server", "Remove the real server from its service (refused "
               "while it has active connections unless forced)", show=False, mutating=True, on_rs_row=True),
    ActionSpec("add_vs", "A", "Add service", "Add a virtual service (form: protocol, address, scheduler, "
               "persistence, flags)", show=False, mutating=True),
    ActionSpec("edit_vs", "E", "Edit service", "Edit the selected virtual service's scheduler, persistence "
               "and flags", show=False, mutating=True, needs_service=True),
    ActionSpec("remove_vs", "D", "Remove service", "Remove the selected virtual service and its real servers",
               show=False, mutating=True, needs_service=True),
    ActionSpec("expire_quiescent", "P", "Unpin", "On a drained real server of a persistent service while "
               "net.ipv4.vs.expire_quiescent_template is 0 (clients pinned by persistence are still sent to it): "
               "set it to 1, as `lvstui expire-quiescent on`, so the kernel sends them elsewhere (until reboot; "
               "z undoes it)", mutating=True, on_rs_row=True, needs_sysctl=True),
    ActionSpec("undo", "z", "Undo", "Undo the last change lvstui made (planned against a fresh read; "
               "refused, saying what changed, if the server was changed since)", show=False, mutating=True),
    ActionSpec("vrrp_demote", "ctrl+d", "VRRP demote", "Demote this director (keepalived): its VIPs move to "
               "the peer, through lvstui's track file, as `lvstui vrrp demote`; undone unless seen on the wire",
               show=False, mutating=True, needs_vrrp=True),
    ActionSpec("vrrp_promote", "ctrl+u", "VRRP promote", "Promote this director back to keepalived MASTER, "
               "as `lvstui vrrp promote`; undone unless seen on the wire", show=False, mutating=True,
               needs_vrrp=True),
    ActionSpec("setup", "f2", "Setup", "Set up real servers and directors over SSH", show=False,
               mutating=True, real_hosts=True),
    ActionSpec("lab_panel", "L", "Lab", "Open the lab panel: stop or start a real server's service or "
               "keepalived, add load (inside `lvstui lab` only)", needs_lab=True),
)

#: the fleet screen's actions (``lvstui fleet``, :mod:`lvstui.ui.fleet`): none changes a director; the
#: dashboard a pair opens is read-only (the director is read over SSH, ops write to this machine only)
FLEET_ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("help", "question_mark,f1", "Help", "Show every key of the fleet screen"),
    ActionSpec("filter", "slash", "Filter", "Filter the pairs: every word must be in the pair's name, a "
               "director's host or a VIP (web, lb2, 192.0.2); Enter keeps it, Esc clears it"),
    ActionSpec("sort_next", "s", "Sort", "Next order: the fleet file's, problems first, by name"),
    ActionSpec("problems_first", "exclamation_mark", "Problems", "Problems first (split brain, no director "
               "read, a director not read, alarms, real servers failing), or back to the fleet file's order"),
    ActionSpec("open_pair", "enter", "Open pair", "Open the pair under the cursor in a read-only dashboard: "
               "its first director's table as its reader last received it, the second beside it as the peer "
               "(q there returns to the fleet)"),
    ActionSpec("back", "escape", "Back", "Clear the filter", show=False),
    ActionSpec("quit", "q", "Quit", "Quit lvstui"),
)

#: actions that change the director's state; hidden from bindings, footer, palette and help in --readonly
MUTATING_ACTIONS: frozenset[str] = frozenset(spec.action for spec in ACTIONS if spec.mutating)

_KEY_NAMES = {"question_mark": "?", "exclamation_mark": "!", "slash": "/", "escape": "Esc", "enter": "Enter", "tab": "Tab",
              "space": "Space", "pageup": "PgUp", "pagedown": "PgDn", "home": "Home", "end": "End",
              "up": "↑", "down": "↓", "f1": "F1", "f2": "F2", "f5": "F5", "plus": "+",
              "minus": "-", "delete": "Del"}


def key_label(keys: str) -> str:
    """``question_mark,f1`` → ``? / F1``; ``ctrl+f`` → ``^f``."""
    names = []
    for key in keys.split(","):
        key = key.strip()
        if key.startswith("ctrl+"):
            names.append("^" + key[5:])
        else:
            names.append(_KEY_NAMES.get(key, key))
    return " / ".join(names)


def fleet_bindings() -> list[Binding]:
    """The fleet screen's bindings (ids ``fleet.<action>``)."""
    return [Binding(spec.keys, spec.action, spec.label, show=spec.show, id=f"fleet.{spec.action}",
                    tooltip=spec.help) for spec in FLEET_ACTIONS]


def app_bindings() -> list[Binding]:
    """Bindings in footer order: help, the real-server row's operations (shown only there), quit, then
    the rest, so a narrow footer (80 columns) cuts a theme toggle rather than Drain or Quit."""
    first = ([s for s in ACTIONS if s.action == "help"] + [s for s in ACTIONS if s.on_rs_row and s.show]
             + [s for s in ACTIONS if s.action == "quit"])
    ordered = first + [s for s in ACTIONS if s not in first]
    return [
        Binding(spec.keys, spec.action, spec.label, show=spec.show, id=f"app.{spec.action}",
                tooltip=spec.help)
        for spec in ordered
    ]


def known_binding_ids() -> set[str]:
    """Every binding id a user may remap in the config's [keys] table."""
    from lvstui.ui.detail import RsDetailScreen
    from lvstui.ui.help import HelpScreen
    from lvstui.ui.pair import PairScreen
    from lvstui.ui.vtable import VirtualTable

    bindings = [*app_bindings(), *VirtualTable.BINDINGS, *HelpScreen.BINDINGS, *RsDetailScreen.BINDINGS,
                *PairScreen.BINDINGS, *fleet_bindings()]
    return {b.id for b in bindings if isinstance(b, Binding) and b.id}
