"""`--state FILE`: a restarted sandbox carries on with the same objects, clock and signing key."""

from __future__ import annotations

from pathlib import Path

from paydesk.sandbox import Sandbox, SandboxConfig

from .conftest import open_order, quiet_timings, result, sdk_client


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
