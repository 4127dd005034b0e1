"""A durable change made on both directors of the pair: here through :mod:`lvstui.ops`, on the
peer through the peer's own lvstui over SSH (the same verb, so the peer's operations layer
validates it there: its keepalived -t, its refusals, its journal).

The order, so that nothing is left half-applied:

0. take this director's locks (keepalived's configuration, then the director: as
   :meth:`Operations.apply` takes them, which re-enters them) and hold them to the end: another
   operator here, nothing is asked of the peer; so nobody here changes the director between
   the peer's apply and ours.  The peer's lvstui takes its own locks when it applies: another
   operator there, it refuses (``busy: ...``, exit 3) and nothing is changed on either director;
1. plan here (validated against this kernel and keepalived's configuration; never writes):
   refused here, nothing is asked of the peer;
2. apply on the peer (its lvstui plans, applies, reads back and journals; ``--print-journal-id``
   gives its entry's id): unreachable, refused or failed there, nothing is changed here;
3. apply here, re-planned against a fresh read, journaled with ``peer`` (host, result, the
   peer's journal id); if that fails, the peer's entry is undone (``lvstui undo ID --yes`` there)
   and the line says whether that worked.

The peer is asked second-to-last rather than last because undoing exactly one journal entry
on the peer is its own checked operation (refused if the peer moved on since), while the
local apply can fail between its plan and its write only through a change made here in
between, which the re-plan catches.

The peer's lvstui is run with ``--on-behalf-of`` this host's name, so its journal names the
director that asked (see :mod:`lvstui.pair.argv`).  A tagged batch holds one SSH connection for
all its changes (:meth:`PeerOps.session`).

This package sits between the interfaces and the layers it joins: it imports the operations
layer (:mod:`lvstui.ops`) and the wizards' SSH layer (:mod:`lvstui.setup.ssh`); neither imports
it, and ops never imports setup (import-linter contracts in pyproject.toml).
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any, Self

from lvstui.ops.changes import Change, Plan, Refused
from lvstui.ops.engine import DirectorBusy, OperationFailed, Operations, Outcome, Unrecorded
from lvstui.ops.lock import Busy
from lvstui.ops.record import describe_change
from lvstui.ops.targets import InvalidInput
from lvstui.pair.argv import ON_BEHALF_OF, PAIRED_VERBS, parse_asker
from lvstui.setup.runner import RunnerError
from lvstui.setup.ssh import SshOptions, SshRunner

__all__ = ["PAIRED_VERBS", "PeerError", "PeerLink", "PeerOps", "PeerResult", "apply_both", "local_only_record"]

JOURNAL_LINE = "journal: "  # what --print-journal-id prints, last
#: How the CLI offers the change made here alone, said when the peer cannot be reached.
CLI_LOCAL_ONLY = "--local-only makes it on this director only"
TIMED_OUT = 124  # the SSH runner's status for a command that did not end in time (SshOptions.command_timeout)


class PeerError(Refused):
    """The peer cannot be reached or refused the change: nothing was changed anywhere (one line)."""


@dataclass(frozen=True)
class PeerResult:
    host: str
    status: int  # the peer's lvstui exit status (0 done, 4 done but not recorded there)
    lines: tuple[str, ...]  # what it printed (its plan's lines), without the journal line
    error: str | None  # its one line on stderr, if any
    entry_id: str | None  # its journal entry
    warnings: tuple[str, ...] = ()  # its stderr lines when it succeeded (warnings, recovered: ...)

    def record(self) -> dict[str, Any]:
        return {"host": self.host, "role": "asked", "result": "applied" if self.status in (0, 4) else "failed",
                "status": self.status, "entry": self.entry_id, "error": self.error}


class PeerOps:
    """The peer's lvstui over one SSH connection (the wizards' runner, its host-key policy).

    ``with peer:`` connects (unless connected already) and closes at the end of the outermost
    ``with``; :meth:`session` keeps a connection made inside it open to its own end."""

    def __init__(self, target: str, options: SshOptions, command: Sequence[str] = ("lvstui",), *,
                 connect: Callable[[str, SshOptions], SshRunner] = SshRunner,
                 local_only_hint: str = CLI_LOCAL_ONLY, asker: str | None = None) -> None:
        """*local_only_hint*: how the interface asking offers the change made here alone.  *asker*:
        this director's name for the peer's journal (default: the host name); InvalidInput if it is
        not a host name."""
        self.target = target
        self.command = tuple(command)
        self.local_only_hint = local_only_hint
        self.asker = parse_asker(asker if asker is not None else socket.gethostname())
        self._runner = connect(target, options)
        self._depth = 0
        self._connected = False
        self.connections = 0  # connections made (one per batch)

    def __enter__(self) -> Self:
        if not self._connected:
            try:
                self._runner.connect()
            except RunnerError as exc:
                self._runner.close()
                raise PeerError(f"peer {exc}; nothing was changed on either director "
                                f"({self.local_only_hint})") from None
            self._connected = True
            self.connections += 1
        self._depth += 1
        return self

    def __exit__(self, *exc: object) -> None:
        self._depth -= 1
        self._close_if_done()

    @contextmanager
    def session(self) -> Iterator[Self]:
        """Keep the connection the first change makes open for the next ones (a tagged batch: one
        SSH connection, not one per change); closed at the end.  Connects nothing by itself."""
        self._depth += 1
        try:
            yield self
        finally:
            self._depth -= 1
            self._close_if_done()

    def _close_if_done(self) -> None:
        if self._depth == 0 and self._connected:
            self._connected = False
            self._runner.close()

    def run(self, argv: Sequence[str]) -> PeerResult:
        """Run ``lvstui --peer none ARGV --on-behalf-of HOST`` there (``--peer none``: the peer never
        forwards the change back here; HOST: this director, for its journal); RunnerError becomes
        :class:`PeerError`."""
        try:
            r = self._runner.run([*self.command, "--peer", "none", *argv, ON_BEHALF_OF, self.asker])
        except RunnerError as exc:
            raise PeerError(f"peer {exc}; what became of `{' '.join(argv)}` there is unknown (see its "
                            "journal); nothing was changed here") from None
        out = r.stdout.splitlines()
        entry = next((line[len(JOURNAL_LINE):].strip() for line in reversed(out) if line.startswith(JOURNAL_LINE)),
                     None)
        errors = [line.removeprefix("lvstui: ") for line in r.stderr.splitlines() if line.strip()]
        error = errors[-1] if errors and r.rc != 0 else None
        if r.rc == 127 and error is None:
            error = f"{' '.join(self.command)}: not found"
        return PeerResult(self.target, r.rc, tuple(x for x in out if not x.startswith(JOURNAL_LINE)),
                          error or (f"exit {r.rc}" if r.rc not in (0, 4) else None), entry,
                          tuple(errors) if r.rc in (0, 4) else ())

    def undo(self, entry_id: str, *, force: bool = False) -> PeerResult:
        return self.run(["undo", entry_id, "--yes", *(["--force"] if force else [])])


@dataclass(frozen=True)
class PeerLink:
    """How the peer's lvstui is reached (the CLI's verbs and the dashboard alike): its target, the
    SSH options the peer reader uses too, the command run there."""

    target: str
    options: SshOptions
    command: tuple[str, ...] = ("lvstui",)
    connect: Callable[[str, SshOptions], SshRunner] = SshRunner

    def open(self, local_only_hint: str = CLI_LOCAL_ONLY) -> PeerOps:
        """A :class:`PeerOps`, not connected yet; PeerError when its runner cannot even be set up."""
        try:
            return PeerOps(self.target, self.options, self.command, connect=self.connect,
                           local_only_hint=local_only_hint)
        except InvalidInput as exc:  # this host's name, for the peer's journal
            raise PeerError(f"this director's host name: {exc}; nothing was changed on either director") from None
        except Exception as exc:  # noqa: BLE001 - a runner that cannot even be set up (~/.ssh/config...)
            raise PeerError(f"peer {exc}; nothing was changed on either director") from None


def local_only_record(target: str, why: str) -> dict[str, Any]:
    """The journal's ``peer`` field of a change made here only (``--local-only``)."""
    return {"host": target, "result": "local-only", "error": why}


