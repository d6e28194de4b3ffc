"""Starting, addressing and stopping an embedded sandbox."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import requests

from paydesk.sandbox import Sandbox, SandboxConfig, Timings

from .conftest import GENEROUS, open_order, result, sdk_client, signed_body, wait_for


def test_port_zero_picks_a_free_port_and_the_urls_follow_it():
    with Sandbox(SandboxConfig(port=0)) as sandbox:
        assert sandbox.port > 0
        assert sandbox.url == f"http://127.0.0.1:{sandbox.port}"
        assert sandbox.endpoint == f"{sandbox.url}/OffAmazonPayments_Sandbox/2013-01-01"
        assert sandbox.live_endpoint == f"{sandbox.url}/OffAmazonPayments/2013-01-01"
        assert sandbox.control_url == f"{sandbox.url}/sandbox"


def test_a_sandbox_starts_once():
    sandbox = Sandbox().start()
    sandbox.stop()
    with pytest.raises(RuntimeError):
        sandbox.start()


def test_a_stopped_sandbox_has_no_url():
    with pytest.raises(RuntimeError):
        _ = Sandbox().url


def test_stopping_releases_a_connection_held_by_a_timeout_fault():
    sandbox = Sandbox(SandboxConfig(throttling=False)).start()
    sandbox.arm_fault("GetServiceStatus", "timeout", hold_seconds=120)
    outcome: list[str] = []

    def call() -> None:
        try:
            requests.post(
                sandbox.endpoint,
                data=signed_body(sandbox.endpoint, {"Action": "GetServiceStatus"}),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
                timeout=GENEROUS * 4,
            )
            outcome.append("answered")
        except requests.ConnectionError:
            outcome.append("connection closed")

    caller = threading.Thread(target=call)
    caller.start()
    wait_for(lambda: sandbox.armed_faults() == [], what="the request to reach the fault")
    sandbox.stop()
    caller.join(timeout=GENEROUS * 4)
    assert outcome == ["connection closed"]


def test_pending_things_settle_on_real_time_without_moving_the_clock():
    fast = Timings(
        authorization_settle=timedelta(milliseconds=200), refund_settle=timedelta(milliseconds=200)
    )
    with Sandbox(SandboxConfig(throttling=False, timings=fast)) as sandbox:
        amazon = sdk_client(sandbox)
        order_id = open_order(sandbox, amazon)
        pending = result(amazon.authorize(order_id, "rt-a", "10.00", transaction_timeout=60), "Authorize")
        authorization_id = pending["AuthorizationDetails"]["AmazonAuthorizationId"]
        wait_for(lambda: sandbox.object_state(authorization_id)["status"]["state"] == "Open", what="settling")
        assert sandbox.clock.offset == timedelta(0)
