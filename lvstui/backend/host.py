"""The director machine's own statistics through psutil: CPU (with softirq), load, memory, NICs.

On an LVS director the scarce resource is usually softirq time on the cores
that receive the NIC's interrupts, not "CPU" as a whole, so every core's
softirq share is reported separately.  Rates are differences between two
reads of :class:`HostReader`; the first read reports zero rates.

Plain Python: no Textual here.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from typing import Any

from lvstui.model import CpuStats, HostStats, NicStats

__all__ = ["HostReader"]


class HostReader:
    """Reads :class:`HostStats`; keep one instance and call :meth:`read` once per poll."""

    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 psutil_module: Any | None = None) -> None:
        if psutil_module is None:
            import psutil  # heavy-ish: a lazy import for start-up speed, only for who reads host stats

            psutil_module = psutil
        self._ps: Any = psutil_module
        self._clock = clock
        self._last_nics: dict[str, Any] | None = None
        self._last_time = 0.0
        # prime the per-CPU counters so the first read reports the time since construction
        with contextlib.suppress(Exception):  # a failure here is reported by read()
            self._ps.cpu_times_percent(interval=None, percpu=True)

    def read(self) -> HostStats:
        errors: list[str] = []
        cpus: tuple[CpuStats, ...] = ()
        try:
            cpus = tuple(_cpu(i, t) for i, t in enumerate(self._ps.cpu_times_percent(interval=None,
                                                                                        percpu=True)))
        except Exception as exc:  # noqa: BLE001 - psutil raises several kinds; all become data
            errors.append(f"cpu: {exc}")
        load: tuple[float, float, float] = (0.0, 0.0, 0.0)
        try:
            load = os.getloadavg()
        except OSError as exc:
            errors.append(f"load: {exc}")
        mem_total = mem_used = 0
        try:
            vm = self._ps.virtual_memory()
            mem_total, mem_used = int(vm.total), int(vm.total - vm.available)
        except Exception as exc:  # noqa: BLE001
            errors.append(f"memory: {exc}")
        nics: tuple[NicStats, ...] = ()
        try:
            nics = self._nics()
        except Exception as exc:  # noqa: BLE001
            errors.append(f"nics: {exc}")
        return HostStats(cpus=cpus, load=(float(load[0]), float(load[1]), float(load[2])),
                         mem_total=mem_total, mem_used=mem_used, nics=nics,
                         error="; ".join(errors) or None)

    def _nics(self) -> tuple[NicStats, ...]:
        now = self._clock()
        counters = self._ps.net_io_counters(pernic=True)
        previous, seconds = self._last_nics, now - self._last_time
        self._last_nics, self._last_time = dict(counters), now
        result = []
        for name in sorted(counters):
            c = counters[name]
            old = previous.get(name) if previous else None
            if old is not None and seconds > 0:

                def rate(new: int, prev: int) -> float:
                    return max(new - prev, 0) / seconds

                rx_pps, tx_pps = rate(c.packets_recv, old.packets_recv), rate(c.packets_sent, old.packets_sent)
                rx_bps, tx_bps = rate(c.bytes_recv, old.bytes_recv), rate(c.bytes_sent, old.bytes_sent)
            else:
                rx_pps = tx_pps = rx_bps = tx_bps = 0.0
            result.append(NicStats(name=name, rx_pps=rx_pps, tx_pps=tx_pps, rx_bps=rx_bps, tx_bps=tx_bps,
                                   drops_in=int(c.dropin), drops_out=int(c.dropout),
                                   errors_in=int(c.errin), errors_out=int(c.errout)))
        return tuple(result)


def _cpu(index: int, times: Any) -> CpuStats:
    idle = float(getattr(times, "idle", 0.0)) + float(getattr(times, "iowait", 0.0))
    return CpuStats(core=index, busy=round(max(0.0, 100.0 - idle), 1),
                    softirq=round(float(getattr(times, "softirq", 0.0)), 1),
                    system=round(float(getattr(times, "system", 0.0)), 1),
                    user=round(float(getattr(times, "user", 0.0)) + float(getattr(times, "nice", 0.0)), 1))
