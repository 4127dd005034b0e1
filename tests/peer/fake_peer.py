"""A stand-in for lvstui on a peer director, for the reader's tests over a real sshd: prints the
deterministic demo director's snapshots as ``lvstui snapshot --json --repeat`` does.  A test
fixture, never a source on a real director.

``fake_peer.py --version`` | ``fake_peer.py snapshot --json --repeat N --interval S``; with
FAKE_PEER_LINES=K it stops writing (but stays) after K documents, with FAKE_PEER_GARBAGE=1 the
second line is not JSON, with FAKE_PEER_SLOW_START=S the first document comes after S seconds
(a peer whose lvstui takes long to read a big table).
"""

import os
import sys
import time

from lvstui.demo import DemoSource
from lvstui.jsonout import dumps

if sys.argv[1:] == ["--version"]:
    print("lvstui (test peer)")
    sys.exit(0)
args = sys.argv[1:]
assert args[:2] == ["snapshot", "--json"], args
repeat, interval = int(args[args.index("--repeat") + 1]), float(args[args.index("--interval") + 1])
lines = int(os.environ.get("FAKE_PEER_LINES", "0")) or repeat
source = DemoSource()
time.sleep(float(os.environ.get("FAKE_PEER_SLOW_START", "0")))
for i in range(repeat):
    if i >= lines:
        time.sleep(3600)
    if i == 1 and os.environ.get("FAKE_PEER_GARBAGE"):
        print("{not json", flush=True)
    print(dumps(source.read()), flush=True)
    time.sleep(interval)
