"""``keepalived -t``: keepalived's own opinion of a configuration, run so it cannot touch the host.

``keepalived -t -f FILE`` only parses the configuration and exits (measured on
2.2.7 with strace: it opens the files and a netlink socket to list
interfaces, creates no file and starts no process).  We still point its pid
files into a private temporary directory.  Two quirks handled here: a missing
main file exits 0 with "Config files missing", and interface names are checked
in the current network namespace (pass ``netns`` to check a director's
configuration in the lab); an include that matches nothing is reported with
its line and is only a warning, as keepalived goes on without it.

An edited configuration that is not on disk yet is checked from a temporary
directory: modified files, and the files that include them, are copied there
with their include lines pointing at absolute paths (the copies where there are
copies), so the originals are never touched.  Messages name the original files.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lvstui.keepalived.errors import KeepalivedConfigError
from lvstui.keepalived.loader import KeepalivedConfig
from lvstui.keepalived.processes import find_keepalived
from lvstui.keepalived.syntax import ConfigFile

__all__ = ["KeepalivedTest", "find_keepalived", "keepalived_test", "validator"]

_MSG_RE = re.compile(r"^\((?:(?P<file>[^:()]+): )?Line (?P<line>\d+)\) (?P<msg>.*)$")
_FATAL_RE = re.compile(r"Config files missing|No config files matched|open problem|Error reading config")


@dataclass(frozen=True, slots=True)
class KeepalivedTest:
    ok: bool
    returncode: int
    messages: tuple[str, ...]  # "keepalived.conf:42: Unknown keyword 'x'"

    @property
    def first_error(self) -> str:
        return self.messages[0] if self.messages else f"keepalived -t exited with status {self.returncode}"


def _ancestors(config: KeepalivedConfig, targets: set[Path]) -> set[Path]:
    result = set(targets)
    changed = True
    while changed:
        changed = False
        for (parent, _line), children in config.includes.items():
            if parent not in result and result.intersection(children):
                result.add(parent)
                changed = True
    return result


def _rewrite_includes(cfile: ConfigFile, config: KeepalivedConfig, copies: dict[Path, Path]) -> str:
    lines = cfile.lines
    for stmt in cfile.includes():
        targets = [copies.get(p, p) for p in config.included_by(cfile.path, stmt)]
        word = stmt.words[1]
        if not targets:
            replacement = "/dev/null/lvstui-no-match*"  # a wildcard that matches nothing, as before
        elif len(targets) == 1:
            replacement = str(targets[0])
        elif all(not any(c in str(t) for c in ",{}\\") for t in targets):
            replacement = "{" + ",".join(str(t) for t in targets) + "}"
        else:
            raise KeepalivedConfigError("cannot check this include with keepalived -t (unusual file names)",
                              cfile.path, stmt.line + 1)
        line = lines[stmt.line]
        lines[stmt.line] = line[:word.start] + replacement + line[word.end:]
    return "\n".join(lines)


def keepalived_test(config: KeepalivedConfig, netns: str | None = None, timeout: float = 30.0,
                    keepalived: str | None = None, config_id: str | None = None) -> KeepalivedTest | None:
    """Run ``keepalived -t`` on ``config`` as it is in memory; None if keepalived is not installed."""
    binary = keepalived or find_keepalived()
    if binary is None:
        return None
    with tempfile.TemporaryDirectory(prefix="lvstui-kacheck-") as tmp:
        tmpdir = Path(tmp)
        modified = {f.path for f in config.modified_files()}
        to_copy = _ancestors(config, modified) if modified else set()
        copies = {p: tmpdir / f"{i}-{p.name}" for i, p in enumerate(sorted(to_copy))}
        for path, copy in copies.items():
            copy.write_bytes(_rewrite_includes(config.files[path], config, copies)
                             .encode("utf-8", "surrogateescape"))
        main = copies.get(config.main, config.main)
        cmd = [binary, "-t", "-f", str(main), "-p", str(tmpdir / "k.pid"), "-r", str(tmpdir / "v.pid"),
               "-c", str(tmpdir / "c.pid"), "-b", str(tmpdir / "b.pid")]
        if config_id is not None:
            cmd += ["-i", config_id]
        if netns:
            cmd = ["ip", "netns", "exec", netns, *cmd]
        try:
            proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=timeout,
                                  errors="replace", cwd=str(config.main.parent))
        except subprocess.TimeoutExpired:
            return KeepalivedTest(False, -1, (f"keepalived -t did not finish in {timeout:.0f} s",))
        names = {str(copy): path for path, copy in copies.items()}
        names.update({copy.name: path for path, copy in copies.items()})
        messages: list[str] = []
        fatal = False
        for raw in (proc.stderr + proc.stdout).splitlines():
            raw = raw.strip()
            if not raw:
                continue
            for tmpname, path in names.items():
                raw = raw.replace(tmpname, str(path))
            m = _MSG_RE.match(raw)
            if m:
                fname = m.group("file") or config.main.name
                msg = f"{Path(fname).name}:{m.group('line')}: {m.group('msg')}"
            else:
                msg = raw
            if _FATAL_RE.search(raw) and not m:
                # the main file missing ("Config files missing '/x'." exits 0); the same words with
                # "(Line N)" are an include that matches nothing, which keepalived skips and goes on
                fatal = True
            if msg not in messages:
                messages.append(msg)
        ok = proc.returncode == 0 and not fatal
        return KeepalivedTest(ok, proc.returncode, tuple(messages))


def validator(netns: str | None = None, config_id: str | None = None) -> Callable[[KeepalivedConfig], None]:
    """A ``validate`` callable for :func:`~lvstui.ops.files.write_config`: raises KeepalivedConfigError."""

    def validate(config: KeepalivedConfig) -> None:
        result = keepalived_test(config, netns=netns, config_id=config_id)
        if result is not None and not result.ok:
            raise KeepalivedConfigError(f"keepalived -t rejects it: {result.first_error}", config.main)

    return validate
