"""Decode netlink attribute sets with one ``struct`` call per message.

The kernel fills every real-server (or service) message of one table with the
same attributes in the same order, so the byte layout repeats.  The first
message of a layout is walked attribute by attribute to *compile* a
``struct.Struct`` that unpacks the whole message at once, together with the
positions of every attribute header it assumed.  Each later message is
unpacked with it and accepted only if its size and every header (length and
type) are exactly the ones compiled; anything else is decoded the slow way and
gets a layout of its own.  A wrong guess therefore can never produce a wrong
value: it only costs the slow path.
"""

from __future__ import annotations

import struct
import sys
from collections.abc import Callable, Mapping
from operator import itemgetter
from typing import Any

from lvstui.backend.netlink import NLA_TYPE_MASK

_HDR = struct.Struct("=HH")

# payload kinds -> struct code for their exact (4-byte padded) size
_CODES = {"u8": ("B", 1), "u16": ("H", 2), "be16": ("H", 2), "u32": ("I", 4), "i32": ("i", 4), "u64": ("Q", 8),
          "flags": ("Q", 8)}


def _swap16(v: int) -> int:
    return ((v & 0xFF) << 8) | (v >> 8)


def _same16(v: int) -> int:
    return v


# a big-endian (network order) u16 read as a native one
be16_fix = _swap16 if sys.byteorder == "little" else _same16


class Layout:
    __slots__ = ("check", "expected", "fields", "size", "stats", "struct")

    def __init__(self, size: int, fmt: str, header_idx: list[int], expected: tuple[int, ...],
                 fields: dict[int, tuple[str, int]], stats: list[int] | None) -> None:
        self.size = size
        self.struct = struct.Struct(fmt)
        # every message has at least one attribute, so at least two header values: itemgetter returns a tuple
        self.check: Callable[[tuple[Any, ...]], Any] = itemgetter(*header_idx)
        self.expected = expected
        self.fields = fields  # attr type -> (kind, index)
        self.stats = stats  # indexes of the 10 stats64 values, or None


def compile_layout(buf: Any, start: int, end: int, schema: Mapping[int, str], nest_types: frozenset[int]
                   ) -> Layout | None:
    """Compile the layout of buf[start:end].  None when something in it is not fixed-size."""
    fmt = ["="]
    index = 0
    header_idx: list[int] = []
    expected: list[int] = []
    fields: dict[int, tuple[str, int]] = {}
    stats: list[int] | None = None
    off = start
    while off + 4 <= end:
        length, raw_type = _HDR.unpack_from(buf, off)
        if length < 4:
            return None
        attr_type = raw_type & NLA_TYPE_MASK
        padded = (length + 3) & ~3
        payload = length - 4
        fmt.append("HH")
        header_idx += [index, index + 1]
        expected += [length, raw_type]
        index += 2
        kind = schema.get(attr_type)
        if attr_type in nest_types:
            # nested stats: u64 values 1..10 expected, anything else (PAD) as header only
            values: dict[int, int] = {}
            inner = off + 4
            inner_end = off + length
            while inner + 4 <= inner_end:
                ilen, itype = _HDR.unpack_from(buf, inner)
                if ilen < 4:
                    return None
                fmt.append("HH")
                header_idx += [index, index + 1]
                expected += [ilen, itype]
                index += 2
                ipayload = ilen - 4
                ipadded = (ilen + 3) & ~3
                if 1 <= (itype & NLA_TYPE_MASK) <= 10 and ipayload == 8:
                    fmt.append("Q")
                    values[itype & NLA_TYPE_MASK] = index
                    index += 1
                elif ipadded - 4:
                    fmt.append(f"{ipadded - 4}x")
                inner += ipadded
            if inner != inner_end + (-length % 4) and inner != inner_end:
                return None
            if kind == "stats64":
                if sorted(values) != list(range(1, 11)):
                    return None
                stats = [values[i] for i in range(1, 11)]
            off += padded
            continue
        if kind in _CODES:
            code, size = _CODES[kind]
            if kind == "flags":
                code, size = "II", 8
            if payload != size:
                return None
            fmt.append(code)
            fields[attr_type] = (kind, index)
            index += 2 if kind == "flags" else 1
            if padded - 4 - size:
                fmt.append(f"{padded - 4 - size}x")
        elif kind in ("addr", "str", "raw"):
            fmt.append(f"{payload}s")
            fields[attr_type] = (kind, index)
            index += 1
            if padded - 4 - payload:
                fmt.append(f"{padded - 4 - payload}x")
        else:
            if padded - 4:
                fmt.append(f"{padded - 4}x")
        off += padded
    if (off != end and off != ((end + 3) & ~3)) or not header_idx:
        return None
    layout = Layout(end - start, "".join(fmt), header_idx, tuple(expected), fields, stats)
    if layout.struct.size != end - start:
        return None
    return layout


class LayoutDecoder:
    """Unpacks messages of a few recurring layouts; returns None where a message needs the slow path."""

    def __init__(self, schema: Mapping[int, str], nest_types: frozenset[int], max_layouts: int = 16) -> None:
        self.schema = schema
        self.nest_types = nest_types
        self.layouts: list[Layout] = []
        self.max_layouts = max_layouts

    def decode(self, buf: Any, start: int, end: int) -> tuple[Layout, tuple[Any, ...]] | None:
        size = end - start
        for layout in self.layouts:
            if layout.size == size:
                values = layout.struct.unpack_from(buf, start)
                if layout.check(values) == layout.expected:
                    return layout, values
        if len(self.layouts) >= self.max_layouts:
            return None
        compiled = compile_layout(buf, start, end, self.schema, self.nest_types)
        if compiled is None:
            return None
        layout = compiled
        values = layout.struct.unpack_from(buf, start)
        if layout.check(values) != layout.expected:
            return None
        self.layouts.insert(0, layout)
        return layout, values


def value(layout: Layout, values: tuple[Any, ...], attr_type: int, default: Any = None) -> Any:
    """One attribute's value from an unpacked message (be16 swapped, flags as the flags word)."""
    spec = layout.fields.get(attr_type)
    if spec is None:
        return default
    kind, idx = spec
    v = values[idx]
    if kind == "be16":
        return be16_fix(v)
    return v
