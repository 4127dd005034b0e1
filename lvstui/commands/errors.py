"""The errors a CLI verb reports: one line on stderr and an exit status (see :func:`lvstui.cli.main`)."""

from __future__ import annotations

__all__ = ["EXIT_FAILED", "EXIT_INVALID", "EXIT_REFUSED", "EXIT_TIMEOUT", "EXIT_UNRECORDED", "CliError"]

EXIT_FAILED, EXIT_INVALID, EXIT_REFUSED, EXIT_TIMEOUT = 1, 2, 3, 124
EXIT_UNRECORDED = 4  # the change is in place, but lvstui could not record it (journal/weights unwritable)


class CliError(Exception):
    """A failure to report as one line on stderr with a non-zero exit status."""

    def __init__(self, message: str, status: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.status = status
