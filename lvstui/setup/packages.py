"""Installing packages with apt as a plan step that leaves dpkg as it was when it fails.

:class:`AptInstallStep` records dpkg's set (``dpkg-query -W``) before it runs, installs with
``apt-get install -y --no-install-recommends`` while a temporary ``/usr/sbin/policy-rc.d``
(exit 101) keeps every service from starting (the director plan enables and starts
keepalived itself, after its configuration is written), removes that file again (only the
one it wrote), and reads dpkg back.  A failed install (no mirror reachable, a package
missing, a maintainer script failing) purges whatever appeared, so dpkg's set is what it was,
and fails with one line.  Undo purges exactly the packages that appeared (and removes
again, keeping their configuration files, packages that had only those left before).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any

from lvstui.setup.runner import Runner, Script
from lvstui.setup.steps import ApplyContext, SetupStep, StepFailed, StepProbe
from lvstui.setup.validate import ValidationError

__all__ = ["AptInstallStep", "dpkg_set"]

POLICY = "/usr/sbin/policy-rc.d"
_MARK = "# lvstui setup: no service starts while packages install"
_QUERY = ["dpkg-query", "-W", "-f", "${binary:Package}\\t${Version}\\t${db:Status-Abbrev}\\n"]
_APT_OPTS = ("-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold")


def dpkg_set(runner: Runner) -> dict[str, tuple[str, str]]:
    """Every package dpkg has files or configuration of: name -> (version, status abbrev)."""
    result = runner.run(_QUERY)
    if not result.ok:
        raise StepFailed(f"dpkg-query -W failed (exit {result.rc})", result.output)
    known = {}
    for line in result.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) == 3 and len(parts[2]) >= 2 and parts[2][1] != "n":  # not "not-installed"
            known[parts[0]] = (parts[1], parts[2].strip())
    return known


def _installed(known: dict[str, tuple[str, str]], name: str) -> bool:
    return any(key.split(":")[0] == name and status.startswith("ii") for key, (_, status) in known.items())


def _reason(output: str) -> str:
    """The one line that says why apt failed: its first error, with an unreachable source."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("E:")]
    fetch = next((line for line in lines if "Failed to fetch" in line or line.startswith("Err:")), "")
    reason = errors[0] if errors else (lines[-1] if lines else "no output")
    return f"{reason} ({fetch})" if fetch and fetch not in reason else reason


@dataclass
class AptInstallStep(SetupStep):
    """``apt-get install`` *packages* (those dpkg does not have); undo purges what appeared."""

    packages: tuple[str, ...]
    title: str = ""
    key: str = "install"
    timeout: float = 900.0
    check_after = True

    def __post_init__(self) -> None:
        for name in self.packages:
            if not name or not all(c.isalnum() or c in "+-." for c in name) or not name[0].isalnum():
                raise ValidationError(f"package name {name!r}")
        self.title = self.title or f"install {' '.join(self.packages)} (apt)"

    def _install_script(self) -> Script:
        policy = shlex.quote(POLICY)
        return Script(
            "export DEBIAN_FRONTEND=noninteractive; "
            f"if [ ! -e {policy} ] && [ ! -L {policy} ]; then "
            f"printf '%s\\n' '#!/bin/sh' {shlex.quote(_MARK)} 'exit 101' > {policy} && chmod 755 {policy}; fi; "
            "apt-get update -qq && apt-get install -y -qq --no-install-recommends "
            + shlex.join([*_APT_OPTS, *self.packages]))

    def _cleanup_script(self) -> Script:
        policy = shlex.quote(POLICY)
        return Script(f"if grep -qsxF {shlex.quote(_MARK)} {policy}; then rm -f {policy}; fi")

    @staticmethod
    def _back(before: dict[str, tuple[str, str]], after: dict[str, tuple[str, str]]) -> Script | None:
        """What puts dpkg back: purge the packages that appeared; remove (keeping their
        configuration files, as before) those that had only those files left ("rc")."""
        appeared = sorted(set(after) - set(before))
        from_rc = sorted(k for k in before if k in after and before[k][1].startswith("rc")
                         and not after[k][1].startswith("rc"))
        if not appeared and not from_rc:
            return None
        # one dpkg run removes them all (it orders the removals by their dependencies), a
        # second purges the configuration files of those that were not there at all
        text = ("export DEBIAN_FRONTEND=noninteractive; rc=0; dpkg --remove "
                + shlex.join(sorted([*appeared, *from_rc])) + " || rc=$?")
        if appeared:
            text += "; dpkg --purge " + shlex.join(appeared) + " || rc=$?"
        return Script(text + "; exit $rc")

    def commands(self) -> list[str]:
        return [str(self._install_script()), str(self._cleanup_script())]

    def missing(self, runner: Runner) -> list[str]:
        known = dpkg_set(runner)
        return [p for p in self.packages if not _installed(known, p)]

    def probe(self, runner: Runner) -> StepProbe:
        missing = self.missing(runner)
        return StepProbe(bool(missing), detail=f"not installed: {' '.join(missing)}" if missing else "")

    def _apply(self, runner: Runner, ctx: ApplyContext) -> list[dict[str, Any]]:
        before = dpkg_set(runner)
        try:
            result = runner.run(self._install_script(), timeout=self.timeout)
        finally:
            runner.run(self._cleanup_script())
        after = dpkg_set(runner)
        back = self._back(before, after)
        ctx.output = result.output
        missing = [p for p in self.packages if not _installed(after, p)]
        if result.ok and not missing:
            changed = sorted(k for k in before if k in after and after[k][0] != before[k][0])
            if changed:
                ctx.output += f"\nupgraded by apt (undo does not downgrade them): {' '.join(changed)}"
            return [{"op": "script", "text": str(back)}] if back is not None else []
        why = _reason(result.output) if not result.ok else f"apt-get left {' '.join(missing)} not installed"
        message = f"apt-get install {' '.join(self.packages)} failed: {why}"
        if back is not None:
            undo = runner.run(back, timeout=self.timeout)
            ctx.output += "\n" + undo.output
            now = dpkg_set(runner)
            left = sorted(k for k in set(now) | set(before) if now.get(k, ("", ""))[1] != before.get(k, ("", ""))[1])
            if left:
                message += f"; putting dpkg back left {' '.join(left)} changed"
        raise StepFailed(message, ctx.output.strip())
