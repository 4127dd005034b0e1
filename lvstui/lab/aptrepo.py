"""A flat apt repository from a directory of .deb files: its ``Packages`` index (and
``Packages.gz``, ``Release``), written in Python.

Each stanza is what ``dpkg-scanpackages DIR`` writes: the package's control fields, with
``Filename``, ``Size``, ``MD5sum``, ``SHA1`` and ``SHA256`` after the relationship fields,
stanzas sorted by package name.  A host reads it with
``deb [trusted=yes] http://ADDRESS:PORT/ ./`` (lvstui/lab/mirror.py serves it in the lab).

``python -m lvstui.lab.aptrepo DIR`` (scripts/mirror.sh) writes the index into DIR, and
only when its content changed.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import lzma
import sys
import tarfile
import time
from email.utils import formatdate
from pathlib import Path

# The fields dpkg-scanpackages writes before the file's own (Dpkg::Control's order for a
# binary package index); every other control field comes after them.
_BEFORE_FILE = frozenset({
    "package", "package-type", "source", "version", "built-using", "kernel-version",
    "built-for-profiles", "auto-built-package", "architecture", "subarchitecture",
    "installer-menu-item", "essential", "origin", "bugs", "maintainer", "installed-size",
    "protected", "build-essential", "pre-depends", "depends", "recommends", "suggests",
    "enhances", "conflicts", "breaks", "replaces", "provides", "build-ids",
})


class DebError(Exception):
    """A file that is not a .deb this module can read: one line naming it."""


def _ar_members(data: bytes, path: Path) -> dict[str, bytes]:
    if not data.startswith(b"!<arch>\n"):
        raise DebError(f"{path}: not an ar archive (not a .deb)")
    members: dict[str, bytes] = {}
    pos = 8
    while pos + 60 <= len(data):
        header = data[pos:pos + 60]
        name = header[:16].decode("ascii", "replace").strip().rstrip("/")
        try:
            size = int(header[48:58].decode("ascii").strip())
        except ValueError:
            raise DebError(f"{path}: bad ar member header at byte {pos}") from None
        members[name] = data[pos + 60:pos + 60 + size]
        pos += 60 + size + (size & 1)
    return members


def control_text(path: Path) -> str:
    """The package's ``control`` file (what ``dpkg-deb -f`` prints)."""
    members = _ar_members(path.read_bytes(), path)
    for name, unpack in (("control.tar.xz", lzma.decompress), ("control.tar.gz", gzip.decompress),
                         ("control.tar", lambda b: b)):
        if name in members:
            raw = unpack(members[name])
            break
    else:
        raise DebError(f"{path}: no control.tar.xz/.gz/.tar member (found {', '.join(members) or 'none'})")
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        for member in tar.getmembers():
            if member.name in ("./control", "control") and member.isfile():
                handle = tar.extractfile(member)
                assert handle is not None
                return handle.read().decode("utf-8")
    raise DebError(f"{path}: its control archive has no control file")


def parse_fields(text: str) -> list[tuple[str, str]]:
    """A deb822 stanza as (field, value) pairs in order; continuation lines kept in the value."""
    fields: list[tuple[str, str]] = []
    for line in text.rstrip("\n").split("\n"):
        if line.startswith((" ", "\t")) and fields:
            name, value = fields[-1]
            fields[-1] = (name, f"{value}\n{line}")
        elif ":" in line:
            name, _, value = line.partition(":")
            fields.append((name, value.strip()))
    return fields


def stanza(path: Path, prefix: str = ".") -> str:
    """The Packages stanza of one .deb, its Filename relative to the repository's root."""
    data = path.read_bytes()
    control = parse_fields(control_text(path))
    file_fields = [
        ("Filename", f"{prefix}/{path.name}"),
        ("Size", str(len(data))),
        ("MD5sum", hashlib.md5(data).hexdigest()),
        ("SHA1", hashlib.sha1(data).hexdigest()),
        ("SHA256", hashlib.sha256(data).hexdigest()),
    ]
    at = 0
    for n, (name, _) in enumerate(control):
        if name.lower() in _BEFORE_FILE:
            at = n + 1
    fields = [*control[:at], *file_fields, *control[at:]]
    return "".join(f"{name}: {value}\n" for name, value in fields)


def packages_index(directory: Path) -> str:
    """The ``Packages`` text for every ``*.deb`` in *directory*, sorted by package name."""
    stanzas = []
    for path in directory.glob("*.deb"):
        text = stanza(path)
        name = parse_fields(text)[0][1]
        stanzas.append((name, text))
    return "".join(text + "\n" for _, text in sorted(stanzas))


def release_text(files: dict[str, bytes], date: float | None = None) -> str:
    lines = [f"Date: {formatdate(date if date is not None else time.time(), usegmt=True)}", "MD5Sum:"]
    lines += [f" {hashlib.md5(d).hexdigest()} {len(d)} {n}" for n, d in files.items()]
    lines.append("SHA256:")
    lines += [f" {hashlib.sha256(d).hexdigest()} {len(d)} {n}" for n, d in files.items()]
    return "\n".join(lines) + "\n"


def write_index(directory: Path) -> bool:
    """Writes Packages, Packages.gz and Release into *directory*; False if they were current."""
    text = packages_index(directory).encode()
    current = directory / "Packages"
    if current.is_file() and current.read_bytes() == text and (directory / "Release").is_file():
        return False
    packed = gzip.compress(text, mtime=0)
    for name, data in (("Packages", text), ("Packages.gz", packed)):
        tmp = directory / f".{name}.tmp"
        tmp.write_bytes(data)
        tmp.replace(directory / name)
    tmp = directory / ".Release.tmp"
    tmp.write_text(release_text({"Packages": text, "Packages.gz": packed}))
    tmp.replace(directory / "Release")
    return True


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m lvstui.lab.aptrepo DIR", file=sys.stderr)
        return 2
    directory = Path(argv[0])
    try:
        changed = write_index(directory)
    except (DebError, OSError) as exc:
        print(f"aptrepo: {exc}", file=sys.stderr)
        return 1
    count = len(list(directory.glob("*.deb")))
    print(f"setup: mirror {'indexed' if changed else 'current'}: {count} packages in {directory}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
