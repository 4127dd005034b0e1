"""Runs INSIDE the lab's client namespace: traffic that leaves IPVS entries in many states.

Argument: a JSON object {"vip": ..., "vip6": ...}.  Writes READY once every kind of entry
has been made, then holds the established connections until RELEASE exists (or 300 s).

* TCP ESTABLISHED: held connections to the echo service on 9000 (IPv4 and IPv6);
* TCP FIN_WAIT: connections closed normally (in DR the director sees the client's FIN only);
* TCP CLOSE: connections closed with a reset (SO_LINGER 0), and raw SYN, ACK, RST kept alive;
* TCP SYN_RECV and TIME_WAIT: raw SYN (and SYN then FIN) to 9100, whose real server does not
  exist, so nothing answers and the entry keeps the state the client's packets gave it;
* TCP persistence templates: HTTP on 80 (persistent, netmask /24 and /64);
* UDP: datagrams to 5353 (v4 and v6), 5454 (persistent), 6000 (marked 7 and 8 on the
  director: fwmark services, persistent, with a netmask);
* SCTP: a raw INIT chunk to 3868 (no SCTP stack needed in the client), repeated.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import sys
import time

RELEASE = "/tmp/conns-release"
READY = "/tmp/conns-ready"


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def tcp_segment(src: str, dst: str, sport: int, dport: int, flags: int, seq: int) -> bytes:
    header = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, flags, 65535, 0, 0)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(header))
    csum = checksum(pseudo + header)
    return header[:16] + struct.pack("!H", csum) + header[18:]


def sctp_init(sport: int, dport: int) -> bytes:
    chunk = struct.pack("!BBHIIHHI", 1, 0, 20, 0x1234567, 65536, 1, 1, 42)
    return struct.pack("!HHII", sport, dport, 0, 0) + chunk


def main() -> int:
    cfg = json.loads(sys.argv[1])
    vip, vip6 = cfg["vip"], cfg["vip6"]
    me = cfg["client"]
    held = []
    for family, addr in ((socket.AF_INET, vip), (socket.AF_INET6, vip6)):
        for _ in range(3):
            s = socket.socket(family, socket.SOCK_STREAM)
            s.settimeout(5)
            s.connect((addr, 9000))
            s.sendall(b"hold\n")
            s.recv(100)
            held.append(s)
        for _ in range(2):  # FIN_WAIT
            with socket.create_connection((addr, 9000), timeout=5) as s:
                s.sendall(b"bye\n")
                s.recv(100)
        for _ in range(2):  # HTTP through the persistent service: a template + FIN_WAIT
            with socket.create_connection((addr, 80), timeout=5) as s:
                s.sendall(b"GET / HTTP/1.0\r\n\r\n")
                while s.recv(65536):
                    pass
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
    for port in (40001, 40002, 40003):  # SYN_RECV
        raw.sendto(tcp_segment(me, vip, port, 9100, 0x02, 1000), (vip, 0))
    for port in (40011, 40012):  # SYN then FIN: TIME_WAIT in IPVS's input-only table
        raw.sendto(tcp_segment(me, vip, port, 9100, 0x02, 2000), (vip, 0))
        raw.sendto(tcp_segment(me, vip, port, 9100, 0x01, 2001), (vip, 0))
    for port in (40021, 40022):  # SYN, ACK, RST: CLOSE
        raw.sendto(tcp_segment(me, vip, port, 9100, 0x02, 3000), (vip, 0))
        raw.sendto(tcp_segment(me, vip, port, 9100, 0x10, 3001), (vip, 0))
        raw.sendto(tcp_segment(me, vip, port, 9100, 0x04, 3001), (vip, 0))
    sctp = socket.socket(socket.AF_INET, socket.SOCK_RAW, 132)

    def refresh() -> None:
        """Short timers (SCTP INIT1: a few s, CLOSE: 10 s) restart with each packet in that state."""
        for port in (41001, 41002):
            sctp.sendto(sctp_init(port, 3868), (vip, 0))
        for port in (40021, 40022):
            raw.sendto(tcp_segment(me, vip, port, 9100, 0x04, 3001), (vip, 0))

    refresh()
    for family, addr, ports in ((socket.AF_INET, vip, (5353, 5454, 6000)), (socket.AF_INET6, vip6, (5353, 6000))):
        for _ in range(2):
            with socket.socket(family, socket.SOCK_DGRAM) as u:
                for port in ports:
                    u.sendto(b"x", (addr, port))
    # CLOSE last: its timer is the shortest (10 s)
    for family, addr in ((socket.AF_INET, vip), (socket.AF_INET6, vip6)):
        s = socket.socket(family, socket.SOCK_STREAM)
        s.settimeout(5)
        s.connect((addr, 9000))
        s.sendall(b"rst\n")
        s.recv(100)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
    with open(READY, "w") as f:
        f.write("ready\n")
    deadline = time.time() + 300
    while time.time() < deadline and not os.path.exists(RELEASE):
        refresh()
        time.sleep(0.5)
    for s in held:
        s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
