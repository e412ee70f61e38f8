"""Fixtures for the browser check of the built book: a loopback HTTP server over _build/html and headless Chromium.

Run with `make browser` (after `make book`), or `.venv/bin/python -m pytest tests/browser -q`.
Debian's chromium and chromium-driver are installed by `.ci/install-browser`.
"""

from __future__ import annotations

import functools
import os
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "html"
ARTEFACTS = ROOT / "_build" / "browser"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
WINDOW = (1280, 2000)


def _missing(reason: str) -> None:
    """Skip on a developer's machine, fail under CI (where the book and the browser must be there)."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)", pytrace=False)
    pytest.skip(reason)


class _RecordingHandler(SimpleHTTPRequestHandler):
    """Serves _build/html and records every response: (status, path, referer), so a 404 for any page or resource is seen."""

    log: list[tuple[int, str, str]]
    lock: threading.Lock

    def log_request(self, code="-", size="-"):  # called by send_response, so also for send_error (404)
        try:
            status = int(code)  # an HTTPStatus or an int; "-" when the request line could not be parsed
        except (TypeError, ValueError):
            status = 0
        with self.lock:
            self.log.append((status, self.path, self.headers.get("Referer", "") if self.headers else ""))

    def log_message(self, format, *args):  # keep the test output quiet
        pass


@pytest.fixture(scope="session")
def book_html() -> Path:
    if not (HTML / "index.html").is_file():
        _missing(f"no built book at {HTML.relative_to(ROOT)}/index.html: run `make book` first")
    return HTML


@pytest.fixture(scope="session")
def server(book_html):
    """The book over HTTP on 127.0.0.1, a free port, in a background thread; yields (base_url, response log)."""
    # Served, not file://: a user's browser (or any host of the book) fetches it over HTTP, where a link to a
    # missing file is a 404 we can record; file:// fails silently and gives each page an opaque origin (search differs).
    handler = functools.partial(_RecordingHandler, directory=str(book_html))
    _RecordingHandler.log = []
    _RecordingHandler.lock = threading.Lock()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, name="book-http", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/", _RecordingHandler.log
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="session")
def driver(tmp_path_factory):
    """Headless Debian Chromium through Debian's chromedriver; never lets Selenium Manager download anything."""
    for binary in (CHROMIUM, CHROMEDRIVER):
        if not (binary.is_file() and os.access(binary, os.X_OK)):
            _missing(f"{binary} is missing: run .ci/install-browser (Debian packages chromium, chromium-driver)")
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager, if ever consulted, must not go to the network
    os.environ["SE_AVOID_STATS"] = "true"
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
        # Loopback only: any other host name fails at once (e.g. MathJax's CDN), so no run waits on or uses the network.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(arg)
    service = Service(executable_path=str(CHROMEDRIVER), log_output=os.devnull)
    drv = webdriver.Chrome(service=service, options=options)
    try:
        drv.set_window_size(*WINDOW)
        drv.set_page_load_timeout(30)
        yield drv
    finally:
        drv.quit()


@pytest.fixture(scope="session")
def artefacts() -> Path:
    """_build/browser: the screenshots kept as test artefacts (emptied at the start of a run)."""
    shutil.rmtree(ARTEFACTS, ignore_errors=True)
    ARTEFACTS.mkdir(parents=True)
    return ARTEFACTS
