"""A readable, non-interactive rendering of a snapshot with rich (``lvstui snapshot``)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from lvstui.model import Snapshot
from lvstui.ui.formatting import bytes_h as human_bytes


def print_snapshot(snap: Snapshot, console: Console | None = None) -> None:
    if console is None:
        import sys

        # ipvsadm-like output piped into a file or `less` should not be squeezed to 80 columns
        console = Console() if sys.stdout.isatty() else Console(width=200)
    title = f"IPVS on {snap.director}  (version {snap.ipvs_version}, {snap.taken_at:%Y-%m-%d %H:%M:%S %Z})"
    table = Table(title=title, title_justify="left", expand=False, pad_edge=False)
    for name, justify in (("Service / real server", "left"), ("Sched/Fwd", "left"), ("Weight", "right"),
                          ("ActConn", "right"), ("InActConn", "right"), ("PersConn", "right"),
                          ("Conns", "right"), ("InPkts", "right"), ("OutPkts", "right"),
                          ("InBytes", "right"), ("OutBytes", "right"), ("CPS", "right")):
        table.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for vs in snap.virtual_services:
        sched = vs.scheduler
        extras = [f for f in vs.flags if f != "persistent"]
        if vs.persistence_timeout:
            extras.insert(0, f"persistent {vs.persistence_timeout}")
        if vs.persistence_engine:
            extras.append(f"pe {vs.persistence_engine}")
        if extras:
            sched += " (" + ", ".join(extras) + ")"
        table.add_row(f"[bold]{vs.id}[/bold]", sched, "", str(vs.active_conns), str(vs.inactive_conns),
                      str(vs.persistent_conns), str(vs.stats.conns), str(vs.stats.inpkts),
                      str(vs.stats.outpkts), human_bytes(vs.stats.inbytes), human_bytes(vs.stats.outbytes),
                      str(vs.rates.cps))
        for rs in vs.real_servers:
            table.add_row(f"  -> {rs.id}", rs.forward.value, str(rs.weight), str(rs.active_conns),
                          str(rs.inactive_conns), str(rs.persistent_conns), str(rs.stats.conns),
                          str(rs.stats.inpkts), str(rs.stats.outpkts), human_bytes(rs.stats.inbytes),
                          human_bytes(rs.stats.outbytes), str(rs.rates.cps))
    if not snap.virtual_services:
        console.print(f"IPVS on {snap.director}: no virtual services")
        return
    console.print(table)
