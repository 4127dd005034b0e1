"""The web side of ``lvstui serve``: textual-serve's server on a socket bound beforehand.

Imported only by ``lvstui serve`` when it runs (textual-serve pulls in aiohttp and Rich).
Differences from textual-serve's own ``Server.serve``: the socket is bound before anything is
printed (a bad or busy address is one line, not a traceback after a banner); the banner and
per-connection logging are left out (lvstui prints one line); and the page's URLs follow the
address the browser used (the ``Host`` header), so a wall screen reaching ``0.0.0.0:PORT`` by the
director's name gets a websocket URL it can open.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import sys
from typing import Any

from aiohttp import web
from textual_serve.server import Server

__all__ = ["bind", "serve"]


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (OSError when the address is busy or not ours)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


class _Served(Server):
    def initialize_logging(self) -> None:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("lvstui serve: %(message)s"))
        log = logging.getLogger("textual-serve")
        log.handlers[:] = [handler]
        log.setLevel(logging.WARNING)
        log.propagate = False

    async def on_startup(self, app: web.Application) -> None:
        return None  # lvstui printed its one line already

    async def handle_index(self, request: web.Request) -> Any:
        # the page's static and websocket URLs are built from public_url: make it the address the
        # browser used (no await before the template reads it, so requests cannot interleave)
        self.public_url = f"{request.scheme}://{request.host}"
        return await super().handle_index(request)


def serve(sock: socket.socket, command: str) -> None:
    """Serve ``command`` (one process per browser) on ``sock`` until SIGINT or SIGTERM."""
    host, port = sock.getsockname()[:2]
    server = _Served(command, host=host, port=port, title="lvstui (read-only)")
    server.initialize_logging()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, server.request_exit)
    web.run_app(server._make_app(), sock=sock, handle_signals=False, loop=loop, print=None)
