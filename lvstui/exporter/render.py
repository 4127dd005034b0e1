"""The exposition text of one poll state, made once per poll for every scrape that follows.

lvstui's own, VRRP and keepalived families go through ``prometheus_client.generate_latest``;
the per-service and per-real-server ones (the bulk: ~14 lines per real server) are formatted
here from the same :mod:`~lvstui.exporter.metrics` specs, with precomputed label templates.
The result is byte-identical to ``generate_latest`` over :func:`~lvstui.exporter.metrics.families`
(tests/exporter/test_render.py), in a fraction of the time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TypeVar

from prometheus_client import generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.utils import floatToGoString

from lvstui.exporter.metrics import RS_KEY, RS_SPECS, VS_KEY, VS_SPECS, Spec, head_families, tail_families
from lvstui.exporter.poll import PollState
from lvstui.model import RealServer, VirtualService

__all__ = ["Families", "render", "render_chunks"]

T = TypeVar("T")


class Families:
    """A ``Collector`` over a fixed list of families (for ``generate_latest``)."""

    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterable[Metric]:
        return self._families


def _esc(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def _num(value: float) -> str:
    if value.is_integer() and 0 <= value < 1_000_000:
        return f"{int(value)}.0"  # what floatToGoString gives, without its work
    return str(floatToGoString(value))  # type: ignore[no-untyped-call]


def _header(spec: Spec[T]) -> str:
    doc = spec.doc.replace("\\", r"\\").replace("\n", r"\n")
    return f"# HELP {spec.name} {doc}\n# TYPE {spec.name} {spec.kind}\n"


def _template(spec: Spec[T], key: tuple[str, ...]) -> str:
    """``name{a="{0}",b="{1}"} `` with the labels in generate_latest's (sorted) order."""
    names = key + spec.extra
    order = sorted(range(len(names)), key=lambda i: names[i])
    inner = ",".join(f'{names[i]}="{{{i}}}"' for i in order)
    return spec.name + "{{" + inner + "}} "


def _chunks(specs: Sequence[Spec[T]], key: tuple[str, ...], rows: list[tuple[list[str], T]]) -> Iterator[bytes]:
    """One encoded chunk per family (so that only one family's lines are held as str at a time)."""
    for spec in specs:
        out = [_header(spec)]
        template = _template(spec, key).format
        values = spec.values
        for labels, obj in rows:
            for extra, value in values(obj):
                if extra:
                    out.append(template(*labels, *map(_esc, extra)) + _num(value) + "\n")
                else:
                    out.append(template(*labels) + _num(value) + "\n")
        yield "".join(out).encode()


def render_chunks(state: PollState) -> list[bytes]:
    """The text format for ``state`` in pieces, to be written one after the other."""
    head = generate_latest(Families(head_families(state)))
    tail = generate_latest(Families(tail_families(state)))
    snap = state.snapshot
    if snap is None:
        return [head, tail]
    services: list[tuple[list[str], VirtualService]] = [([_esc(vs.id)], vs) for vs in snap.virtual_services]
    servers: list[tuple[list[str], RealServer]] = [
        (labels + [_esc(rs.id)], rs) for labels, vs in services for rs in vs.real_servers
    ]
    return [head, *_chunks(VS_SPECS, VS_KEY, services), *_chunks(RS_SPECS, RS_KEY, servers), tail]


def render(state: PollState) -> bytes:
    """The whole text format for ``state``."""
    return b"".join(render_chunks(state))
