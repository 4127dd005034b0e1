"""Which User-Mode Linux the lab boots (lvstui/lab/kernel.py): the probe, its cached verdict,
the order of the candidates, the one-line message when none boots, and the modules.

The failing kernels here are stand-ins that behave as Debian 12's 6.1 does on a CPU with
AMX (it prints the panic and dies before init): this project's machines change CPU between
sessions, so the real failure cannot be relied on to be present. The working kernels are the
real ones this machine has (the distribution's and those scripts/setup.sh fetched).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lvstui.cli import main
from lvstui.lab import Lab, LabSpec, LabUnavailable, kernel
from lvstui.lab.kernel import candidates, choose, modules_to_load, probe

PANIC = """#!/bin/sh
echo "$*" >> {log}
if [ "$1" = --version ]; then echo 6.1.176; exit 0; fi
echo "userspace - ptrace set fp regs failed, errno = 14"
echo "Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b"
kill -ABRT $$
"""


def panicking_uml(tmp_path: Path) -> tuple[Path, Path]:
    log = tmp_path / "calls.log"
    binary = tmp_path / "linux.uml"
    binary.write_text(PANIC.format(log=log))
    binary.chmod(0o755)
    return binary, log


def booting_kernels() -> list[tuple[str, str]]:
    """The real kernels on this machine that pass the probe (at least one: the lab needs it)."""
    found = [(b, s) for b, s in candidates() if s != "explicit" and probe(b).ok]
    assert found, "no User-Mode Linux boots on this machine: run scripts/setup.sh"
    return found


@pytest.fixture
def only(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No distribution kernel, an empty cache, no LVSTUI_UML: only what a test passes."""
    monkeypatch.setattr(kernel, "DISTRIBUTION_UML", str(tmp_path / "none" / "linux.uml"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("LVSTUI_UML", raising=False)
    return tmp_path


def test_a_kernel_that_panics_is_refused_in_one_line_naming_why_and_what_to_run(only: Path) -> None:
    binary, _ = panicking_uml(only)
    with pytest.raises(LabUnavailable) as info:
        choose(str(binary))
    message = str(info.value)
    assert "\n" not in message
    model, _ = kernel.cpu_features()
    assert f"{binary} (6.1.176)" in message
    assert "panics before its init runs on this CPU" in message and model in message
    assert "ptrace set fp regs failed" in message
    assert "run scripts/setup.sh" in message and "--uml PATH" in message
    assert "Traceback" not in message and "Kernel panic" not in message


def test_the_verdict_is_cached_per_binary_and_redone_when_it_changes(only: Path) -> None:
    binary, log = panicking_uml(only)
    for _ in range(3):
        assert not probe(str(binary)).ok
    boots = [line for line in log.read_text().splitlines() if line != "--version"]
    assert len(boots) == 1, "the probe booted the same binary more than once"
    binary.write_text(binary.read_text() + "\n# changed\n")  # another size and mtime: a new binary
    assert not probe(str(binary)).ok
    boots = [line for line in log.read_text().splitlines() if line != "--version"]
    assert len(boots) == 2
    assert "ro" in boots[0].split() and "rw" not in boots[0].split()  # the host's root read-only


def test_no_kernel_at_all_says_so(only: Path) -> None:
    with pytest.raises(LabUnavailable, match=r"^User-Mode Linux is not installed .*run scripts/setup.sh"):
        choose()
    with pytest.raises(LabUnavailable):
        Lab(LabSpec(), workdir=only / "logs").start()
    assert not (only / "logs").exists()


def test_a_missing_explicit_kernel_is_named(only: Path) -> None:
    with pytest.raises(LabUnavailable, match=r"nowhere/linux.uml: no such executable \(given with --uml"):
        choose(str(only / "nowhere" / "linux.uml"))


def test_a_failing_candidate_is_skipped_for_the_next_that_boots(monkeypatch: pytest.MonkeyPatch,
                                                                  tmp_path: Path) -> None:
    working = booting_kernels()[0]
    binary, _ = panicking_uml(tmp_path)
    monkeypatch.setenv("LVSTUI_UML", str(binary))
    chosen = choose()
    assert (chosen.binary, chosen.source) == working
    assert chosen.release and chosen.release[0].isdigit()


def test_order_explicit_distribution_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    cache = tmp_path / "cache" / "lvstui" / "uml"
    for version in ("6.12.1-1", "7.2um1", "7.10um1"):
        (cache / version).mkdir(parents=True)
        (cache / version / "linux.uml").write_text("")
    distro = tmp_path / "linux.uml"
    distro.write_text("")
    monkeypatch.setattr(kernel, "DISTRIBUTION_UML", str(distro))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("LVSTUI_UML", "/given/linux.uml")
    assert candidates() == [
        ("/given/linux.uml", "explicit"),
        (str(distro), "distribution"),
        (str(cache / "7.10um1" / "linux.uml"), "cache"),
        (str(cache / "7.2um1" / "linux.uml"), "cache"),
        (str(cache / "6.12.1-1" / "linux.uml"), "cache"),
    ]
    assert candidates("/flag/linux.uml")[0] == ("/flag/linux.uml", "explicit")


@pytest.mark.parametrize("index", range(2))
def test_each_kernel_that_boots_here_runs_ipvs_with_its_own_modules(index: int, tmp_path: Path) -> None:
    """Every kernel this machine boots (6.1 and, where setup fetched it, 7.x) loads exactly its
    modules (built-in ones are skipped) and has every IPVS scheduler."""
    kernels = booting_kernels()
    if index >= len(kernels):
        pytest.skip(f"this machine boots {len(kernels)} User-Mode Linux kernel(s)")
    binary, _ = kernels[index]
    chosen = choose(binary)
    assert chosen.modules is not None and Path(chosen.modules).name == chosen.release
    builtin = kernel._builtin_names(Path(chosen.modules))
    load = modules_to_load(chosen, ())
    assert not set(load) & builtin
    with Lab(LabSpec(), workdir=tmp_path, uml=binary) as lab:
        assert lab.kernel == chosen
        assert lab.sh(None, "uname -r").check().stdout.strip() == chosen.release
        for scheduler in ("rr", "wrr", "lc", "wlc", "sh", "dh", "mh", "sed", "nq"):
            lab.sh(None, f"ipvsadm -A -t 10.9.0.1:80 -s {scheduler} && ipvsadm -D -t 10.9.0.1:80").check()
        lab.sh(None, "ipvsadm -A --sctp-service 10.9.0.1:80 -s rr && ipvsadm -C").check()
        lab.sh(None, "test -e /proc/net/if_inet6").check()  # ipv6, built in or loaded
        assert lab.run(None, ["touch", "/lab/lower/lvstui-must-not-exist"]).rc != 0


def test_lvstui_lab_with_no_kernel_that_boots_prints_one_line_and_fails(
        only: Path, capsys: pytest.CaptureFixture[str]) -> None:
    binary, _ = panicking_uml(only)
    for argv in (["lab", "--check", "--uml", str(binary)], ["lab", "--uml", str(binary)]):
        assert main(argv) == 1
        out, err = capsys.readouterr()
        assert out == ""
        assert len(err.strip().splitlines()) == 1, err
        assert err.startswith("lvstui lab: no User-Mode Linux boots on this machine: ")
        assert "panics before its init runs" in err and "run scripts/setup.sh" in err
