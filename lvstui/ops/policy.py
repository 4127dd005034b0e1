"""The one read-only policy: every write of every interface asks it first, and it journals each refusal.

``lvstui --readonly`` installs a read-only :class:`WritePolicy` for the whole process
(:func:`installed`, done once by :func:`lvstui.cli.main`); the operations layer asks it before
anything is read or written: IPVS changes and their keepalived half (:class:`lvstui.ops.engine.
Operations`), VRRP demote/promote/setup (:mod:`lvstui.ops.vrrp`), the setup wizards' apply and
undo (:mod:`lvstui.setup.session`), ``lab ctl`` and undo.  The interfaces above (CLI verbs,
dashboard, lab panel, wizard screens) may hide or refuse earlier for the operator's comfort; the
refusal here is the one that cannot be bypassed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from lvstui.ops.journal import Journal
from lvstui.ops.refused import Refused

__all__ = ["LAB_READS", "ReadOnly", "WritePolicy", "check_lab_action", "current", "installed"]

EXIT_REFUSED = 3  # the CLI's exit status for a refusal


class ReadOnly(Refused):
    """lvstui runs --readonly: no change is made."""


@dataclass(frozen=True)
class WritePolicy:
    """Whether lvstui may change anything, and the journal its refusals go to."""

    readonly: bool = False
    journal: Journal | None = field(default=None, compare=False)  # None: the default journal

    def allows_writes(self) -> bool:
        return not self.readonly

    def check(self, verb: str, *, actor: str, journal: Journal | None = None,
              **what: object) -> None:
        """Raise :class:`ReadOnly` (journaled as refused) when read-only; else return.

        ``verb`` names the write as the operator would (``drain``, ``vrrp demote``, ``setup
        realserver``, ``lab ctl``, ``undo``); ``what`` says what it was about, for the journal.
        """
        if not self.readonly:
            return
        target = journal or self.journal or Journal()
        note = ""
        try:
            target.record(actor=actor, verb=verb, **what, result="refused", message="read-only mode")
        except OSError as exc:  # refused all the same; the operator is told it is not journaled
            note = f" (not journaled: {exc})"
        raise ReadOnly(f"{verb} refused: lvstui is running read-only (--readonly){note}")


_installed: list[WritePolicy] = [WritePolicy()]

#: the lab control actions that only read (``lvstui lab ctl status``; ``menu``: the lab panel's list
#: of actions, so the panel opens read-only and its writes reach this policy): allowed read-only
LAB_READS = ("", "help", "status", "menu")


def check_lab_action(words: list[str], *, actor: str, policy: WritePolicy | None = None) -> None:
    """A lab control action (``lab ctl`` or the lab panel): refused when read-only unless it only reads."""
    if (words[0] if words else "") in LAB_READS:
        return
    (policy or current()).check("lab ctl", actor=actor, action=" ".join(words))


def current() -> WritePolicy:
    """The policy of this process (read-write unless ``--readonly`` installed one)."""
    return _installed[-1]


@contextmanager
def installed(policy: WritePolicy) -> Iterator[WritePolicy]:
    """Make ``policy`` the process's policy for the duration (the CLI, around one command)."""
    _installed.append(policy)
    try:
        yield policy
    finally:
        _installed.remove(policy)
