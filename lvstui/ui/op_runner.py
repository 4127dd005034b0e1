"""The dashboard's side of the operations layer: preview a batch of changes, then apply it.

No Textual here: the screens call :class:`OpRunner` from thread workers (planning reads the
director, and under keepalived runs ``keepalived -t``; applying writes and reads back), and
show its plain results.  Every change goes through :class:`lvstui.ops.engine.Operations`:
the same validation, refusals, keepalived durability, journal and remembered weights as the
CLI verbs.

With a peer (:class:`lvstui.pair.both.PeerLink`), a durable change (``PAIRED_VERBS``) is made
on both directors as the CLI's verbs make it (:func:`lvstui.pair.both.apply_both`: planned
here, applied on the peer by its own lvstui over SSH, then here); each change of a tagged batch
so in turn, over one SSH connection for the whole batch, the batch stopping at the first refusal.  The peer unreachable or refusing: nothing
changed on either director, unless the operator chose *this director only* (journaled as
``local-only``, said LOCAL ONLY).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lvstui.backend import BackendError
from lvstui.ops.changes import Change, Refused, RemoveServer, RemoveService
from lvstui.ops.engine import KeepalivedRefused, OperationFailed, Operations
from lvstui.ops.journal import StateError
from lvstui.ops.targets import InvalidInput
from lvstui.ops.undo import UndoPlan, apply_undo, plan_undo
from lvstui.pair.argv import PAIRED_VERBS, peer_argv

if TYPE_CHECKING:  # lvstui.pair.both loads the SSH layer: only when a change is made on the peer
    from lvstui.ops.engine import Outcome
    from lvstui.pair.both import PeerLink, PeerOps

__all__ = ["OpRunner", "Preview", "Result", "with_force"]

LOCAL_ONLY_HINT = "This director only in the confirmation makes it here alone"


@dataclass(frozen=True)
class Preview:
    """What a batch would do, for the confirmation screen."""

    title: str
    lines: list[str] = field(default_factory=list)  # kernel changes, each naming service and server
    keepalived: list[str] = field(default_factory=list)  # what keepalived's files get
    warnings: list[str] = field(default_factory=list)
    error: str | None = None  # refused or invalid: nothing can be applied as it stands
    forceable: bool = False  # a "force" choice makes sense (busy server, keepalived quorum...)
    keepalived_managed: bool = False  # keepalived manages this director: offer "runtime only"
    force: bool = False
    runtime_only: bool = False
    #: the operation that does what the refusal advises (``weight``), for the screen to name its key;
    #: ``error`` is then the refusal without the CLI's advice
    instead: str | None = None
    #: the pair's other director this batch is made on too (None: this director only, as ever)
    peer: str | None = None
    #: why the peer looks unreachable now (its reader's view): the apply will be refused unless local only
    peer_down: str | None = None

    @property
    def applicable(self) -> bool:
        return self.error is None and bool(self.lines)


@dataclass(frozen=True)
class Result:
    ok: bool
    message: str  # one line: what was done, or why not
    lines: list[str] = field(default_factory=list)  # what changed (kernel and keepalived)
    applied: int = 0  # changes applied (of the batch)
    seconds: float = 0.0
    local_only: bool = False  # made here only although a peer is named (LOCAL ONLY)


def with_force(change: Change, force: bool) -> Change:
    """The change with its own ``force`` (remove-rs, remove-vs) set as the operator chose."""
    if isinstance(change, (RemoveServer, RemoveService)):
        return dataclasses.replace(change, force=force)
    return change


def _mentions_force(text: str) -> bool:
    return "force" in text.lower()


class OpRunner:
    """Preview and apply batches of changes (one change, or one per tagged row) through Operations."""

    def __init__(self, ops: Operations, *, peer: PeerLink | None = None) -> None:
        """``peer``: how the pair's other director is reached (None: changes are made here only)."""
        self.ops = ops
        self.peer = peer
        # one call at a time: the director (a netlink socket) is not thread-safe, and previews,
        # re-plans and applies run in different worker threads
        self._lock = threading.Lock()

    def paired(self, changes: Sequence[Change]) -> str | None:
        """The peer this batch is made on too: its target, when there is one and every change is durable."""
        if self.peer is None or not changes or any(c.verb not in PAIRED_VERBS for c in changes):
            return None
        return self.peer.target

    def keepalived_managed(self) -> bool:
        try:
            return self.ops.keepalived_site() is not None
        except Exception:  # noqa: BLE001 - no view of keepalived: behave as without it
            return False

    def expire_quiescent(self) -> int | None:
        """The sysctl the plans read (a file; no director call, so no lock): None where there is none."""
        try:
            return self.ops.expire_quiescent()
        except Exception:  # noqa: BLE001 - unreadable is unknown, never a dead poller
            return None

    def preview(self, changes: Sequence[Change], title: str, *, force: bool = False,
                runtime_only: bool = False) -> Preview:
        with self._lock:
            return self._preview(changes, title, force, runtime_only)

    def _preview(self, changes: Sequence[Change], title: str, force: bool, runtime_only: bool) -> Preview:
        managed = self.keepalived_managed()
        lines: list[str] = []
        kept: list[str] = []
        warnings: list[str] = []
        forceable = any(isinstance(c, (RemoveServer, RemoveService)) for c in changes)
        try:
            snap = self.ops.director.read()
            for change in changes:
                plan = self.ops.plan(with_force(change, force), snap, force=force, runtime_only=runtime_only)
                lines += plan.lines()
                kept += plan.keepalived_lines()
                warnings += [w for w in plan.warnings if w not in warnings]
                if plan.runtime_only:
                    managed = True
        except KeepalivedRefused as exc:
            return Preview(title, lines, kept, warnings, error=str(exc),
                           forceable=forceable or _mentions_force(str(exc)), keepalived_managed=True,
                           force=force, runtime_only=runtime_only)
        except (Refused, InvalidInput) as exc:
            instead = exc.instead if isinstance(exc, Refused) else None
            reason = exc.reason if isinstance(exc, Refused) else str(exc)
            return Preview(title, lines, kept, warnings, error=reason if instead else str(exc),
                           forceable=forceable or (_mentions_force(str(exc)) and managed),
                           keepalived_managed=managed, force=force, runtime_only=runtime_only, instead=instead)
        except StateError as exc:  # the journal or the remembered weights: their own one line
            return Preview(title, lines, kept, warnings, error=str(exc), keepalived_managed=managed,
                           force=force, runtime_only=runtime_only)
        except (BackendError, OSError) as exc:
            return Preview(title, lines, kept, warnings, error=f"cannot read the director: {exc}",
                           keepalived_managed=managed, force=force, runtime_only=runtime_only)
        if not lines:
            warnings.append("nothing to change: the director already matches")
        return Preview(title, lines, kept, warnings, forceable=forceable, keepalived_managed=managed,
                       force=force, runtime_only=runtime_only)

    def apply(self, changes: Sequence[Change], *, force: bool = False, runtime_only: bool = False,
              local_only: bool = False) -> Result:
        """Apply each change in turn (each re-planned against a fresh read); stop at the first failure.
        With a peer (:meth:`paired`), on both directors unless ``local_only``."""
        with self._lock:
            return self._apply(changes, force, runtime_only, local_only)

    def _apply(self, changes: Sequence[Change], force: bool, runtime_only: bool, local_only: bool) -> Result:
        started = time.perf_counter()
        peer = self.paired(changes)
        done: list[str] = []
        applied = 0
        remote: PeerOps | None = None
        with ExitStack() as session:  # one SSH connection to the peer for the whole batch
            for change in changes:
                try:
                    if remote is None and peer is not None and self.peer is not None and not local_only:
                        remote = session.enter_context(self.peer.open(local_only_hint=LOCAL_ONLY_HINT).session())
                    outcome, peer_lines = self._apply_one(with_force(change, force), force, runtime_only, peer,
                                                          local_only, remote)
                except (Refused, InvalidInput, OperationFailed, BackendError, OSError) as exc:
                    return Result(False, _failed(exc, change, applied, len(changes), peer), done, applied,
                                  time.perf_counter() - started)
                applied += 1
                self._collect(done, outcome, peer_lines)
        return self._summary(changes, done, applied, peer, local_only, time.perf_counter() - started)

    @staticmethod
    def _collect(done: list[str], outcome: Outcome, peer_lines: list[str]) -> None:
        done += [f"recovered: {line}" for line in outcome.recovered]
        done += outcome.plan.lines()
        if outcome.plan.durable is not None:
            done += [f"keepalived: {line}" for line in outcome.plan.durable.lines]
        done += outcome.messages
        done += peer_lines

    @staticmethod
    def _summary(changes: Sequence[Change], done: list[str], applied: int, peer: str | None, local_only: bool,
                 seconds: float) -> Result:
        verb = changes[0].verb if changes else "nothing"
        what = f"{verb} ({applied} changes)" if applied > 1 else verb
        changed = [line for line in done if not line.startswith(("keepalived", "peer "))]
        summary = changed[0] if len(changed) == 1 else f"{len(changed)} changes"
        if not changed:
            summary = "nothing to change"
        if peer is not None and local_only:
            return Result(True, f"{what} done: {summary} · LOCAL ONLY: the peer {peer} was not changed", done,
                          applied, seconds, local_only=True)
        where = f" on both directors (here and {peer})" if peer is not None else ""
        return Result(True, f"{what} done{where}: {summary}", done, applied, seconds)

    def _apply_one(self, change: Change, force: bool, runtime_only: bool, peer: str | None,
                   local_only: bool, remote: PeerOps | None) -> tuple[Outcome, list[str]]:
        """One change: here only, or on both directors through *remote* (the batch's connection to
        the peer: None with *local_only*); the lines to show about the peer."""
        if peer is None:
            return self.ops.apply(change, force=force, runtime_only=runtime_only or None), []
        from lvstui.pair.both import apply_both, local_only_record

        if local_only or remote is None:
            extra = {"peer": local_only_record(peer, "the dashboard's This director only")}
            return self.ops.apply(change, force=force, runtime_only=runtime_only or None, journal_extra=extra), []
        argv = peer_argv(change, self.ops, force=force, runtime_only=runtime_only)
        both = apply_both(self.ops, change, remote, argv, force=force, runtime_only=runtime_only or None)
        result = both.peer
        lines = [f"peer {result.host}: {line}" for line in (*result.warnings, *result.lines)]
        return both.outcome, [*lines, f"peer {result.host}: done (its journal {result.entry_id or 'not recorded'})"]


