"""The fault-injection suites' counts (faults injected, checks held), printed at the end of
every test run by tests/conftest.py, whether or not pytest shows the tests' own output."""

from __future__ import annotations

from collections import Counter

__all__ = ["COUNTS", "check", "injected", "summary"]

COUNTS: Counter[str] = Counter()


def injected(n: int = 1) -> None:
    COUNTS["faults injected"] += n


def check(condition: object, what: str) -> None:
    """An assertion that is counted when it holds."""
    assert condition, what
    COUNTS["checks held"] += 1


def summary() -> str | None:
    if not COUNTS:
        return None
    return (f"fault injection: {COUNTS['faults injected']} faults injected, "
            f"{COUNTS['checks held']} checks held")
