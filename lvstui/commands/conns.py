"""``lvstui conns``: IPVS's connection entries (ipvsadm -Lnc), filtered, as a table or JSON."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lvstui.backend.conns import Conn, ServiceIndex

HELP_DESCRIPTION = (
    "Print the kernel's IPVS connection entries (/proc/net/ip_vs_conn of this network "
    "namespace), persistence templates included: the columns of `ipvsadm -Lnc`, or with --json "
    "a list of objects (protocol, expires in seconds, state, source, virtual, destination, "
    "template, service).  The table is streamed, never held: fine on millions of entries."
)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("conns", help="list IPVS connection entries (like ipvsadm -Lnc)",
                       description=HELP_DESCRIPTION)
    p.add_argument("vs", nargs="?", metavar="VS",
                   help="only entries of this virtual service (tcp:VIP:PORT, udp:[V6]:PORT, fwmark:N)")
    p.add_argument("rs", nargs="?", metavar="RS", help="only entries to this real server (ADDRESS:PORT)")
    p.add_argument("--state", help="only entries in this state (ipvsadm's name, e.g. ESTABLISHED)")
    p.add_argument("--client", metavar="CIDR", help="only entries whose source is in CIDR")
    p.add_argument("--sync", action="store_true",
                   help="read ip_vs_conn_sync (adds each entry's origin: LOCAL or SYNC)")
    p.add_argument("--json", action="store_true", help="print a JSON list")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from lvstui.backend.connfilter import ConnFilter
    from lvstui.backend.conns import (
        CONN_FILE,
        SYNC_FILE,
        ConnError,
        ServiceIndex,
        open_lines,
        read_conns,
        table_rows,
    )
    from lvstui.commands.errors import CliError

    try:
        wanted = ConnFilter.parse(args.vs, args.rs, args.state, args.client)
    except ValueError as exc:
        raise CliError(str(exc), 2) from exc
    try:
        path = SYNC_FILE if args.sync else CONN_FILE
        if not args.json and wanted == ConnFilter():  # the whole table: rows straight from the lines
            _print_rows(table_rows(open_lines(path), sync=args.sync))
            return 0
        entries = read_conns(path)
        # the services are read only where they are used: the JSON's `service` and a VS filter
        index = _service_index() if args.json or wanted.service is not None else ServiceIndex(())
        selected = (c for c in entries if wanted.accepts(c, index))
        if args.json:
            _print_json(selected, index, args.sync)
        else:
            _print_table(selected)
    except ConnError as exc:
        raise CliError(str(exc)) from exc
    except BrokenPipeError:
        return 0
    return 0


def _service_index() -> ServiceIndex:
    from lvstui.backend import BackendError
    from lvstui.backend.conns import ServiceIndex
    from lvstui.backend.ipvs import IpvsClient
    from lvstui.commands.errors import CliError

    try:
        with IpvsClient() as client:
            services = client.read().virtual_services
    except BackendError as exc:
        raise CliError(str(exc)) from exc
    return ServiceIndex(services)


def _print_table(entries: Iterable[Conn]) -> None:
    from lvstui.backend.conns import format_row

    _print_rows(format_row(c) for c in entries)


def _print_rows(rows: Iterable[str]) -> None:
    from itertools import islice

    from lvstui.backend.conns import header_line

    out = sys.stdout
    out.write("IPVS connection entries\n" + header_line() + "\n")
    rows = iter(rows)
    while chunk := list(islice(rows, 512)):  # one write per 512 rows
        out.write("\n".join(chunk) + "\n")
    out.flush()


def _print_json(entries: Iterable[Conn], index: ServiceIndex, sync: bool) -> None:
    import json

    out = sys.stdout
    out.write("[")
    first = True
    for c in entries:
        obj: dict[str, object] = {
            "protocol": c.protocol, "expires": c.expires, "state": c.state, "source": c.source,
            "virtual": c.virtual_endpoint, "destination": c.destination, "template": c.template,
            "service": index.resolve(c), "family": c.family,
        }
        if c.pe_name:
            obj["pe_name"], obj["pe_data"] = c.pe_name, c.pe_data
        if sync:
            obj["origin"] = c.origin
        out.write(("\n" if first else ",\n") + json.dumps(obj))
        first = False
    out.write("\n]\n" if not first else "]\n")
    out.flush()
