"""The exporter's poll loop and HTTP server: failures are data, one poll serves many scrapes."""

from __future__ import annotations

import threading
import time
import urllib.request

import pytest

from lvstui.backend import BackendError
from lvstui.demo import DemoSource
from lvstui.exporter import server
from lvstui.exporter.poll import PollLoop
from lvstui.exporter.server import Exporter, parse_listen
from lvstui.exporter.source import Reopening
from lvstui.model import Snapshot
from tests.exporter.support import Clock, parse, value


class Flaky:
    """The demo director, failing the reads listed in ``fail`` (1-based), counting every read."""

    name = "flaky"

    def __init__(self, fail: set[int], exc: Exception | None = None) -> None:
        self.demo = DemoSource(clock=Clock(20.0))
        self.fail = fail
        self.exc = exc or BackendError("reading IPVS failed: netlink: [Errno 1] Operation not permitted")
        self.reads = 0

    def read(self) -> Snapshot:
        self.reads += 1
        if self.reads in self.fail:
            raise self.exc
        return self.demo.read()

    def close(self) -> None:
        pass


def test_failed_polls_are_counted_and_the_next_poll_recovers() -> None:
    source = Flaky({2, 3})
    loop = PollLoop(source)
    states = [loop.poll_once() for _ in range(4)]
    assert [s.snapshot is not None for s in states] == [True, False, False, True]
    assert [s.errors for s in states] == [0, 1, 2, 2]
    assert states[1].error == "reading IPVS failed: netlink: [Errno 1] Operation not permitted"
    assert states[2].success_at == states[0].success_at and states[3].success_at is not None
    assert states[3].success_at >= states[0].success_at  # type: ignore[operator]


def test_an_unexpected_exception_is_a_failed_poll_too() -> None:
    loop = PollLoop(Flaky({1}, KeyError("vs")))
    state = loop.poll_once()
    assert state.snapshot is None and state.error == "KeyError: 'vs'" and state.errors == 1


def test_the_source_is_held_read_only() -> None:
    loop = PollLoop(DemoSource())
    assert not hasattr(loop.source, "add_dest") and not hasattr(loop.source, "__dict__")
    assert hasattr(DemoSource(), "add_dest")  # the check above can fail: the demo itself can write


def test_reopening_retries_a_source_that_failed_to_open_or_to_read() -> None:
    calls: list[int] = []
    opened: list[Flaky] = []

    def open_source() -> Flaky:
        calls.append(1)
        if len(calls) == 1:
            raise BackendError("IPVS is not available in this kernel")
        opened.append(Flaky({2} if len(calls) == 2 else set()))  # the first source fails its 2nd read
        return opened[-1]

    source = Reopening(open_source)
    loop = PollLoop(source)
    results = [loop.poll_once().error for _ in range(5)]
    assert results == ["IPVS is not available in this kernel", None,
                       "reading IPVS failed: netlink: [Errno 1] Operation not permitted", None, None]
    assert source.opened == 2 and [s.reads for s in opened] == [2, 2]


@pytest.mark.parametrize(("text", "expected"), [
    ("127.0.0.1:9999", ("127.0.0.1", 9999)), (":8080", ("127.0.0.1", 8080)), ("[::1]:7", ("::1", 7)),
    ("0.0.0.0", ("0.0.0.0", 10560)), ("[::]", ("::", 10560)),
])
def test_parse_listen(text: str, expected: tuple[str, int]) -> None:
    assert parse_listen(text) == expected


@pytest.mark.parametrize("text", ["localhost:80", "1.2.3.4:0", "1.2.3.4:http", "[::1]x", "1.2.3.4:70000"])
def test_parse_listen_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="--listen"):
        parse_listen(text)


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as r:
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return r.read()  # type: ignore[no-any-return]


def test_many_scrapes_one_poll_over_http(monkeypatch: pytest.MonkeyPatch) -> None:
    renders: list[int] = []
    real = server.render_chunks
    monkeypatch.setattr(server, "render_chunks", lambda state: renders.append(state.seq) or real(state))
    source = Flaky(set())
    exporter = Exporter(source, interval=3600.0, listen=("127.0.0.1", 0)).start()
    try:
        url = f"http://127.0.0.1:{exporter.listen[1]}/metrics"
        bodies = [_get(url) for _ in range(5)]
        threads = [threading.Thread(target=_get, args=(url,)) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert source.reads == 1  # nine scrapes, one kernel read
        assert renders == [1]  # and one rendering, by the poll
        types, samples = parse(bodies[-1])
        assert value(samples, "lvstui_up") == 1.0 and value(samples, "lvstui_polls_total") == 1.0
        assert types["process_resident_memory_bytes"] == "gauge"
        assert value(samples, "process_resident_memory_bytes") > 10e6
        assert exporter.scrapes == 9
        with pytest.raises(urllib.error.HTTPError):
            _get(url.replace("/metrics", "/nope"))
    finally:
        exporter.close()


def test_the_poll_thread_polls_every_interval_and_survives_failures() -> None:
    source = Flaky({2, 3, 4})
    exporter = Exporter(source, interval=0.05, listen=("127.0.0.1", 0)).start()
    try:
        url = f"http://127.0.0.1:{exporter.listen[1]}/metrics"
        deadline = time.monotonic() + 20
        while source.reads < 7 and time.monotonic() < deadline:
            time.sleep(0.05)
        _, samples = parse(_get(url))
        assert value(samples, "lvstui_poll_errors_total") == 3.0
        assert value(samples, "lvstui_polls_total") >= 6.0
        assert value(samples, "lvstui_up") == 1.0
    finally:
        exporter.close()
