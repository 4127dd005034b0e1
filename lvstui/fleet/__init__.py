"""The fleet: every keepalived pair of a site on one screen (``lvstui fleet FILE``).

* :mod:`lvstui.fleet.spec`: the fleet file (TOML: named pairs and their directors) as frozen data;
* :mod:`lvstui.fleet.summary`: one pair's directors' views summarised into one row;
* :mod:`lvstui.fleet.poller`: one background reader per director
  (:class:`lvstui.peer.reader.PeerReader`), their connection attempts bounded; never blocks;
* :mod:`lvstui.fleet.demo`: a deterministic, simulated fleet (``lvstui fleet --demo``, tests,
  the benchmark), labelled as a demo.

Reads only, and no Textual here: the screen is :mod:`lvstui.ui.fleet`.
"""
