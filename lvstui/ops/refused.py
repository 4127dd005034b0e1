"""The refusal every operation raises, apart so that the CLI and the policy import it without the
change types (``lvstui.ops.changes`` re-exports it; a one-shot ``snapshot`` never loads those)."""

from __future__ import annotations

__all__ = ["Refused"]


class Refused(Exception):
    """The change is valid in form but not allowed now (missing target, duplicate, busy, read-only).

    ``instead``: the operation (its CLI verb, e.g. ``weight``) that does what the message advises;
    ``reason``: the refusal without the CLI's advice, for an interface that points at its own key.
    """

    def __init__(self, message: str, *, instead: str | None = None, reason: str | None = None) -> None:
        super().__init__(message)
        self.instead = instead
        self.reason = reason or message
