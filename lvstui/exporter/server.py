"""The HTTP side: ``/metrics`` serves the text the poll thread last rendered.

A scrape costs a copy of those bytes plus ``prometheus_client``'s process metrics
(``process_resident_memory_bytes``, CPU seconds, open files): no kernel read, no
rendering of the table.  The server runs in its own threads (``ThreadingHTTPServer``).
"""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import CollectorRegistry

from lvstui import listen
from lvstui.backend import SnapshotSource
from lvstui.exporter import DEFAULT_ADDRESS, DEFAULT_PORT
from lvstui.exporter.poll import PollLoop, PollState
from lvstui.exporter.render import render_chunks

__all__ = ["Exporter", "parse_listen"]

INDEX = b"<html><body><h1>lvstui exporter</h1><p><a href=\"/metrics\">/metrics</a></p></body></html>\n"


def parse_listen(text: str) -> tuple[str, int]:
    """``ADDRESS:PORT``, ``[IPV6]:PORT``, ``:PORT`` or ``ADDRESS`` (default port 10560); ValueError."""
    return listen.parse_listen(text, DEFAULT_PORT, DEFAULT_ADDRESS)


class _Cache:
    """The latest rendered text, replaced whole by the poll thread (one reference: a scrape
    writes the tuple it took, whole, while the next one is being rendered)."""

    def __init__(self) -> None:
        self.body: tuple[bytes, ...] = ()

    def update(self, state: PollState) -> None:
        self.body = tuple(render_chunks(state))


class _Handler(BaseHTTPRequestHandler):
    exporter: ClassVar[Exporter]

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            parts = self.exporter.scrape()
            ctype = CONTENT_TYPE_PLAIN_0_0_4  # what generate_latest writes (classic names, no escaping)
        elif path == "/":
            parts, ctype = (INDEX,), "text/html; charset=utf-8"
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(sum(len(p) for p in parts)))
        self.end_headers()
        for part in parts:  # no copy of the whole text per scrape
            self.wfile.write(part)

    def log_message(self, format: str, *args: object) -> None:
        pass


class Exporter:
    """One poll loop, its rendered text, and the HTTP server that hands it out."""

    def __init__(self, source: SnapshotSource, interval: float = 5.0,
                 listen: tuple[str, int] = (DEFAULT_ADDRESS, DEFAULT_PORT)) -> None:
        self.cache = _Cache()
        self.loop = PollLoop(source, interval, on_poll=self.cache.update)
        self.listen = listen
        self.scrapes = 0
        self._process = CollectorRegistry(auto_describe=False)
        ProcessCollector(registry=self._process)
        self._httpd: ThreadingHTTPServer | None = None

    def scrape(self) -> tuple[bytes, ...]:
        """The latest poll's text, then the process metrics (measured now)."""
        self.scrapes += 1
        return (*self.cache.body, generate_latest(self._process))  # never renders: the poll thread does

    def start(self) -> Exporter:
        """Bind (OSError if it cannot), poll and render once, then poll and serve in background threads."""
        host, port = self.listen
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        server_class = type("_Server", (ThreadingHTTPServer,), {"address_family": family, "daemon_threads": True})
        handler = type("_BoundHandler", (_Handler,), {"exporter": self})
        self._httpd = server_class((host, port), handler)
        self.listen = (host, int(self._httpd.server_address[1]))
        self.loop.poll_once()
        self.loop.start(wait_first=True)
        threading.Thread(target=self._httpd.serve_forever, name="lvstui-exporter-http", daemon=True).start()
        return self

    def close(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        self.loop.stop()
