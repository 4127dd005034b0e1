"""Read what a textual-serve page shows, as text, from a real headless Chromium (stdlib only).

Runs on the host and, unchanged, inside the lab guest with the plain interpreter.  Chromium
is driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``: fds 3 and 4,
NUL-separated JSON), so no TCP port is opened for the browser itself.

textual-serve's page draws the terminal with xterm.js (its WebGL, else canvas renderer: no
text in the DOM) and keeps the Terminal object in a closure.  The text is read from that
Terminal's own screen buffer: ``Runtime.queryObjects`` lists the page's objects and the one
with xterm's public API (``buffer.active.getLine``, ``loadAddon``) is the terminal.  The
buffer is what xterm has parsed from the served app's output, i.e. what the page shows.

Command line (JSON report on stdout)::

    python page_text.py URL [--wait-for TEXT]... [--samples N] [--gap SECONDS]
                            [--keys KEYS --wait-after TEXT]... [--timeout SECONDS]

``--keys`` are typed into the page (each character a key press; ``\\r`` is Enter) after the
samples, and ``--wait-after`` is waited for after them.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any

SCREEN_JS = """function () {
  const lines = [];
  const buf = this.buffer.active;
  for (let y = 0; y < this.rows; y++) {
    const line = buf.getLine(buf.viewportY + y);
    lines.push(line ? line.translateToString(true) : "");
  }
  return lines.join("\\n");
}"""

FIND_JS = """function () {
  return this.find(o => { try { return typeof o.loadAddon === "function" && o.buffer
    && o.buffer.active && typeof o.buffer.active.getLine === "function"; } catch (e) { return false; } })
    || null;
}"""


TRAMPOLINE = """import os, sys
r, w = int(sys.argv[1]), int(sys.argv[2])
os.dup2(r, 3)
os.dup2(w, 4)
os.close(r)
os.close(w)
os.execv(sys.argv[3], sys.argv[3:])
"""


class BrowserError(Exception):
    pass


class Chromium:
    """One headless Chromium with a DevTools pipe and one page target."""

    def __init__(self, binary: str | None = None, *, width: int = 1600, height: int = 1000,
                 extra: tuple[str, ...] = ()) -> None:
        # Debian's /usr/bin/chromium is a shell wrapper (flags from /etc/chromium.d); the browser is
        # the binary beside it, started directly so that the DevTools pipe fds reach it as 3 and 4
        exe = binary or next((p for p in ("/usr/lib/chromium/chromium",) if os.path.exists(p)),
                             shutil.which("chromium") or "chromium")
        self.profile = tempfile.mkdtemp(prefix="lvstui-chromium-")
        r_low, self._w_to_browser = os.pipe()  # browser reads fd 3
        self._r_from_browser, w_low = os.pipe()  # browser writes fd 4
        # its ends above 9, so that moving them to 3 and 4 cannot overwrite one another
        r_out, w_in = (fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (r_low, w_low))
        os.close(r_low)
        os.close(w_low)
        argv = [exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                "--remote-debugging-pipe", f"--user-data-dir={self.profile}",
                # no GPU: WebGL would be software (SwiftShader), which made the first screen 3x slower
                # on the host and starved the lab guest's one CPU; xterm.js then draws on a 2D canvas
                "--disable-webgl",
                f"--window-size={width},{height}", *extra, "about:blank"]

        # the pipe ends become the browser's fds 3 and 4 in a small trampoline (no preexec_fn)
        self.log = open(os.path.join(self.profile, "stderr.log"), "wb")  # noqa: SIM115 (closed in close())
        self.proc = subprocess.Popen([sys.executable, "-I", "-S", "-c", TRAMPOLINE, str(r_out), str(w_in), *argv],
                                     stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
                                     pass_fds=(r_out, w_in))
        os.close(r_out)
        os.close(w_in)
        self._next = 0
        self._buf = b""
        self.session = ""

    # --- the protocol ---------------------------------------------------------------------

    def call(self, method: str, params: dict[str, Any] | None = None, *, session: bool = True,
             timeout: float = 60.0) -> dict[str, Any]:
        self._next += 1
        msg: dict[str, Any] = {"id": self._next, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self._w_to_browser, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read(deadline, method)
            if reply.get("id") == self._next:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error'].get('message')}")
                result: dict[str, Any] = reply.get("result", {})
                return result

    def _read(self, deadline: float, what: str) -> dict[str, Any]:
        import select

        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError(f"no answer from chromium to {what}")
            ready, _, _ = select.select([self._r_from_browser], [], [], left)
            if ready:
                chunk = os.read(self._r_from_browser, 1 << 20)
                if not chunk:
                    raise BrowserError(f"chromium closed its DevTools pipe ({what}): {self.stderr_tail()}")
                self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\0")
        message: dict[str, Any] = json.loads(line)
        return message

    def stderr_tail(self) -> str:
        try:
            with open(os.path.join(self.profile, "stderr.log"), "rb") as f:
                return f.read()[-1500:].decode(errors="replace")
        except OSError:
            return ""

    # --- a page ---------------------------------------------------------------------------

    def open(self, url: str) -> None:
        target = self.call("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True},
                                 session=False)["sessionId"]
        self.call("Page.enable")
        self.call("Runtime.enable")
        self.call("Emulation.setFocusEmulationEnabled", {"enabled": True})  # a headless page has no focus
        self.call("Page.navigate", {"url": url})

    def evaluate(self, expression: str) -> Any:
        r = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        return r.get("result", {}).get("value")

    def terminal(self) -> str | None:
        """The objectId of the page's xterm Terminal, or None while the page has none yet."""
        proto = self.call("Runtime.evaluate", {"expression": "Object.prototype"})["result"]["objectId"]
        found = self.call("Runtime.queryObjects", {"prototypeObjectId": proto})["objects"]["objectId"]
        term = self.call("Runtime.callFunctionOn", {"objectId": found, "functionDeclaration": FIND_JS})["result"]
        return term.get("objectId")

    def screen(self, term: str) -> str:
        r = self.call("Runtime.callFunctionOn", {"objectId": term, "functionDeclaration": SCREEN_JS,
                                                 "returnByValue": True})
        return str(r["result"].get("value", ""))

    def type(self, keys: str) -> None:
        """Key presses into the page's terminal (xterm's input textarea, focused as a click would), as a
        person would type them."""
        self.evaluate("document.querySelector('.xterm-helper-textarea').focus()")
        for ch in keys:
            if ch == "\r":
                for kind in ("rawKeyDown", "char", "keyUp"):
                    self.call("Input.dispatchKeyEvent", {"type": kind, "key": "Enter", "code": "Enter",
                                                          "windowsVirtualKeyCode": 13, "text": "\r"
                                                          if kind == "char" else ""})
            else:
                self.call("Input.dispatchKeyEvent", {"type": "keyDown", "key": ch, "text": ch})
                self.call("Input.dispatchKeyEvent", {"type": "keyUp", "key": ch})

    def close(self) -> None:
        try:
            self.call("Browser.close", session=False, timeout=10)
        except (BrowserError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._w_to_browser, self._r_from_browser):
            try:
                os.close(fd)
            except OSError:
                pass
        self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)


