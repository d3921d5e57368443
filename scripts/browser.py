"""One headless Chromium, driven over the DevTools protocol through a pipe (no port, no network, no extra package).

The browser checks of the test suite and the screenshots of the book's pages all run in one session of
Debian's Chromium (``apt-get install chromium``): a page is opened at a width, measured with JavaScript,
and photographed, without starting a browser per page.

    with Browser() as browser:
        browser.open(Path("_build/html/intro.html").as_uri(), width=1366)
        title = browser.evaluate("document.title")
        browser.screenshot(Path("intro.png"), selector="h1")

The protocol runs over file descriptors 3 (commands) and 4 (replies): ``--remote-debugging-pipe``, each
message a JSON object ended by a NUL byte.
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--hide-scrollbars",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--remote-debugging-pipe", "--mute-audio")


class BrowserError(RuntimeError):
    """Chromium is missing, stopped, or answered a command with an error."""


class Browser:
    """A headless Chromium with one page, for measuring and photographing the book."""

    def __init__(self, binary: str | None = None, timeout: float = 60.0):
        self.binary = binary or shutil.which("chromium")
        if self.binary is None:
            raise BrowserError("Debian's chromium is needed: apt-get install chromium")
        self.timeout = timeout
        self._next_id = 0
        self._buffer = b""

    # ------------------------------------------------------------------ session
    def __enter__(self) -> "Browser":
        self._profile = tempfile.TemporaryDirectory(prefix="ketapain-chromium-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        self._process = self._spawn(to_browser_r, from_browser_w)
        os.close(to_browser_r)
        os.close(from_browser_w)
        target = self._send("Target.createTarget", url="about:blank")["targetId"]
        self._session = self._send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.command("Page.enable")
        self.command("Runtime.enable")
        return self

    def _spawn(self, read_end: int, write_end: int) -> subprocess.Popen:
        def child_fds() -> None:  # pragma: no cover - runs in the child: Chromium reads fd 3, writes fd 4
            # through fresh descriptors first: a pipe end may itself be 3 or 4
            read_copy, write_copy = os.dup(read_end), os.dup(write_end)
            os.dup2(read_copy, 3)
            os.dup2(write_copy, 4)
        return subprocess.Popen([self.binary, *FLAGS, f"--user-data-dir={self._profile.name}", "about:blank"],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                preexec_fn=child_fds, close_fds=False)

    def __exit__(self, *exc) -> None:
        try:
            self._send("Browser.close")
        except BrowserError:
            pass
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
        for fd in (self._to_browser, self._from_browser):
            try:
                os.close(fd)
            except OSError:
                pass
        self._profile.cleanup()

    # ------------------------------------------------------------------ protocol
    def _send(self, method: str, session: str | None = None, **params) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error'].get('message')}")
                return reply.get("result", {})
            # an event (page loaded, console message): the checks read the page's state instead

    def _read(self) -> dict:
        import select

        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._from_browser], [], [], self.timeout)
            if not ready:
                raise BrowserError(f"Chromium did not answer within {self.timeout:.0f} s")
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise BrowserError("Chromium stopped")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def command(self, method: str, **params) -> dict:
        """One DevTools command on the page."""
        return self._send(method, session=self._session, **params)

    # ------------------------------------------------------------------ pages
    def open(self, url: str, width: int = 1366, height: int = 900) -> None:
        """Load ``url`` in a viewport ``width`` CSS pixels wide and wait until it and its images have loaded."""
        self.command("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                     mobile=width < 600)
        self.command("Page.navigate", url=url)
        self.evaluate("new Promise(done => { const ready = () => document.readyState === 'complete' && "
                      "Array.from(document.images).every(img => img.complete); "
                      "const poll = () => ready() ? done(true) : setTimeout(poll, 25); poll(); })")

    def evaluate(self, expression: str):
        """The JSON value of a JavaScript expression on the page (promises are awaited)."""
        result = self.command("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"JavaScript error: {result['exceptionDetails'].get('text')}: "
                               f"{result['exceptionDetails'].get('exception', {}).get('description', '')}")
        return result["result"].get("value")

    def screenshot(self, path: Path, selector: str | None = None) -> Path:
        """A PNG of the page (the viewport) or of the first element matching ``selector``, whole."""
        clip = None
        if selector:
            box = self.evaluate(f"(() => {{ const e = document.querySelector({json.dumps(selector)}); if (!e) return null;"
                                "e.scrollIntoView(); const r = e.getBoundingClientRect();"
                                "return {x: r.left + scrollX, y: r.top + scrollY, width: Math.max(r.width, e.scrollWidth),"
                                "height: r.height}; })()")
            if box is None:
                raise BrowserError(f"no element matches {selector}")
            clip = {**box, "scale": 1}
        params = {"format": "png", "captureBeyondViewport": clip is not None}
        if clip:
            params["clip"] = clip
        data = self.command("Page.captureScreenshot", **params)["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path
