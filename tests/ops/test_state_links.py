"""lvstui's journal and remembered weights are opened as root without following a planted link
(an appended line went into the link's target) and only when they are regular files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lvstui.ops.journal import Journal, StateError, WeightMemory


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    path = tmp_path / "victim"
    path.write_text("keep me\n")
    return path


def test_journal_link_is_refused_and_its_target_untouched(tmp_path: Path, victim: Path) -> None:
    link = tmp_path / "state" / "journal.jsonl"
    link.parent.mkdir()
    link.symlink_to(victim)
    journal = Journal(link)
    with pytest.raises(StateError, match="symbolic link"):
        journal.record(op="drain")
    with pytest.raises(StateError, match="symbolic link"):
        list(journal.entries())
    assert victim.read_text() == "keep me\n"


def test_weights_link_is_refused(tmp_path: Path, victim: Path) -> None:
    victim.write_text('{"tcp:10.0.0.1:80 10.0.1.1:80": 5}')
    link = tmp_path / "weights.json"
    link.symlink_to(victim)
    with pytest.raises(StateError, match="symbolic link"):
        WeightMemory(link).get("tcp:10.0.0.1:80", "10.0.1.1:80")


def test_journal_fifo_is_refused_without_hanging(tmp_path: Path) -> None:
    fifo = tmp_path / "journal.jsonl"
    os.mkfifo(fifo)
    with pytest.raises(StateError, match="not a regular file"):
        list(Journal(fifo).entries())
    with pytest.raises(StateError, match="not a regular file"):
        Journal(fifo).record(op="drain")


def test_plain_journal_still_appends_and_reads(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.jsonl")
    entry = journal.record(op="drain")
    assert [e["id"] for e in journal.entries()] == [entry["id"]]
