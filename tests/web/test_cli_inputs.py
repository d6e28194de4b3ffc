"""The `paydesk` command given what it cannot use: one clear line and an exit status, never a
traceback or a server that starts and then hangs."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

_CLEAN = {k: v for k, v in os.environ.items() if not k.startswith(("PAYDESK_", "DJANGO_", "DATABASE_URL"))}


def paydesk(*args: str, tmp_path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "paydesk", *args],
        env={**_CLEAN, "PAYDESK_DATA_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["serve", "--port", "70000"], "ports are 0 to 65535"),
        (["serve", "--threads", "0"], "at least 1"),
        (["demo", "--sandbox-port", "-1"], "ports are 0 to 65535"),
        (["reconcile", "--workers", "0"], "at least 1"),
        (["demo", "--orders", "-5"], "at least 0"),
        (["demo", "--port", "0"], "0 would leave IPNs no address"),
        (["sandbox", "--port", "eighty"], "not a whole number"),
    ],
)
def test_numbers_no_server_can_use_are_refused_before_anything_starts(tmp_path, args, says):
    done = paydesk(*args, tmp_path=tmp_path)
    assert done.returncode == 2 and says in done.stderr


def test_a_busy_port_is_one_line_not_a_traceback(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = paydesk("sandbox", "--port", str(port), tmp_path=tmp_path)
    assert done.returncode == 1
    assert "paydesk sandbox: cannot listen there" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(("url", "says"), [("nonsense", "is not a database URL"), ("", None)])
def test_database_url_that_names_no_database(tmp_path, url, says):
    done = paydesk("manage", "check", tmp_path=tmp_path, DATABASE_URL=url)
    if says is None:  # set but empty: the default SQLite
        assert done.returncode == 0, done.stderr
    else:
        assert done.returncode == 2 and says in done.stderr and "Traceback" not in done.stderr
