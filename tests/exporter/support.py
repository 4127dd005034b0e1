"""Shared by the exporter tests: poll states from the deterministic demo, a parsed scrape."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.parser import text_string_to_metric_families

from lvstui.demo import DemoSource
from lvstui.exporter.poll import PollLoop, PollState

# Run with `python -c CHECK % EXTRA` (EXTRA: more code before the check; "" for none): prints JSON
# {"bad": forbidden modules loaded, "error": the director poll's error, "vrrp": its VRRP instances,
#  "loaded": lvstui modules}.
CHECK = """
import json, sys
import lvstui.exporter.server, lvstui.exporter.collector, lvstui.commands.exporter, lvstui.cli
from lvstui.exporter import FORBIDDEN
from lvstui.exporter.poll import PollLoop
from lvstui.exporter.render import render
from lvstui.exporter.metrics import families
from lvstui.exporter.source import Reopening, director_source
from lvstui.demo import DemoSource
states = []
for source in (Reopening(director_source), DemoSource()):
    loop = PollLoop(source)
    states.append(loop.poll_once())
    render(states[-1]); families(states[-1])
    loop.stop()
%s
bad = sorted(m for m in sys.modules if any(m == f or m.startswith(f + ".") for f in FORBIDDEN))
first = states[0].snapshot
print(json.dumps({"bad": bad, "error": states[0].error, "vrrp": len(first.vrrp) if first else 0,
                  "loaded": sorted(m for m in sys.modules if m.startswith("lvstui"))}))
"""


class Clock:
    def __init__(self, t: float = 0.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def demo_state(t: float, polls: int = 1) -> PollState:
    """The demo director ``t`` s after its start, polled ``polls`` times (the last at ``t``)."""
    clock = Clock()
    loop = PollLoop(DemoSource(clock=clock))
    clock.t = t
    for _ in range(polls):
        loop.poll_once()
    return loop.state


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str | bytes) -> tuple[dict[str, str], Samples]:
    """(family name -> type, (sample name, sorted labels) -> value) with prometheus_client's own parser."""
    if isinstance(text, bytes):
        text = text.decode()
    types: dict[str, str] = {}
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        types[family.name] = family.type
        for s in family.samples:
            key = (s.name, tuple(sorted(s.labels.items())))
            assert key not in samples, f"duplicate series {key}"
            samples[key] = s.value
    return types, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def names(samples: Iterable[tuple[str, tuple[tuple[str, str], ...]]]) -> set[str]:
    return {name for name, _ in samples}
