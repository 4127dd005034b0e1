"""Which User-Mode Linux kernel the lab boots: the first candidate that passes a probe boot.

Candidates, in order: one given explicitly (``lvstui lab --uml PATH`` or ``LVSTUI_UML``), the
distribution's ``linux.uml``, then those ``scripts/fetch-uml.sh`` unpacked into lvstui's cache
(newest first).  A probe boots the binary for about a second with an init that prints the
kernel's release and runs the lab's Python, then powers off; the verdict is cached per binary
(path, size, mtime) and CPU (model and feature flags), so the probe runs once per machine.

Some kernels do not boot on some CPUs: Debian 12's 6.1 and 13's 6.12 panic before init on
hosts whose XSAVE state is larger than they expect (``ptrace set fp regs failed``; seen with
AVX-512 and AMX), Debian unstable's 7.2 boots there.  The module directory that belongs to the
chosen kernel is found beside it; what a kernel builds in is never loaded, what is a module is
(``modules_to_load``).

``python -m lvstui.lab.kernel [--uml PATH] [--quiet]`` prints the choice (exit 0) or why none
boots (exit 1): scripts/setup.sh uses it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from lvstui.cachedir import cache_dir
from lvstui.lab.results import LabUnavailable
from lvstui.lab.userland import tool_path

DISTRIBUTION_UML = "/usr/bin/linux.uml"
PROBE_MARK = "LVSTUI-PROBE"
PROBE_TIMEOUT = 30.0
# The guest's modules the lab needs, beyond every IPVS module (scheduler, protocol, PE).
BASE_MODULES = ("overlay", "ipv6", "sctp", "nf_conntrack", "veth", "bridge", "dummy")
FETCH_HINT = "run scripts/setup.sh (it fetches one that boots here into {cache}) or pass --uml PATH"


@dataclass(frozen=True, slots=True)
class Kernel:
    """A User-Mode Linux kernel that booted on this machine."""

    binary: str
    release: str  # uname -r in the guest
    source: str  # "explicit", "distribution" or "cache"
    modules: str | None  # its module directory (lib/modules/<release>), None if it has none

    def describe(self) -> str:
        return f"User-Mode Linux {self.release} ({self.binary}, {self.source})"


@dataclass(frozen=True, slots=True)
class Probe:
    """What a probe boot of one binary showed."""

    ok: bool
    release: str  # from the probe, or from `linux.uml --version` when it did not boot
    reason: str  # empty when ok


def cpu_features() -> tuple[str, str]:
    """(model name, the feature flags that matter to UML's FPU state: avx512f, amx_tile)."""
    model, flags = "unknown CPU", set[str]()
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return model, ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and model == "unknown CPU":
            model = value.strip()
        elif key == "flags" and not flags:
            flags = set(value.split())
    notable = " ".join(f for f in ("avx512f", "amx_tile") if f in flags)
    return model, notable


def _cpu_key() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        text = ""
    first = text.split("\n\n", 1)[0]
    lines = [line for line in first.splitlines() if line.split(":")[0].strip() in ("model name", "flags")]
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


def _binary_key(binary: str) -> str:
    st = os.stat(binary)
    return f"{os.path.realpath(binary)}|{st.st_size}|{st.st_mtime_ns}|{_cpu_key()}"


def _verdicts_path() -> Path:
    return cache_dir() / "uml-probe.json"


def _load_verdicts() -> dict[str, dict[str, object]]:
    try:
        data = json.loads(_verdicts_path().read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _save_verdict(key: str, probe: Probe) -> None:
    verdicts = _load_verdicts()
    verdicts[key] = asdict(probe)
    path = _verdicts_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".uml-probe-")
        with os.fdopen(fd, "w") as f:
            json.dump(verdicts, f, indent=1, sort_keys=True)
        os.replace(tmp, path)
    except OSError:
        pass  # an unwritable cache only means probing again next time


def binary_version(binary: str) -> str:
    """The kernel version ``linux.uml --version`` prints (without booting), or "?"."""
    try:
        done = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    words = done.stdout.split()
    return words[0] if done.returncode == 0 and words else "?"


_PROBE_INIT = """#!/bin/sh
echo "{mark} release $(uname -r)"
{python} -I -S -c 'print("{mark} python")'
poweroff -f
"""


def probe(binary: str, *, python: str | None = None, use_cache: bool = True) -> Probe:
    """Boots ``binary`` once with a probe init (about a second); cached per binary and CPU."""
    key = _binary_key(binary)
    if use_cache:
        cached = _load_verdicts().get(key)
        if cached is not None:
            try:
                return Probe(bool(cached["ok"]), str(cached["release"]), str(cached["reason"]))
            except KeyError:
                pass
    result = _probe_boot(binary, python or os.path.realpath(sys.executable))
    _save_verdict(key, result)
    return result


def _probe_boot(binary: str, python: str) -> Probe:
    with tempfile.TemporaryDirectory(prefix="lvstui-probe-") as tmp:
        init = Path(tmp) / "init.sh"
        init.write_text(_PROBE_INIT.format(mark=PROBE_MARK, python=python))
        init.chmod(0o755)
        (Path(tmp) / "uml").mkdir()
        argv = [binary, "mem=256M", "root=/dev/root", "rootfstype=hostfs", "rootflags=/", "ro",
                f"init={init}", "con=null", "con0=fd:0,fd:1", "quiet", f"umid=probe-{os.getpid()}",
                f"uml_dir={tmp}/uml"]
        env = dict(os.environ, TMPDIR=tmp)
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, env=env, start_new_session=True)
        except OSError as exc:
            return Probe(False, binary_version(binary), f"cannot run it: {exc.strerror or exc}")
        rc: int | None
        try:
            raw, _ = proc.communicate(timeout=PROBE_TIMEOUT)
            rc = proc.returncode
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raw, _ = proc.communicate()
            rc = None
        finally:
            # UML's own processes are host processes in its session: none may outlive the probe.
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass
            proc.wait()
        output = raw.decode(errors="replace")
    release = re.search(rf"{PROBE_MARK} release (\S+)", output)
    if release and f"{PROBE_MARK} python" in output:
        return Probe(True, release.group(1), "")
    version = release.group(1) if release else binary_version(binary)
    return Probe(False, version, _failure_reason(output, rc, bool(release)))


