"""A stand-in for lvstui on the peer director, for tests/pair over a real sshd: appends its
argv and the SSH connection it came over (``SSH_CLIENT``: address and source port, one JSON
line) to LOG and answers as ``mode`` (a file beside LOG) says:

* ``ok``: takes the peer's real director lock (lvstui.ops.lock, in ``peer-locks`` beside LOG:
  another operator holding it there gets lvstui's ``busy: ...`` line, exit 3), prints a warning
  on stderr, a plan line and ``journal: 0123abcd`` (what --print-journal-id prints), exit 0;
* ``refuse``: one ``lvstui:`` line on stderr, exit 3 (refused there);
* ``undo-fails``: as ok, but ``undo`` is refused (exit 3).
"""

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # this checkout's lvstui, for its lock

from lvstui.ops.lock import DIRECTOR, Busy, held

LOG = Path(sys.argv[1])
argv = sys.argv[2:]
with LOG.open("a") as f:
    f.write(json.dumps({"argv": argv, "client": os.environ.get("SSH_CLIENT")}) + "\n")
mode = (LOG.parent / "mode").read_text().strip()
if "undo" in argv:
    if mode == "undo-fails":
        print("lvstui: refused: the peer moved on since", file=sys.stderr)
        sys.exit(3)
    print("undone: journal 0123abcd")
    sys.exit(0)
if mode == "refuse":
    print("lvstui: 192.168.1.21:80 is not in tcp:192.168.1.100:80: refused", file=sys.stderr)
    sys.exit(3)
try:
    with held(DIRECTOR, " ".join(argv[2:4]), directory=LOG.parent / "peer-locks"):
        print("lvstui: warning: a warning of the peer's", file=sys.stderr)
        print("edit weight 0 (peer side)")
        print("journal: 0123abcd")
except Busy as exc:
    print(f"lvstui: {exc}; nothing was changed", file=sys.stderr)
    sys.exit(3)
