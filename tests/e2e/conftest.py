"""Browser tests: a real `paydesk demo` process (web app + sandbox) driven by Debian's Chromium
through Playwright. `scripts/bootstrap test` installs Chromium; nothing is downloaded here."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
USER, PASSWORD = "staff", "e2e-password-123"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Desk:
    url: str
    sandbox_url: str
    log: Path

    def sandbox(self, method: str, path: str, **kwargs) -> httpx.Response:
        response = httpx.request(method, f"{self.sandbox_url}/sandbox{path}", timeout=10, **kwargs)
        response.raise_for_status()
        return response


@pytest.fixture(scope="session")
def desk(tmp_path_factory) -> Desk:
    data = tmp_path_factory.mktemp("desk")
    port, sandbox_port = _free_port(), _free_port()
    log = data / "demo.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "paydesk",
                "demo",
                "--orders",
                "0",
                "--data-dir",
                str(data / "demo"),  # a folder of its own: the demo runs only in one it made
                "--port",
                str(port),
                "--sandbox-port",
                str(sandbox_port),
                "--user",
                USER,
                "--password",
                PASSWORD,
                # On the PostgreSQL pass, the desk runs on that server too (the demo ignores
                # DATABASE_URL unless told).
                *(["--database-url", os.environ["DATABASE_URL"]] if os.environ.get("DATABASE_URL") else []),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        if process.poll() is not None:
            pytest.fail(f"paydesk demo exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/login/", timeout=2).status_code == 200 and "Press Ctrl-C" in log.read_text():
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"paydesk demo did not come up:\n{log.read_text()}")
        time.sleep(0.2)
    yield Desk(url, f"http://127.0.0.1:{sandbox_port}", log)
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run scripts/bootstrap test (it installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


def log_in(page, desk: Desk) -> None:
    page.goto(f"{desk.url}/login/")
    page.fill("#id_username", USER)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{desk.url}/orders/")


@pytest.fixture
def page(browser, desk):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    # Every payment button asks "...?" first; the staff member says yes.
    page.on("dialog", lambda dialog: dialog.accept())
    log_in(page, desk)
    yield page
    context.close()
