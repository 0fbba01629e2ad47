"""Headless Chromium driven over the DevTools protocol: open a page, wait for what it should show, screenshot it.

Debian's ``chromium`` with a fresh profile, loopback only (the DevTools port listens on 127.0.0.1 and
background networking, component updates and sync are off). A page counts as broken when it throws
an uncaught exception, a GraphQL request fails, or it shows one of the UI's error screens.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests
from websockets.sync.client import connect

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--remote-debugging-address=127.0.0.1",
                  "--remote-debugging-port=0", "--window-size=1600,1000", "--hide-scrollbars", "--lang=en-US"]
# texts of the Dagster UI's error screens and error toasts
ERROR_TEXTS = ("Something went wrong", "Unexpected GraphQL error", "PythonError", "Failed to load",
               "An unexpected error", "Error loading")
FIRST_VISIT_DIALOG = "Join the Dagster community"


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class PageResult:
    url: str
    screenshot: Path
    text: str
    errors: list[str] = field(default_factory=list)


class Browser:
    """One headless Chromium with one tab; ``with Browser() as b: b.open(url, expect=[...], screenshot=path)``."""

    def __init__(self, executable: str | None = None) -> None:
        self.executable = executable or chromium_path()
        if not self.executable:
            raise RuntimeError("chromium is not installed (Debian: apt-get install chromium)")
        self._profile = tempfile.TemporaryDirectory(prefix="aivlingual-chromium-", ignore_cleanup_errors=True)
        self._next_id = 0

    def __enter__(self) -> Browser:
        self._proc = subprocess.Popen([self.executable, *CHROMIUM_FLAGS, f"--user-data-dir={self._profile.name}",
                                       "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      start_new_session=True)
        port_file = Path(self._profile.name) / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.exists() and port_file.read_text().strip()):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self.__exit__(None, None, None)
                raise RuntimeError("chromium did not open its DevTools port")
            time.sleep(0.2)
        port = int(port_file.read_text().split()[0])
        pages = [t for t in requests.get(f"http://127.0.0.1:{port}/json/list", timeout=10).json()
                 if t["type"] == "page"]
        self._ws = connect(pages[0]["webSocketDebuggerUrl"], max_size=64 * 2**20, open_timeout=30)
        for domain in ("Page", "Runtime", "Network"):
            self._call(f"{domain}.enable")
        return self

    def __exit__(self, *exc) -> None:
        if getattr(self, "_ws", None) is not None:
            self._ws.close()
        # chromium's renderer and utility processes are in its process group: stop them all
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self._proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                self._proc.wait(timeout=20)
                break
            except subprocess.TimeoutExpired:
                continue
        self._profile.cleanup()

    # ---- the protocol ----------------------------------------------------------------------------------------
    def _call(self, method: str, **params):
        self._next_id += 1
        call_id = self._next_id
        self._ws.send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            message = json.loads(self._ws.recv(timeout=60))
            if message.get("id") == call_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self._event(message)

    def _event(self, message: dict) -> None:
        method, params = message.get("method"), message.get("params", {})
        if method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            self._errors.append(f"uncaught exception: {details.get('exception', {}).get('description') or details['text']}")
        elif method == "Network.responseReceived":
            response = params["response"]
            if "/graphql" in response["url"] and response["status"] >= 400:
                self._errors.append(f"GraphQL request failed: HTTP {response['status']}")
        elif method == "Network.loadingFailed" and params.get("type") == "Fetch" and not params.get("canceled"):
            self._errors.append(f"a request failed: {params.get('errorText')}")

    def _drain(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            try:
                self._event(json.loads(self._ws.recv(timeout=left)))
            except TimeoutError:
                return

    def text(self) -> str:
        result = self._call("Runtime.evaluate", expression="document.body ? document.body.innerText : ''",
                            returnByValue=True)
        return result["result"].get("value") or ""

    def click(self, text: str) -> bool:
        """Clicks the first button or link whose text is ``text``; whether there was one."""
        expression = (f"(() => {{ const b = [...document.querySelectorAll('button, a, [role=button]')]"
                      f".find(b => b.innerText.trim() === {json.dumps(text)}); if (b) b.click(); return !!b; }})()")
        return bool(self._call("Runtime.evaluate", expression=expression, returnByValue=True)["result"].get("value"))

    def images(self) -> list[dict]:
        """Every image on the page: where it comes from (a data: URI cut short), whether it decoded, its size."""
        expression = ("[...document.images].map(i => ({src: i.src.slice(0, 40), complete: i.complete, "
                      "width: i.naturalWidth, height: i.naturalHeight}))")
        return self._call("Runtime.evaluate", expression=expression, returnByValue=True)["result"].get("value") or []

    # ---- what the checks use ---------------------------------------------------------------------------------
    def open(self, url: str, *, expect: list[str], screenshot: Path, timeout: float = 90,
             settle: float = 2.0, height: int = 1000) -> PageResult:
        """Opens ``url``, waits until every text of ``expect`` is on the page and it has settled, screenshots it.

        The UI scrolls inside its own panes, so a long page is seen whole through a taller window (``height``).
        """
        self._errors: list[str] = []
        self._call("Emulation.setDeviceMetricsOverride", width=1600, height=height, deviceScaleFactor=1, mobile=False)
        self._call("Page.navigate", url=url)
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            self._drain(0.5)
            text = self.text()
            if all(e in text for e in expect):
                break
        missing = [e for e in expect if e not in text]
        self._drain(settle)  # late requests (counts, sparklines) land before the picture is taken
        if FIRST_VISIT_DIALOG in self.text() and self.click("Skip"):  # the newsletter dialog of a new profile
            self._drain(1.0)
        text = self.text()
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        shot = self._call("Page.captureScreenshot", format="png")
        screenshot.write_bytes(base64.b64decode(shot["data"]))
        errors = list(self._errors)
        errors += [f"the page shows {e!r}" for e in ERROR_TEXTS if e in text]
        errors += [f"{e!r} never appeared within {timeout:.0f}s" for e in missing]
        return PageResult(url, screenshot, text, errors)

    def click_and_shoot(self, text: str, screenshot: Path, settle: float = 3.0) -> list[str]:
        """Clicks ``text`` on the open page, lets it settle, screenshots it; the errors seen meanwhile."""
        self._errors = []
        errors = [] if self.click(text) else [f"nothing to click named {text!r}"]
        self._drain(settle)
        screenshot.write_bytes(base64.b64decode(self._call("Page.captureScreenshot", format="png")["data"]))
        page_text = self.text()
        return errors + self._errors + [f"the page shows {e!r}" for e in ERROR_TEXTS if e in page_text]