def _failure_reason(output: str, rc: int | None, reached_init: bool) -> str:
    model, notable = cpu_features()
    cpu = f"{model}" + (f" with {notable.replace(' ', ', ')}" if notable else "")
    if "ptrace set fp regs failed" in output or "set fp regs" in output:
        return (f"it panics before its init runs on this CPU ({cpu}): 'ptrace set fp regs failed', "
                "a User-Mode Linux older than 7.x with this CPU's larger XSAVE state")
    if rc is None:
        return f"its probe boot did not finish within {PROBE_TIMEOUT:g} s"
    last = next((ln.strip() for ln in reversed(output.splitlines()) if ln.strip()), "no output")
    if reached_init:
        return f"its init could not run the lab's Python ({last[:160]})"
    return f"it stopped before its init ran (status {rc}): {last[:160]}"


def candidates(explicit: str | None = None) -> list[tuple[str, str]]:
    """(binary, source) in the order they are tried."""
    found: list[tuple[str, str]] = []
    explicit = explicit or os.environ.get("LVSTUI_UML") or None
    if explicit:
        found.append((explicit, "explicit"))
    if os.path.exists(DISTRIBUTION_UML):
        found.append((DISTRIBUTION_UML, "distribution"))
    root = cache_dir() / "uml"
    cached = [p / "linux.uml" for p in root.iterdir() if (p / "linux.uml").exists()] if root.is_dir() else []
    for path in sorted(cached, key=lambda p: _version_key(p.parent.name), reverse=True):
        found.append((str(path), "cache"))
    return found


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", name))


def module_dir(binary: str, release: str) -> str | None:
    """The directory with ``release``'s modules that belongs to ``binary``, or None."""
    here = Path(os.path.realpath(binary)).parent
    options = [
        Path(binary).parent / "root" / "usr" / "lib" / "uml" / "modules" / release,  # fetch-uml.sh's layout
        here.parent / "lib" / "uml" / "modules" / release,  # /usr/bin/linux.uml -> /usr/lib/uml/modules
        Path("/usr/lib/uml/modules") / release,
    ]
    for option in options:
        if (option / "modules.dep").exists() or (option / "modules.builtin").exists():
            return str(option)
    return None


