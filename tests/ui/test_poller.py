"""The poller and its messages: stale frames are replaced, failures become data, old frames die off-thread."""

from __future__ import annotations

import gc
import itertools
import threading
import time
import weakref
from pathlib import Path

from lvstui.backend import BackendError
from lvstui.demo import DemoSource
from lvstui.model import Snapshot
from lvstui.ui.app import FrameReady
from lvstui.ui.feed import Feed
from lvstui.ui.poller import STRETCH, Frame, Poller
from lvstui.ui.view import ViewSpec
from tests.ui.ui_support import ManualClock, make_app


def _poller(source, interval: float = 1.0) -> tuple[Poller, list[Frame]]:  # type: ignore[no-untyped-def]
    delivered: list[Frame] = []
    return Poller(source, Feed(), interval, delivered.append, ViewSpec), delivered


async def test_a_newer_frame_replaces_a_queued_older_one(demo: DemoSource, clock: ManualClock,
                                                         isolated_config: Path) -> None:
    app = make_app(demo, clock, isolated_config)
    async with app.run_test(size=(100, 30)) as pilot:
        frames = []
        for _ in range(3):
            clock.advance(1)
            frames.append(app.dashboard.poller.poll_once())
        before = app.dashboard.frames_applied
        for frame in frames:  # queued faster than the UI takes them
            app.dashboard.post_message(FrameReady(frame))
        await pilot.pause()
        assert app.dashboard.frames_applied == before + 1
        assert app.dashboard.frame is frames[-1]
    assert FrameReady(frames[0]).can_replace(FrameReady(frames[1]))


def test_failures_keep_the_last_good_snapshot_and_one_line() -> None:
    class Source:
        name = "kernel"
        calls = 0

        def read(self) -> Snapshot:
            self.calls += 1
            if self.calls == 2:
                raise BackendError("no IPVS here\nsecond line is dropped")
            if self.calls == 3:
                raise RuntimeError("bug in a backend")
            return DemoSource(clock=lambda: float(self.calls)).read()

        def close(self) -> None:
            pass

    poller, _ = _poller(Source())
    good = poller.poll_once()
    assert good.error is None
    failed = poller.poll_once()
    assert failed.error == "no IPVS here" and failed.snapshot is good.snapshot and failed.tables is None
    crashed = poller.poll_once()
    assert crashed.error == "RuntimeError: bug in a backend" and crashed.snapshot is good.snapshot
    assert poller.poll_once().error is None


def test_loop_stretches_the_interval_and_stops() -> None:
    class Slow:
        name = "kernel"

        def read(self) -> Snapshot:
            time.sleep(0.1)
            return DemoSource(clock=time.monotonic).read()

        def close(self) -> None:
            pass

    poller, delivered = _poller(Slow(), interval=0.02)
    thread = threading.Thread(target=poller.run)
    thread.start()
    deadline = time.monotonic() + 10
    while len(delivered) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    poller.stop()
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert len(delivered) >= 3
    assert all(f.stretched and f.interval >= 0.1 * STRETCH * 0.9 for f in delivered)
    gaps = [b.snapshot.monotonic - a.snapshot.monotonic for a, b in itertools.pairwise(delivered)]
    assert min(gaps) >= 0.1  # never two polls at once, never back to back


def test_pause_blocks_the_loop_until_resume() -> None:
    poller, delivered = _poller(DemoSource(clock=time.monotonic), interval=0.01)
    poller.pause()
    thread = threading.Thread(target=poller.run)
    thread.start()
    time.sleep(0.2)
    assert delivered == []
    poller.resume()
    deadline = time.monotonic() + 5
    while not delivered and time.monotonic() < deadline:
        time.sleep(0.01)
    poller.stop()
    thread.join(timeout=5)
    assert delivered


def test_discarded_frames_are_freed_by_the_polling_thread() -> None:
    class Garbage:
        pass

    poller, _ = _poller(DemoSource(clock=time.monotonic))
    junk = Garbage()
    ref = weakref.ref(junk)
    poller.discard((junk,))
    del junk
    gc.collect()
    assert ref() is not None  # held until the next poll
    freed_in: list[str] = []
    weakref.finalize(ref(), lambda: freed_in.append(threading.current_thread().name))  # type: ignore[arg-type]
    thread = threading.Thread(target=poller.poll_once, name="poller-test")
    thread.start()
    thread.join()
    assert ref() is None and freed_in == ["poller-test"]
