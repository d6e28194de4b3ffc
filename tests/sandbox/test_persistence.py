"""`--state FILE`: a restarted sandbox carries on with the same objects, clock and signing key."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from paydesk.sandbox import IpnSettings, Sandbox, SandboxConfig

from .conftest import GENEROUS, open_order, quiet_timings, result, sdk_client, wait_for


def config(state_file: Path) -> SandboxConfig:
    return SandboxConfig(throttling=False, timings=quiet_timings(), state_file=state_file)


def test_a_restarted_sandbox_remembers_objects_clock_key_and_reference_ids(tmp_path: Path):
    state_file = tmp_path / "sandbox.sqlite3"
    with Sandbox(config(state_file)) as first:
        amazon = sdk_client(first)
        order_id = open_order(first, amazon)
        authorization = result(
            amazon.authorize(order_id, "keep-a", "100.00", transaction_timeout=0), "Authorize"
        )
        authorization_id = authorization["AuthorizationDetails"]["AmazonAuthorizationId"]
        capture = result(amazon.capture(authorization_id, "keep-c", "100.00"), "Capture")["CaptureDetails"]
        first.advance_clock("P1D")
        refund = result(amazon.refund(capture["AmazonCaptureId"], "keep-r", "20.00"), "Refund")[
            "RefundDetails"
        ]
        clock_before = first.now()
        certificate = first.signing_certificate_pem()

    with Sandbox(config(state_file)) as second:
        amazon = sdk_client(second)
        assert second.now() >= clock_before
        assert second.signing_certificate_pem() == certificate
        order = result(amazon.get_order_reference_details(order_id), "GetOrderReferenceDetails")
        assert order["OrderReferenceDetails"]["IdList"]["member"] == authorization_id
        # A refund left Pending before the restart still completes.
        assert second.object_state(refund["AmazonRefundId"])["status"]["state"] == "Pending"
        second.advance_clock("PT1M")
        assert second.object_state(refund["AmazonRefundId"])["status"]["state"] == "Completed"
        # Amazon's idempotency survives: the same reference id gives the same capture back.
        replayed = result(amazon.capture(authorization_id, "keep-c", "100.00"), "Capture")["CaptureDetails"]
        assert replayed["AmazonCaptureId"] == capture["AmazonCaptureId"]


def test_without_a_state_file_nothing_survives(tmp_path: Path):
    with Sandbox(SandboxConfig(throttling=False)) as first:
        order_id = first.create_order_reference(amount="1.00", currency="USD")
    with Sandbox(SandboxConfig(throttling=False)) as second:
        assert second.engine.find(order_id) is None


def test_ipn_deliveries_waiting_for_a_retry_are_sent_after_a_restart(tmp_path: Path, ipn_receiver):
    state_file = tmp_path / "sandbox.sqlite3"
    ipn = IpnSettings(urls=(ipn_receiver.url,), retry_first_delay=timedelta(seconds=2), max_attempts=4)
    ipn_receiver.statuses.append(500)  # the store's endpoint is down for the first attempt
    with Sandbox(replace(config(state_file), ipn=ipn)) as first:
        order_id = first.create_order_reference(amount="1.00", currency="USD")
        assert sdk_client(first).confirm_order_reference(order_id).success
        (failed,) = ipn_receiver.wait_for(1)
        wait_for(lambda: first.ipn_deliveries()[0]["attempts"], GENEROUS, "the first attempt recorded")
        # Stopped (as by a restart) before the retry two seconds later.

    with Sandbox(replace(config(state_file), ipn=ipn)) as second:
        attempts = ipn_receiver.wait_for(2)
        assert second.wait_for_ipn_idle(GENEROUS)
        (delivery,) = second.ipn_deliveries()

    assert attempts[1].envelope()["MessageId"] == failed.envelope()["MessageId"]
    assert attempts[1].body == failed.body  # the same signed message, as SNS retries it
    assert delivery["state"] == "delivered"
    assert [attempt["status"] for attempt in delivery["attempts"]] == [500, 200]
    with Sandbox(replace(config(state_file), ipn=ipn)) as third:
        time.sleep(0.3)
        assert third.ipn_deliveries() == []  # delivered: nothing is sent again
    assert len(ipn_receiver.messages()) == 2


def test_a_state_file_in_a_folder_not_made_yet_is_made(tmp_path: Path):
    # docs/sandbox.md's `--state var/sandbox.sqlite3`, on a fresh clone with no var/.
    state_file = tmp_path / "var" / "deeper" / "sandbox.sqlite3"
    with Sandbox(config(state_file)) as sandbox:
        assert sandbox.now() is not None
    assert state_file.exists()