def choose(explicit: str | None = None, *, python: str | None = None) -> Kernel:
    """The first candidate that boots here; LabUnavailable (one line: why, what to do) if none."""
    tried = candidates(explicit)
    failures: list[str] = []
    for binary, source in tried:
        if not os.access(binary, os.X_OK):
            if source == "explicit":
                raise LabUnavailable(f"{binary}: no such executable (given with --uml or LVSTUI_UML)")
            continue
        result = probe(binary, python=python)
        if result.ok:
            return Kernel(binary, result.release, source, module_dir(binary, result.release))
        failures.append(f"{binary} ({result.release}): {result.reason}")
    hint = FETCH_HINT.format(cache=cache_dir() / "uml")
    if not tried:
        raise LabUnavailable(f"User-Mode Linux is not installed (no {DISTRIBUTION_UML}): {hint}")
    raise LabUnavailable("no User-Mode Linux boots on this machine: " + "; ".join(failures) + f"; {hint}")


# What the lab needs on this machine beside the kernel: (label, binary, Debian package).
_TOOLS = (
    ("ipvsadm", "ipvsadm", "ipvsadm"),
    ("keepalived", "keepalived", "keepalived"),
    ("nsenter", "nsenter", "util-linux"),
    ("ip", "ip", "iproute2"),
    ("modprobe", "modprobe", "kmod"),
)


def require_uml(explicit: str | None = None) -> Kernel:
    """The kernel the lab boots here, once every tool it needs is present; else LabUnavailable
    with one line saying what is missing and what to run."""
    kernel = choose(explicit)
    for label, binary, package in _TOOLS:
        if tool_path(binary) is None:
            raise LabUnavailable(f"{label} is not installed: run scripts/setup.sh "
                                 f"(it provides {package} for the lab without installing a service)")
    return kernel


def _module_names(path: Path) -> set[str]:
    names: set[str] = set()
    try:
        text = path.read_text()
    except OSError:
        return names
    for line in text.splitlines():
        entry = line.split(":", 1)[0].strip()
        if entry:
            names.add(re.sub(r"\.ko(\.[a-z]+)?$", "", os.path.basename(entry)).replace("-", "_"))
    return names


def _builtin_names(modules: Path) -> set[str]:
    """What the kernel builds in: modules.builtin, and modules.builtin.modinfo, which also
    names built-in code that modules.builtin leaves out (7.2's ipv6)."""
    names = _module_names(modules / "modules.builtin")
    try:
        raw = (modules / "modules.builtin.modinfo").read_bytes()
    except OSError:
        return names
    for entry in raw.split(b"\0"):
        name = entry.split(b".", 1)[0].decode(errors="replace")
        if name:
            names.add(name.replace("-", "_"))
    return names


def ipvs_modules(modules: str | None) -> list[str]:
    """Every IPVS module (core, schedulers, protocols, PEs) the kernel has, loadable or built in."""
    if modules is None:
        return []
    names: set[str] = set()
    for index in ("modules.dep", "modules.builtin"):
        try:
            text = (Path(modules) / index).read_text()
        except OSError:
            continue
        for line in text.splitlines():
            entry = line.split(":", 1)[0]
            if "/netfilter/ipvs/" in entry:
                names.add(re.sub(r"\.ko(\.[a-z]+)?$", "", os.path.basename(entry)).replace("-", "_"))
    return sorted(names)


def modules_to_load(kernel: Kernel, wanted: tuple[str, ...]) -> list[str]:
    """The modules to modprobe for ``wanted`` plus every IPVS module: those the kernel builds in
    are left out; a module it has neither way raises LabUnavailable."""
    if kernel.modules is None:
        return []  # no module directory: all is built in, or the guest says what is missing
    builtin = _builtin_names(Path(kernel.modules))
    loadable = _module_names(Path(kernel.modules) / "modules.dep")
    load: list[str] = []
    for name in (*BASE_MODULES, *ipvs_modules(kernel.modules), *wanted):
        key = name.replace("-", "_")
        if key in builtin or name in load:
            continue
        if key not in loadable:
            raise LabUnavailable(f"User-Mode Linux {kernel.release} ({kernel.binary}) has no module {name!r} "
                                 f"(not in {kernel.modules})")
        load.append(name)
    return load


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lvstui.lab.kernel",
                                     description="Print the User-Mode Linux kernel the lab would boot here.")
    parser.add_argument("--uml", metavar="PATH", help="try this linux.uml first (as lvstui lab --uml)")
    parser.add_argument("--quiet", action="store_true", help="print nothing, only the exit status")
    args = parser.parse_args(argv)
    try:
        kernel = choose(args.uml)
    except LabUnavailable as exc:
        if not args.quiet:
            print(f"lab: {exc}", file=sys.stderr)
        return 1
    if not args.quiet:
        print(f"lab: {kernel.describe()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
