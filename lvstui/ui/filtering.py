"""The dashboard's filter: words and ``field:value`` terms, matched against whole fields.

``/DR`` means the forwarding method DR, not "drained"; ``/nat`` finds the services whose real
servers are NAT; ``/state:up lc`` means "lc-scheduled services, their up real servers".  So:

* a term is ``field:value`` for a known field (:data:`FIELDS`) or a plain word matched against
  every field;
* a value matches a field's *whole* value (case-insensitive); addresses and ids also match a
  leading part that ends at a ``.`` or ``:`` (``10.1`` is 10.1.0.11, not 10.10.0.1;
  ``2001:db8`` an IPv6 address in it);
* every term must match, each either the service or a real server of it: a service is listed
  when one of its real servers (or the service alone) satisfies every term, and its real
  servers are those that do, with the terms the service satisfies by itself.

Pure functions, run in the poller thread (:mod:`lvstui.ui.view`); no Textual here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from lvstui.model import RealServer, VirtualService

__all__ = ["FIELDS", "FILTER_HELP", "Term", "filter_problem", "parse_terms", "rs_satisfies", "service_satisfies", "unmet"]

#: the field prefixes and what each one reads
FIELDS: dict[str, str] = {
    "fwd": "a real server's forwarding method: dr, nat (masq), tun (tunnel), local",
    "state": "a real server's state: up, drained, down, inhibited, gone",
    "proto": "a service's protocol: tcp, udp, sctp, fwmark",
    "sched": "a service's scheduler: rr, wrr, lc, wlc, sh, mh…",
    "addr": "an address, the service's or a real server's (a leading part: 10.1, 2001:db8)",
    "port": "a port, the service's or a real server's",
    "flag": "a service flag: persistent, one-packet (ops), sh-port, sh-fallback…",
}

#: the `?` screen's lines for the filter bar
FILTER_HELP: list[tuple[str, str]] = [
    ("words", ("Each word must match a whole field of the service or of one of its real servers: "
               "DR, nat, lc, udp, drained, 443, 10.1.0 (an address from its start), tcp:192.0.2.10:80")),
    ("field:value", "Only that field: " + "; ".join(f"{name}: {text}" for name, text in FIELDS.items())),
    ("a b", "Every term must match (AND): state:up lc = the lc services, with their up real servers"),
]

_FWD_ALIASES = {"masq": "nat", "route": "dr", "droute": "dr", "tunnel": "tun", "ipip": "tun"}
_FLAG_ALIASES = {"ops": "one-packet", "shfb": "sh-fallback", "shport": "sh-port", "mhfb": "mh-fallback",
                 "mhport": "mh-port"}
_ADDRESS_FIELDS = frozenset({"addr", "id"})


@dataclass(frozen=True, slots=True)
class Term:
    field: str | None  # None: a plain word, matched against every field
    value: str  # lower case


def parse_terms(text: str) -> tuple[Term, ...]:
    """``state:up lc`` → (Term('state', 'up'), Term(None, 'lc')); an empty ``state:`` is ignored."""
    terms = []
    for word in text.lower().split():
        field, sep, value = word.partition(":")
        if sep and field in FIELDS:
            if value:
                terms.append(Term(field, _FWD_ALIASES.get(value, value) if field == "fwd" else value))
        elif not field and value.isdigit():
            terms.append(Term("port", value))  # ":443", as in an id
        else:
            terms.append(Term(None, word))
    return tuple(terms)


#: fields whose values are a closed set: a value outside it is a typing mistake, said in the title
_KNOWN: dict[str, tuple[str, ...]] = {
    "state": ("up", "drained", "down", "inhibited", "gone"),
    "fwd": ("dr", "nat", "tun", "local"),
    "proto": ("tcp", "udp", "sctp", "fwmark"),
}


def filter_problem(text: str) -> str | None:
    """One line for the first term that cannot match anything (``state:drianed``), else None."""
    for term in parse_terms(text):
        if term.field in _KNOWN and term.value not in _KNOWN[term.field]:
            known = _KNOWN[term.field]
            return f"{term.field}:{term.value} matches nothing: {', '.join(known[:-1])} or {known[-1]}"
        if term.field == "port" and not term.value.isdigit():
            return f"port:{term.value} matches nothing: a port is a number"
    return None


def _leading(value: str, candidate: str) -> bool:
    """``value`` is ``candidate`` or its start up to a separator (``10.1`` of ``10.1.0.11``)."""
    if candidate == value:
        return True
    if not value or not candidate.startswith(value):
        return False
    return value[-1] in ".:[" or candidate[len(value)] in ".:]"


def _service_fields(vs: VirtualService) -> Iterator[tuple[str, str]]:
    yield "proto", (vs.protocol or "fwmark").lower()
    yield "sched", vs.scheduler.lower()
    for flag in vs.flags:
        yield "flag", flag.lower()
    yield "id", vs.id.lower()
    if vs.fwmark is not None:
        yield "id", str(vs.fwmark)
    if vs.address:
        yield "addr", vs.address.lower()
        yield "id", vs.id.lower().partition(":")[2]  # 192.0.2.10:80, [2001:db8::10]:80
    if vs.port is not None:
        yield "port", str(vs.port)


def _matches(term: Term, fields: Iterator[tuple[str, str]]) -> bool:
    value = term.value
    if term.field == "flag":
        value = _FLAG_ALIASES.get(value, value)
    for field, candidate in fields:
        if term.field is not None and field != term.field:
            continue
        value_here = _FLAG_ALIASES.get(value, value) if field == "flag" and term.field is None else value
        if field in _ADDRESS_FIELDS:
            if _leading(value_here, candidate):
                return True
        elif candidate == value_here:
            return True
    return False


def unmet(terms: tuple[Term, ...], vs: VirtualService) -> tuple[Term, ...]:
    """The terms the service does not satisfy by itself (its real servers must)."""
    return tuple(t for t in terms if not _matches(t, _service_fields(vs)))


def _rs_matches(term: Term, rs: RealServer, state: str) -> bool:
    """One term against a real server's fields, cheapest first (this runs for every server)."""
    field, value = term.field, term.value
    if field in (None, "state") and state == value:
        return True
    if field in (None, "fwd") and rs.forward.value.lower() == _FWD_ALIASES.get(value, value):
        return True
    if field in (None, "port") and str(rs.port) == value:
        return True
    if field in (None, "addr") and _leading(value, rs.address.lower()):
        return True
    # the id is address:port; only a value with a colon or a bracket can match it and not the address
    return field is None and (":" in value or value[:1] == "[") and _leading(value, rs.id.lower())


def rs_satisfies(terms: tuple[Term, ...], rs: RealServer, state: str | None = None) -> bool:
    """The real server satisfies every one of ``terms`` (``state``: as shown, e.g. ``gone``)."""
    state = state or rs.state
    return all(_rs_matches(t, rs, state) for t in terms)


def service_satisfies(terms: tuple[Term, ...], vs: VirtualService, gone: Iterable[RealServer] = ()) -> bool:
    """The service is listed: it, or it with one of its real servers (``gone``: those that left
    IPVS, still listed), satisfies every term."""
    rest = unmet(terms, vs)
    return (not rest or any(rs_satisfies(rest, rs) for rs in vs.real_servers)
            or any(rs_satisfies(rest, rs, "gone") for rs in gone))
