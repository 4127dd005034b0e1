"""The errors a CLI verb reports: one line on stderr and an exit status (see :func:`lvstui.cli.main`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["EXIT_FAILED", "EXIT_INVALID", "EXIT_REFUSED", "EXIT_TIMEOUT", "EXIT_UNRECORDED", "CliError",
           "operation_errors"]

EXIT_FAILED, EXIT_INVALID, EXIT_REFUSED, EXIT_TIMEOUT = 1, 2, 3, 124
EXIT_UNRECORDED = 4  # the change is in place, but lvstui could not record it (journal/weights unwritable)


class CliError(Exception):
    """A failure to report as one line on stderr with a non-zero exit status."""

    def __init__(self, message: str, status: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.status = status


@contextmanager
def operation_errors() -> Iterator[None]:
    """The operations layer's errors as CliError: invalid input 2, refused 3, the kernel failing 1,
    done but not recorded 4."""
    from lvstui.backend import BackendError  # lazily: this module is imported by every verb
    from lvstui.ops.changes import Refused
    from lvstui.ops.engine import OperationFailed, Unrecorded
    from lvstui.ops.targets import InvalidInput

    try:
        yield
    except InvalidInput as exc:
        raise CliError(str(exc), EXIT_INVALID) from None
    except Refused as exc:
        raise CliError(str(exc), EXIT_REFUSED) from None
    except Unrecorded as exc:
        raise CliError(str(exc), EXIT_UNRECORDED) from None
    except (OperationFailed, BackendError, OSError) as exc:
        raise CliError(str(exc), EXIT_FAILED) from None
