"""lvstui.lab.aptrepo writes the Packages index dpkg-scanpackages would write.

The .deb files are built here with dpkg-deb from control files that have what the lab's
packages have (an epoch, relationship fields, Multi-Arch, a long description with a ``.``
line); the index is compared with dpkg-scanpackages' output byte for byte, and where that
tool is missing, field by field with what ``dpkg-deb -f`` reads from each file.
"""

from __future__ import annotations

import gzip
import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

from lvstui.lab import aptrepo

CONTROLS = {
    "alpha": """Package: alpha
Source: alpha-src (1.0-1)
Version: 1:2.2.7-1+b2
Architecture: amd64
Maintainer: Lab <lab@example.org>
Installed-Size: 12
Depends: libc6 (>= 2.34), beta (= 0.9~rc1-3)
Recommends: ipvsadm
Suggests: heartbeat
Section: admin
Priority: optional
Multi-Arch: foreign
Homepage: https://example.org/alpha
Description: a test package
 Its long description.
 .
 A second paragraph.
""",
    "beta": """Package: beta
Version: 0.9~rc1-3
Architecture: all
Maintainer: Lab <lab@example.org>
Installed-Size: 1
Section: libs
Priority: optional
Description: another one
""",
}


def build(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    for name, control in CONTROLS.items():
        tree = tmp_path / name
        (tree / "DEBIAN").mkdir(parents=True)
        (tree / "DEBIAN" / "control").write_text(control)
        (tree / "usr" / "share" / name).mkdir(parents=True)
        (tree / "usr" / "share" / name / "README").write_text(f"{name}\n")
        version = dict(aptrepo.parse_fields(control))["Version"]
        arch = dict(aptrepo.parse_fields(control))["Architecture"]
        out = repo / f"{name}_{version.replace(':', '%3a')}_{arch}.deb"
        subprocess.run(["dpkg-deb", "-Zxz", "--root-owner-group", "--build", str(tree), str(out)], check=True,
                       capture_output=True)
    return repo


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    if shutil.which("dpkg-deb") is None:
        pytest.fail("dpkg-deb is needed (Debian's dpkg package)", pytrace=False)
    return build(tmp_path)


def test_index_is_what_dpkg_scanpackages_writes(repo: Path) -> None:
    ours = aptrepo.packages_index(repo)
    if shutil.which("dpkg-scanpackages"):
        theirs = subprocess.run(["dpkg-scanpackages", "."], cwd=repo, capture_output=True, text=True,
                                check=True).stdout
        assert ours == theirs
        return
    stanzas = ours.split("\n\n")
    for deb in sorted(repo.glob("*.deb")):  # else: every control field, and the file's own
        fields = dict(aptrepo.parse_fields(next(s for s in stanzas if f"Filename: ./{deb.name}\n" in s)))
        control = subprocess.run(["dpkg-deb", "-f", str(deb)], capture_output=True, text=True, check=True).stdout
        for name, value in aptrepo.parse_fields(control):
            assert fields[name] == value
        data = deb.read_bytes()
        assert fields["Size"] == str(len(data)) and fields["SHA256"] == hashlib.sha256(data).hexdigest()
        assert fields["MD5sum"] == hashlib.md5(data).hexdigest()


def test_control_read_in_python_is_dpkg_debs(repo: Path) -> None:
    for deb in repo.glob("*.deb"):
        control = subprocess.run(["dpkg-deb", "-f", str(deb)], capture_output=True, text=True, check=True).stdout
        assert aptrepo.control_text(deb) == control


def test_write_index_only_when_changed_and_release_hashes(repo: Path) -> None:
    assert aptrepo.write_index(repo) is True
    release = (repo / "Release").read_text()
    packages = (repo / "Packages").read_bytes()
    assert gzip.decompress((repo / "Packages.gz").read_bytes()) == packages
    assert f" {hashlib.sha256(packages).hexdigest()} {len(packages)} Packages\n" in release
    stamp = (repo / "Release").stat().st_mtime_ns
    assert aptrepo.write_index(repo) is False and (repo / "Release").stat().st_mtime_ns == stamp
    next(repo.glob("beta_*.deb")).unlink()
    assert aptrepo.write_index(repo) is True and "Package: beta" not in (repo / "Packages").read_text()


def test_not_a_deb_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad_1_all.deb"
    bad.write_bytes(b"not an archive")
    with pytest.raises(aptrepo.DebError, match=r"bad_1_all\.deb: not an ar archive"):
        aptrepo.stanza(bad)
    assert aptrepo.main([str(tmp_path)]) == 1
