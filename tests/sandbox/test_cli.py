"""`paydesk sandbox`, run as the user would: a real process, stopped with SIGTERM."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest

from paydesk.sandbox import DEMO_SECRET_KEY
from paydesk.sandbox.cli import add_arguments, build_config

from .conftest import GENEROUS


def start(*arguments: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], list[str]]:
    """Start `python -m paydesk ...` and read its banner (up to the control API line)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "paydesk", *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **(env or {})},
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    banner: list[str] = []
    while not any("control API" in line for line in banner):
        try:
            line = lines.get(timeout=GENEROUS)
        except queue.Empty:
            process.kill()
            raise AssertionError(f"no banner from paydesk {arguments}: {banner}") from None
        if line is None:
            raise AssertionError(f"paydesk {arguments} ended early: {''.join(banner)}")
        banner.append(line)
    process.reader = lines  # type: ignore[attr-defined]
    return process, banner


def stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=GENEROUS)
    rest = []
    while (line := process.reader.get(timeout=GENEROUS)) is not None:  # type: ignore[attr-defined]
        rest.append(line)
    return "".join(rest)


def url_in(lines: list[str], label: str) -> str:
    (found,) = [re.search(r"(http://\S+)", line)[1] for line in lines if line.strip().startswith(label)]
    return found


def test_the_sandbox_command_prints_its_endpoint_answers_and_stops_on_sigterm():
    process, lines = start("sandbox", "--port", "0", "--no-throttle")
    try:
        endpoint = url_in(lines, "endpoint")
        assert endpoint.endswith("/OffAmazonPayments_Sandbox/2013-01-01")
        assert any(DEMO_SECRET_KEY in line for line in lines)  # the public demo secret may be shown
        control = url_in(lines, "control API")
        with urllib.request.urlopen(control, timeout=10) as response:
            assert json.loads(response.read())["endpoint"] == endpoint
    finally:
        output = stop(process)
    assert process.returncode == 0
    assert "Sandbox stopped." in output


def test_a_real_secret_key_is_never_printed(tmp_path: Path):
    secret = "a-real-looking-secret-0123456789"
    process, lines = start(
        "sandbox",
        "--port",
        "0",
        "--state",
        str(tmp_path / "state.sqlite3"),
        env={"PAYDESK_SANDBOX_SECRET_KEY": secret},
    )
    output = "".join(lines) + stop(process)
    assert secret not in output
    assert "(as configured; not shown)" in output


def test_command_line_options_reach_the_configuration():
    import argparse

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(
        [
            "--port",
            "9001",
            "--ipn-url",
            "http://127.0.0.1:8000/ipn",
            "--ipn-url",
            "http://127.0.0.1:8002/ipn",
            "--no-throttle",
            "--refund-settle",
            "30",
            "--auth-expiry-days",
            "2",
            "--ipn-retry",
            "any-failure",
        ]
    )
    config = build_config(args)
    assert config.port == 9001 and not config.throttling
    assert config.ipn.urls == ("http://127.0.0.1:8000/ipn", "http://127.0.0.1:8002/ipn")
    assert config.ipn.retry_policy == "any-failure"
    assert config.timings.refund_settle.total_seconds() == 30
    assert config.timings.authorization_expiry.days == 2


def test_without_an_expiry_option_unused_authorizations_follow_amazons_rule_for_each_path():
    import argparse

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert build_config(parser.parse_args([])).timings.authorization_expiry is None


def test_a_bad_ipn_url_is_refused_before_starting():
    import argparse

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    with pytest.raises(ValueError):
        build_config(parser.parse_args(["--ipn-url", "ftp://example.org/ipn"]))