def _failed(exc: Exception, change: Change, applied: int, of: int, peer: str | None) -> str:
    """The one line of a batch stopped by *exc* (the peer unreachable or refusing: refused)."""
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    prefix = f"applied {applied} of {of}, then " if applied else ""
    if peer is not None and _peer_error(exc):
        return f"{prefix}{change.verb} refused: {reason}"
    return f"{prefix}{change.verb} failed: {reason}"


def _peer_error(exc: Exception) -> bool:
    from lvstui.pair.both import PeerError  # loaded already: a change was made with a peer

    return isinstance(exc, PeerError)


class UndoRunner:
    """Undo of the last journaled change, for the dashboard: planned against a fresh read
    (ops.undo), shown like any batch, applied through the same Operations (one call at a time)."""

    def __init__(self, runner: OpRunner) -> None:
        self.runner = runner

    def preview(self) -> tuple[UndoPlan | None, Preview]:
        with self.runner._lock:
            try:
                undo = plan_undo(self.runner.ops)
            except (Refused, InvalidInput) as exc:
                return None, Preview("undo", error=str(exc))
            except StateError as exc:
                return None, Preview("undo", error=str(exc))
            except (BackendError, OSError) as exc:
                return None, Preview("undo", error=f"cannot read the director: {exc}")
            return undo, Preview(undo.title, undo.lines(), warnings=undo.warnings())

    def apply(self, undo: UndoPlan) -> Result:
        started = time.perf_counter()
        with self.runner._lock:
            try:
                outcomes = apply_undo(self.runner.ops, undo)
            except (Refused, InvalidInput, OperationFailed, BackendError, OSError) as exc:
                reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                return Result(False, f"undo failed: {reason}", [], 0, time.perf_counter() - started)
        done = [line for outcome in outcomes for line in outcome.plan.lines()]
        return Result(True, f"{undo.title}: done" + (f" ({done[0]})" if len(done) == 1 else ""), done,
                      len(outcomes), time.perf_counter() - started)


def make_operations(director: Any, *, readonly: bool, keepalived: Any = None,
                    demo: bool = False) -> Operations:
    """Operations for the dashboard: ``actor="tui"``; the demo has no keepalived and no sysctl (its
    expire_quiescent_template reads as unknown: drains warn as at 0, the remedy is not offered)."""
    from lvstui.ops.engine import AUTO

    if demo:
        return Operations(director, readonly=readonly, actor="tui", keepalived=None, eqt=lambda: None,
                          settle_seconds=0.0)
    return Operations(director, readonly=readonly, actor="tui", keepalived=AUTO if keepalived is None
                      else keepalived)