@dataclass
class BothOutcome:
    outcome: Outcome
    peer: PeerResult


def apply_both(ops: Operations, change: Change, peer: PeerOps, argv: Sequence[str], *,
               force: bool = False, runtime_only: bool | None = None) -> BothOutcome:
    """Under this director's locks: plan here, connect to the peer (unless connected: a batch's
    :meth:`PeerOps.session`) and apply there, apply here; undo the peer's entry if this side fails.

    Raises what :meth:`Operations.apply` raises (its message then says what became of the peer's
    change), :class:`DirectorBusy` (another operator here: the peer not asked) or :class:`PeerError`
    (nothing changed anywhere).  *runtime_only*: as :meth:`Operations.apply` (None: the
    Operations' own); *argv* says it to the peer."""
    with ExitStack() as stack:
        try:  # in apply's order (keepalived's, then the director's): apply re-enters them
            stack.enter_context(ops.keepalived_lock(change, runtime_only))
            stack.enter_context(ops.director_lock(change))
        except Busy as exc:
            message = f"{exc}; nothing was changed on either director (the peer {peer.target} was not asked)"
            _refused(ops, change, message, {"host": peer.target, "role": "asked", "result": "not asked"})
            raise DirectorBusy(message) from exc
        except OSError as exc:  # the lock cannot be made (read-only state directory...)
            raise OperationFailed(f"{exc}; nothing was changed on either director") from exc
        plan = ops.plan(change, force=force, runtime_only=runtime_only)  # refused here: the peer is not asked
        try:
            stack.enter_context(peer)
            result = peer.run([*argv, "--print-journal-id"])
        except PeerError as exc:
            _refused(ops, change, str(exc), {"host": peer.target, "role": "asked", "result": "unreachable",
                                             "error": str(exc)})
            raise
        if result.status == TIMED_OUT:  # the runner gave up waiting: the peer may have done it
            message = (f"peer {peer.target}: {result.error}; what became of `{' '.join(argv)}` there is unknown "
                       "(see its journal); nothing was changed here")
            _refused(ops, change, message, result.record())
            raise PeerError(message)
        if result.status not in (0, 4):
            said = (result.error or "").removesuffix("; nothing was changed").removesuffix(": nothing was changed")
            message = f"peer {peer.target}: {said} (nothing was changed on either director)"
            _refused(ops, change, message, result.record())
            raise PeerError(message)
        return _apply_here(ops, change, plan, peer, result, force, runtime_only)


