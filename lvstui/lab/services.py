"""Tiny test services for lab real servers (stdlib, few imports: Python starts slowly in UML).

Usage: ``services.py NAME [--http PORT] [--tcp PORT] [--ready FILE]``

``--http PORT``: answers every request with the host's name and a newline (header
``X-Lab-Host`` too), so a client can tell which real server answered.
``--tcp PORT``: an echo server whose connections stay open until the client closes them.
Both listen on every IPv4 and IPv6 address. ``--ready FILE`` is created once both listen.
"""

from __future__ import annotations

import socket
import sys
import threading
from collections.abc import Callable

Handler = Callable[[socket.socket], None]


def listen(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    sock.bind(("::", port))
    sock.listen(128)
    return sock


def serve(sock: socket.socket, handler: Handler) -> None:
    while True:
        conn, _ = sock.accept()
        threading.Thread(target=handler, args=(conn,), daemon=True).start()


def http_handler(name: str) -> Handler:
    body = f"{name}\n".encode()
    head = (
        "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n"
        f"Content-Length: {len(body)}\r\nX-Lab-Host: {name}\r\nConnection: close\r\n\r\n"
    ).encode()

    def handle(conn: socket.socket) -> None:
        with conn:
            conn.settimeout(10)
            request = b""
            try:
                while b"\r\n\r\n" not in request and len(request) < 65536:
                    chunk = conn.recv(4096)
                    if not chunk:
                        return
                    request += chunk
                conn.sendall(head if request.startswith(b"HEAD ") else head + body)
            except OSError:
                pass

    return handle


def echo(conn: socket.socket) -> None:
    with conn:
        try:
            while data := conn.recv(65536):
                conn.sendall(data)
        except OSError:
            pass


def main(argv: list[str]) -> int:
    if not argv or argv[0].startswith("-"):
        print(__doc__, file=sys.stderr)
        return 2
    name, opts = argv[0], dict(zip(argv[1::2], argv[2::2], strict=False))
    threads = []
    if "--http" in opts:
        threads.append(threading.Thread(target=serve, args=(listen(int(opts["--http"])), http_handler(name))))
    if "--tcp" in opts:
        threads.append(threading.Thread(target=serve, args=(listen(int(opts["--tcp"])), echo)))
    for t in threads:
        t.daemon = True
        t.start()
    if "--ready" in opts:
        with open(opts["--ready"], "w") as f:
            f.write("ready\n")
    for t in threads:
        t.join()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
