"""Fixtures shared by every test directory (keep this small)."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test under tests/lab/ runs in the User-Mode Linux lab: mark it ``lab``."""
    for item in items:
        if "/tests/lab/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.lab)
