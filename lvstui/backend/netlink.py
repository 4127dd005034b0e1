"""A small, fast generic-netlink client: just what reading and changing IPVS needs.

Why not pyroute2's socket here: lvstui polls every second, and on a
kube-proxy-sized table (10,000 services) the poll must cost no more than
``ipvsadm`` itself.  pyroute2 decodes every attribute of every message into
Python objects through its asyncio machinery, and importing it costs ~1.8 s in
the lab guest; this module is stdlib only, decodes attributes straight from
the receive buffer, and needs three system calls per real-server dump.
pyroute2's own IPVS message definitions are used by the tests as the
reference decoder for the same bytes.
"""

from __future__ import annotations

import errno
import os
import socket
import struct
from collections.abc import Iterator
from typing import Self

NETLINK_GENERIC = 16
GENL_ID_CTRL = 0x10
CTRL_CMD_GETFAMILY = 3
CTRL_ATTR_FAMILY_ID = 1
CTRL_ATTR_FAMILY_NAME = 2

NLM_F_REQUEST = 0x01
NLM_F_MULTI = 0x02
NLM_F_ACK = 0x04
NLM_F_ROOT = 0x100
NLM_F_MATCH = 0x200
NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH
NLM_F_EXCL = 0x200
NLM_F_CREATE = 0x400

NLMSG_ERROR = 2
NLMSG_DONE = 3

NLA_F_NESTED = 0x8000
NLA_TYPE_MASK = 0x3FFF

_HDR = struct.Struct("=IHHII")  # nlmsghdr: len, type, flags, seq, pid
_GENL = struct.Struct("=BBH")  # genlmsghdr: cmd, version, reserved
_NLA = struct.Struct("=HH")
_I32 = struct.Struct("=i")

RECV_BUFSIZE = 1 << 16


class NetlinkError(OSError):
    """The kernel answered a request with an error (errno in ``.errno``)."""


def nla(attr_type: int, payload: bytes) -> bytes:
    """Encode one attribute, padded to 4 bytes."""
    length = 4 + len(payload)
    return _NLA.pack(length, attr_type) + payload + b"\0" * (-length % 4)


def nla_nested(attr_type: int, *children: bytes) -> bytes:
    return nla(attr_type | NLA_F_NESTED, b"".join(children))


def nla_u8(attr_type: int, value: int) -> bytes:
    return nla(attr_type, struct.pack("=B", value))


def nla_u16(attr_type: int, value: int) -> bytes:
    return nla(attr_type, struct.pack("=H", value))


def nla_be16(attr_type: int, value: int) -> bytes:
    return nla(attr_type, struct.pack("!H", value))


def nla_u32(attr_type: int, value: int) -> bytes:
    return nla(attr_type, struct.pack("=I", value))


def nla_str(attr_type: int, value: str) -> bytes:
    return nla(attr_type, value.encode() + b"\0")


def iter_attrs(buf: bytes | bytearray | memoryview, start: int, end: int) -> Iterator[tuple[int, int, int]]:
    """Yield (type, payload offset, payload length) for the attributes in buf[start:end]."""
    unpack = _NLA.unpack_from
    off = start
    while off + 4 <= end:
        length, attr_type = unpack(buf, off)
        if length < 4:
            break
        yield attr_type & NLA_TYPE_MASK, off + 4, length - 4
        off += (length + 3) & ~3


def attr_table(buf: bytes | bytearray | memoryview, start: int, end: int) -> dict[int, tuple[int, int]]:
    """Map attribute type -> (payload offset, payload length) for buf[start:end]."""
    unpack = _NLA.unpack_from
    table: dict[int, tuple[int, int]] = {}
    off = start
    while off + 4 <= end:
        length, attr_type = unpack(buf, off)
        if length < 4:
            break
        table[attr_type & NLA_TYPE_MASK] = (off + 4, length - 4)
        off += (length + 3) & ~3
    return table


class GenlSocket:
    """A blocking generic-netlink socket bound to one family."""

    def __init__(self, family_name: str) -> None:
        self._sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
        try:
            self._sock.bind((0, 0))
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            self._seq = 0
            self._buf = bytearray(RECV_BUFSIZE)
            self._view = memoryview(self._buf)
            self.family_name = family_name
            self.family_id = self._resolve(family_name)
        except BaseException:
            self._sock.close()
            raise

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _resolve(self, name: str) -> int:
        attrs = nla_str(CTRL_ATTR_FAMILY_NAME, name)
        for buf, off, end in self._request(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1, attrs, NLM_F_REQUEST):
            table = attr_table(buf, off, end)
            if CTRL_ATTR_FAMILY_ID in table:
                o, _ = table[CTRL_ATTR_FAMILY_ID]
                return int(struct.unpack_from("=H", buf, o)[0])
        raise NetlinkError(errno.ENOENT, f"generic netlink family {name} not found")

    def request(self, cmd: int, version: int, attrs: bytes = b"", flags: int = NLM_F_REQUEST) -> Iterator[
            tuple[bytearray, int, int]]:
        """Send one request and yield (buffer, attrs offset, attrs end) per reply message.

        The buffer is reused between messages: decode each before the next.
        """
        return self._request(self.family_id, cmd, version, attrs, flags)

    def dump(self, cmd: int, version: int, attrs: bytes = b"") -> Iterator[tuple[bytearray, int, int]]:
        return self._request(self.family_id, cmd, version, attrs, NLM_F_REQUEST | NLM_F_DUMP)

    def execute(self, cmd: int, version: int, attrs: bytes = b"", flags: int = 0) -> None:
        """Send a change and wait for the kernel's acknowledgement; raise NetlinkError on refusal."""
        for _ in self._request(self.family_id, cmd, version, attrs, NLM_F_REQUEST | NLM_F_ACK | flags):
            pass

    def _request(self, family: int, cmd: int, version: int, attrs: bytes,
                 flags: int) -> Iterator[tuple[bytearray, int, int]]:
        self._seq += 1
        seq = self._seq
        body = _GENL.pack(cmd, version, 0) + attrs
        self._sock.send(_HDR.pack(16 + len(body), family, flags, seq, 0) + body)
        dump = bool(flags & NLM_F_DUMP)
        ack = bool(flags & NLM_F_ACK)
        buf = self._buf
        view = self._view
        recv_into = self._sock.recv_into
        unpack = _HDR.unpack_from
        while True:
            n = recv_into(view)
            off = 0
            while off + 16 <= n:
                length, msg_type, msg_flags, msg_seq, _pid = unpack(buf, off)
                if length < 16 or off + length > n:
                    raise NetlinkError(errno.EBADMSG, "truncated netlink message")
                if msg_seq != seq:
                    off += (length + 3) & ~3
                    continue
                if msg_type == NLMSG_DONE:
                    return
                if msg_type == NLMSG_ERROR:
                    code = -_I32.unpack_from(buf, off + 16)[0]
                    if code:
                        raise NetlinkError(code, os.strerror(code))
                    return  # an ACK
                yield buf, off + 20, off + length
                off += (length + 3) & ~3
                if not dump and not ack and not (msg_flags & NLM_F_MULTI):
                    return