def _refused(ops: Operations, change: Change, message: str, peer: dict[str, Any]) -> None:
    ops.journal.record(actor=ops.actor, verb=change.verb, result="refused", change=describe_change(change),
                       message=message, peer=peer)


def _apply_here(ops: Operations, change: Change, plan: Plan, peer: PeerOps, result: PeerResult,
                force: bool, runtime_only: bool | None) -> BothOutcome:
    try:
        outcome = ops.apply(change, plan, force=force, runtime_only=runtime_only,
                            journal_extra={"peer": result.record()})
    except Unrecorded:
        raise  # in place here too: both directors hold it
    except Exception as exc:  # whatever failed here, the peer's change is taken back
        note = _undo_peer(ops, change, peer, result, force)
        raise _with(exc, note) from exc
    return BothOutcome(outcome, result)


def _undo_peer(ops: Operations, change: Change, peer: PeerOps, result: PeerResult, force: bool) -> str:
    if result.entry_id is None:
        return f"; the peer {peer.target} keeps the change (its journal entry is unknown: undo it there)"
    try:
        undone = peer.undo(result.entry_id, force=force)
    except PeerError as exc:
        undone = PeerResult(peer.target, 255, (), str(exc), None)
    ok = undone.status in (0, 4)
    note = (f"; undone on the peer {peer.target} (its journal {result.entry_id})" if ok else
            f"; PEER UNDO FAILED on {peer.target} (its journal {result.entry_id}): {undone.error}")
    try:
        ops.journal.record(actor=ops.actor, verb=change.verb, result="peer-undone" if ok else "peer-undo-failed",
                           change=describe_change(change), peer=undone.record() | {"undo_of": result.entry_id})
    except OSError as exc:
        note += f" ({exc}: not recorded here)"
    return note


def _with(exc: Exception, note: str) -> Exception:
    try:
        return type(exc)(f"{exc}{note}")
    except TypeError:
        return OperationFailed(f"{exc}{note}")
