"""The other director of a keepalived pair, read over SSH (issue: both directors at once).

* :mod:`lvstui.peer.reader`: a background reader that keeps one SSH connection to the peer and
  streams its ``lvstui snapshot --json --repeat`` (or polls ``ipvsadm -S -n`` where lvstui is not
  installed there); never blocks the caller, an unreachable or slow peer is data;
* :mod:`lvstui.peer.decode`: the peer's JSON back into the model;
* :mod:`lvstui.peer.compare`: differences between the two tables, and split brain.

Reads only: nothing here changes the peer.
"""
