"""Tiny test services for lab real servers, stdlib only (run inside a lab host).

``--http PORT``: answers every GET with the host's name and a newline, so a client can
tell which real server answered. ``--tcp PORT``: an echo server whose connections stay
open until the client closes them (for connection counters and persistence tests).
Both listen on every IPv4 and IPv6 address. ``--ready FILE`` is created once all listen.
"""

from __future__ import annotations

import argparse
import http.server
import socket
import socketserver
import sys
import threading


class _DualStackMixin:
    address_family = socket.AF_INET6
    allow_reuse_address = True
    daemon_threads = True

    def server_bind(self) -> None:
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)  # type: ignore[attr-defined]
        super().server_bind()  # type: ignore[misc]


class HTTPServer(_DualStackMixin, http.server.ThreadingHTTPServer):
    pass


class TCPServer(_DualStackMixin, socketserver.ThreadingTCPServer):
    pass


def http_handler(name: str) -> type[http.server.BaseHTTPRequestHandler]:
    body = f"{name}\n".encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Lab-Host", name)
            self.end_headers()
            self.wfile.write(body)

        def do_HEAD(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    return Handler


class EchoHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(65536):
            self.request.sendall(data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--name", required=True)
    parser.add_argument("--http", type=int)
    parser.add_argument("--tcp", type=int)
    parser.add_argument("--ready")
    args = parser.parse_args(argv)
    servers: list[socketserver.BaseServer] = []
    if args.http:
        servers.append(HTTPServer(("::", args.http), http_handler(args.name)))
    if args.tcp:
        servers.append(TCPServer(("::", args.tcp), EchoHandler))
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for t in threads:
        t.start()
    if args.ready:
        with open(args.ready, "w") as f:
            f.write("ready\n")
    for t in threads:
        t.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
