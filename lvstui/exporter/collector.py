"""The custom ``prometheus_client`` Collector: the latest poll state of a :class:`PollLoop`, rendered.

``collect()`` reads :attr:`PollLoop.state` (one reference, swapped whole by the poll thread), so
any number of collects never read the kernel.  ``lvstui exporter`` serves the same families
through :func:`lvstui.exporter.render.render`, made once per poll.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.metrics_core import Metric

from lvstui.exporter.metrics import families
from lvstui.exporter.poll import PollLoop

__all__ = ["SnapshotCollector"]


class SnapshotCollector:
    def __init__(self, loop: PollLoop) -> None:
        self.loop = loop

    def collect(self) -> Iterable[Metric]:
        return families(self.loop.state)

    def describe(self) -> Iterable[Metric]:
        return ()  # registering must not collect (nothing polled yet)
