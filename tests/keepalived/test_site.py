"""One rule for "the keepalived of this network namespace", used by the watcher, the durable planner
and the VRRP toggle alike (they used to disagree when a namespace inode could not be read)."""

from __future__ import annotations

import os
from pathlib import Path

from lvstui.keepalived.processes import KeepalivedProcess
from lvstui.keepalived.site import find_site, local_keepalived, own_netns_inode

MINE = 4026531840


def proc(pid: int, inode: int | None, conf: str = "/etc/keepalived/keepalived.conf") -> KeepalivedProcess:
    return KeepalivedProcess(parent_pid=pid, config_file=conf, netns_inode=inode)


def test_exact_match_first_unknown_after_other_namespaces_never() -> None:
    other, unknown, ours = proc(10, MINE + 1), proc(11, None), proc(12, MINE)
    assert local_keepalived([other, unknown, ours], lambda: MINE) == [ours, unknown]
    assert local_keepalived([other], lambda: MINE) == []


def test_our_own_inode_unreadable_counts_every_keepalived() -> None:
    """Without our own inode nothing can be told apart: each one may be ours (the dashboard shows it,
    the planner and the toggle use the first, as the watcher always did)."""
    a, b = proc(10, MINE + 1), proc(11, None)
    assert local_keepalived([a, b], lambda: None) == [a, b]


def test_find_site_uses_the_same_rule() -> None:
    mine = own_netns_inode()
    assert mine is not None
    unknown = proc(os.getpid(), None, "/etc/unknown.conf")
    ours = proc(os.getpid(), mine, "/etc/keepalived/ours.conf")
    site = find_site([unknown, ours])
    assert site is not None and site.config_path == Path("/etc/keepalived/ours.conf")
    site = find_site([unknown])
    assert site is not None and site.config_path == Path("/etc/unknown.conf")
    assert find_site([proc(os.getpid(), mine + 1)]) is None
