"""When a real server still carries client traffic: the definition a drain waits on.

Fed a real server's connection entries (a stream from :mod:`lvstui.backend.conns`), it says,
per protocol, how many entries still carry traffic, how many are closed connections only
waiting out IPVS's timers, and how long the longest one has left; persistence templates
pointing at the server are counted apart.  The definition (also in README, "When is a
drained real server done?"):

* TCP: an entry counts while data can still flow on it: ESTABLISHED, the opening states
  (SYN_RECV, SYN_SENT, SYNACK), CLOSE_WAIT (one side closed, the other may still send),
  LISTEN (an FTP data channel waiting) and any state this module does not know (NONE
  included), so that a new kernel name errs on the side of waiting.  FIN_WAIT, TIME_WAIT,
  CLOSE and LAST_ACK do not count: both sides closed (or a reset), the entry only waits out
  its timer.  In DR and TUN the director sees the client's packets only: FIN_WAIT means the
  client sent its FIN; a server that keeps writing to a client that half-closed is not
  visible to IPVS (nor to its own active/inactive counters).  No ETA for flowing TCP: an
  established entry's timer restarts with every packet, it ends when the client closes.
* UDP (and other datagram protocols): an entry counts until it expires; the ETA is the
  longest remaining expiry.
* SCTP: as UDP (counts until it expires, ETA the longest expiry), except CLOSED and
  REJECTED: the association is over.
* Persistence templates (``template``) carry no traffic themselves but send a pinned
  client's new connections to the server while they live (with weight 0 too when
  ``expire_quiescent_template`` is 0): counted, with their longest expiry, apart.  Where they
  still pin clients (a persistent service and the sysctl at 0: ``pinning``), a drain is not
  done while one lives (:meth:`ServerTraffic.done_for`): a pinned client may open a new
  connection at any moment.  With the sysctl at 1 the kernel drops a template that points at
  a weight-0 server at its next use, so templates no longer matter.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from lvstui.backend.connfilter import ConnFilter
from lvstui.backend.conns import CONN_FILE, Conn, ServiceIndex, read_conns
from lvstui.model import VirtualService

__all__ = [
    "TCP_CLOSED_STATES",
    "SCTP_CLOSED_STATES",
    "ProtocolTraffic",
    "ServerTraffic",
    "carries_traffic",
    "server_traffic",
    "read_server_traffic",
    "read_servers_traffic",
]

TCP_CLOSED_STATES = frozenset({"FIN_WAIT", "TIME_WAIT", "CLOSE", "LAST_ACK"})
SCTP_CLOSED_STATES = frozenset({"CLOSED", "REJECTED"})


def carries_traffic(c: Conn) -> bool:
    """Whether this (non-template) entry still carries client traffic, per the definition above."""
    if c.template:
        return False
    if c.protocol == "TCP":
        return c.state not in TCP_CLOSED_STATES
    if c.protocol == "SCTP":
        return c.state not in SCTP_CLOSED_STATES
    return True  # UDP and other datagram protocols: every entry the kernel still shows counts


@dataclass(frozen=True, slots=True)
class ProtocolTraffic:
    protocol: str
    carrying: int = 0  # entries on which traffic can still flow
    closed: int = 0  # closed entries waiting out their timers
    longest_carrying: int = 0  # seconds: the longest remaining expiry of a carrying entry
    longest_closed: int = 0

    @property
    def eta(self) -> int | None:
        """Seconds until no entry of this protocol carries traffic; None when unknown (TCP)."""
        if not self.carrying:
            return 0
        if self.protocol == "TCP":
            return None
        return self.longest_carrying


@dataclass(frozen=True, slots=True)
class ServerTraffic:
    """What a real server still has, per protocol, and the templates pinning clients to it."""

    protocols: tuple[ProtocolTraffic, ...] = ()
    templates: int = 0
    longest_template: int = 0

    @property
    def carrying(self) -> int:
        return sum(p.carrying for p in self.protocols)

    @property
    def done(self) -> bool:
        """No entry carries client traffic (closed entries and templates may remain)."""
        return self.carrying == 0

    @property
    def eta(self) -> int | None:
        """Seconds until done where known (0 when done), None when a TCP connection is open."""
        longest = 0
        for p in self.protocols:
            e = p.eta
            if e is None:
                return None
            longest = max(longest, e)
        return longest

    @property
    def all_expired_in(self) -> int:
        """Seconds until every entry, closed ones and templates included, has expired."""
        values = [self.longest_template]
        for p in self.protocols:
            values += [p.longest_carrying, p.longest_closed]
        return max(values)

    @property
    def entries(self) -> int:
        """Every entry, closed ones and templates included (0: the table holds nothing of it)."""
        return self.templates + sum(p.carrying + p.closed for p in self.protocols)

    def done_for(self, pinning: bool) -> bool:
        """:attr:`done`, and where templates still pin clients (``pinning``: a persistent service
        with expire_quiescent_template 0) no template left either."""
        return self.done and not (pinning and self.templates)

    def eta_for(self, pinning: bool) -> int | None:
        """:attr:`eta` under :meth:`done_for`: with pinning templates, at least their longest
        expiry (a pinned client's new connection would start it again)."""
        eta = self.eta
        if eta is None or not (pinning and self.templates):
            return eta
        return max(eta, self.longest_template)

    def of(self, protocol: str) -> ProtocolTraffic:
        for p in self.protocols:
            if p.protocol == protocol:
                return p
        return ProtocolTraffic(protocol)


class _Fold:
    """The running counts of one real server's entries (fed one at a time, never held)."""

    __slots__ = ("acc", "longest_template", "templates")

    def __init__(self) -> None:
        # protocol -> [carrying, closed, longest carrying, longest closed]
        self.acc: dict[str, list[int]] = {}
        self.templates = self.longest_template = 0

    def add(self, c: Conn) -> None:
        if c.template:
            self.templates += 1
            self.longest_template = max(self.longest_template, c.expires)
            return
        row = self.acc.get(c.protocol)
        if row is None:
            row = self.acc[c.protocol] = [0, 0, 0, 0]
        if carries_traffic(c):
            row[0] += 1
            row[2] = max(row[2], c.expires)
        else:
            row[1] += 1
            row[3] = max(row[3], c.expires)

    def result(self) -> ServerTraffic:
        return ServerTraffic(
            protocols=tuple(ProtocolTraffic(p, *self.acc[p]) for p in sorted(self.acc)),
            templates=self.templates, longest_template=self.longest_template,
        )


def server_traffic(entries: Iterable[Conn]) -> ServerTraffic:
    """Fold one real server's entries (streamed, read once) into a :class:`ServerTraffic`."""
    fold = _Fold()
    for c in entries:
        fold.add(c)
    return fold.result()


def read_server_traffic(services: Iterable[VirtualService], vs_id: str, rs_id: str,
                        path: str = CONN_FILE) -> ServerTraffic:
    """The live table's :func:`server_traffic` for real server ``rs_id`` of service ``vs_id``.

    ``services``: the director's services (a snapshot's), so that each entry is given to the
    right one.  One streamed pass; raises ConnError if the table cannot be read and
    ValueError for ids that are not a service / ADDRESS:PORT.
    """
    wanted = ConnFilter.parse(vs_id, rs_id, None, None)
    index = ServiceIndex(services)
    return server_traffic(c for c in read_conns(path) if wanted.accepts(c, index))


def read_servers_traffic(services: Iterable[VirtualService], targets: Iterable[tuple[str, str]],
                         path: str = CONN_FILE) -> dict[tuple[str, str], ServerTraffic]:
    """:func:`read_server_traffic` of several (virtual service id, real server id) at once, in one
    streamed pass over the table (a drained host: one read per poll, not one per service)."""
    keys = list(dict.fromkeys(targets))
    filters = [(key, ConnFilter.parse(key[0], key[1], None, None)) for key in keys]
    index = ServiceIndex(services)
    folds = {key: _Fold() for key in keys}
    for c in read_conns(path):
        for key, wanted in filters:
            if wanted.accepts(c, index):
                folds[key].add(c)
    return {key: fold.result() for key, fold in folds.items()}
