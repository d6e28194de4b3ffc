"""The test command's throwaway PostgreSQL (`python -m paydesk.testing.postgres -- CMD`): gone
with its files however the run ends, and when it cannot start, it says why."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from paydesk.testing import postgres

try:
    postgres._bin_dir()
except postgres.PostgresUnavailable:  # pragma: no cover - scripts/test installs the server
    pytest.skip("PostgreSQL server binaries are not installed", allow_module_level=True)


def _accepts(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_sigterm_stops_the_server_and_deletes_its_files(tmp_path):
    runner = subprocess.Popen(
        [sys.executable, "-m", "paydesk.testing.postgres", "--", "sleep", "120"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = runner.stderr.readline()
        port = int(re.search(r"127\.0\.0\.1:(\d+)/", line).group(1))
        assert _accepts(port)
        folders = {Path(p) for p in Path("/tmp").glob("paydesk-pg-*")}
        runner.send_signal(signal.SIGTERM)
        assert runner.wait(timeout=60) != 0
        deadline = time.monotonic() + 30
        while _accepts(port) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _accepts(port)  # no postgres left running without its parent
        assert not [
            f for f in folders if f.exists() and str(port) in (f / "data" / "postmaster.opts").read_text()
        ]
    finally:
        if runner.poll() is None:
            runner.kill()


def test_a_server_that_cannot_start_says_why(tmp_path, monkeypatch):
    with socket.socket() as taken:  # the port it picked is taken before it starts
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        monkeypatch.setattr(postgres, "_free_port", lambda: taken.getsockname()[1])
        with pytest.raises(postgres.PostgresUnavailable) as refused:
            with postgres.throwaway_postgres():
                pass
    message = str(refused.value)
    assert message.startswith("pg_ctl failed") and "server.log" in message
