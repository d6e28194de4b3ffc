"""Running Paydesk in another process against the test's own database (SQLite file or the
throwaway PostgreSQL), as a second machine or a process that is about to be killed would."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    """DATABASE_URL of the database this test runs on (the test database, not the real one)."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    credentials = quote(db["USER"] or "")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"])
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def environment(**extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url(),
        "PAYDESK_DATA_DIR": str(settings.DATA_DIR),
        # The Amazon secret key is stored sealed with a key derived from SECRET_KEY.
        "PAYDESK_SECRET_KEY": settings.SECRET_KEY,
        "DJANGO_SETTINGS_MODULE": "paydesk.web.settings",
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        **extra,
    }


def start(args: list[str], *, log: Path, **extra: str) -> subprocess.Popen:
    with log.open("w") as out:
        return subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT,
            env=environment(**extra),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )


def run(args: list[str], *, log: Path, timeout: float = 120, **extra: str) -> int:
    """Run a Paydesk process to its end; its exit status (killed after `timeout`)."""
    process = start(args, log=log, **extra)
    try:
        return process.wait(timeout=timeout)
    finally:
        stop(process)


def eventually(check: Callable[[], object], *, timeout: float = 60.0, what: str, log: Path | None = None):
    """Poll `check` until it returns something true (no timing is asserted: the deadline is
    generous and only stops a hung test)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    detail = f"\n--- process log ---\n{log.read_text()}" if log is not None and log.exists() else ""
    raise AssertionError(f"{what} did not happen within {timeout:g} s{detail}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.kill()
    process.wait(timeout=30)