def wait_screen(browser: Chromium, wanted: list[str], timeout: float) -> tuple[str | None, str]:
    """(terminal objectId, screen) once the screen holds every ``wanted`` text (or the timeout)."""
    deadline = time.monotonic() + timeout
    term: str | None = None
    screen = ""
    while time.monotonic() < deadline:
        if term is None:
            term = browser.terminal()
        if term is not None:
            screen = browser.screen(term)
            if all(w in screen for w in wanted):
                return term, screen
        time.sleep(0.5)
    return term, screen


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("url")
    p.add_argument("--wait-for", action="append", default=[])
    p.add_argument("--samples", type=int, default=1)
    p.add_argument("--gap", type=float, default=2.0)
    p.add_argument("--keys", action="append", default=[])
    p.add_argument("--wait-after", action="append", default=[])
    p.add_argument("--timeout", type=float, default=60.0, help="for the first screen")
    p.add_argument("--after-timeout", type=float, default=90.0, help="for each --wait-after")
    p.add_argument("--chromium", default=None)
    p.add_argument("--flag", action="append", default=[], help="one more Chromium flag")
    a = p.parse_args(argv)
    report: dict[str, Any] = {"url": a.url, "samples": [], "after": [], "waited": False}
    started = time.monotonic()

    def log(what: str) -> None:  # progress on stderr: what a timed-out caller gets to see
        print(f"page_text: {time.monotonic() - started:.1f} s: {what}", file=sys.stderr, flush=True)

    browser = Chromium(a.chromium, extra=tuple(a.flag))
    try:
        report["version"] = browser.call("Browser.getVersion", session=False).get("product")
        log(f"chromium {report['version']} up")
        browser.open(a.url)
        term, screen = wait_screen(browser, a.wait_for, a.timeout)
        log(f"first screen{'' if term else ' (no terminal yet)'}: {screen[:200]!r}")
        report["waited"] = term is not None and all(w in screen for w in a.wait_for)
        report["first_screen_seconds"] = round(time.monotonic() - started, 2)
        report["samples"].append(screen)
        if term is not None:
            for _ in range(a.samples - 1):
                time.sleep(a.gap)
                report["samples"].append(browser.screen(term))
            for keys, after in zip(a.keys, a.wait_after + [""] * len(a.keys)):
                browser.type(keys.encode().decode("unicode_escape"))
                _, shown = wait_screen(browser, [after] if after else [], a.after_timeout)
                log(f"typed {keys!r}: {'found' if after in shown else 'NOT found'} {after!r}")
                if after not in shown:
                    log(f"the screen:\n{shown}")
                report["after"].append({"keys": keys, "wanted": after, "found": after in shown,
                                        "screen": shown})
    except BrowserError as exc:
        report["error"] = str(exc)
    finally:
        report["stderr_tail"] = browser.stderr_tail()
        browser.close()
    json.dump(report, sys.stdout)
    sys.stdout.write("\n")
    return 0 if "error" not in report else 1


if __name__ == "__main__":
    sys.exit(main())
