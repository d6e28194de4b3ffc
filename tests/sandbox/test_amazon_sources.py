"""Behaviour pinned to Amazon's own pages and replies, driven through Amazon's Python SDK as a
merchant would: repeated order reference calls, how long unused authorizations live on each path,
SellerNote and its simulated constraint, text limits, a replayed CaptureNow Authorize and Amazon's
wording for an amount it cannot read. Each test names its source."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from amazon_pay.client import AmazonPayClient

from paydesk.sandbox import Sandbox, SandboxConfig, Timings

from .conftest import GENEROUS, error, open_order, quiet_timings, result, sdk_client

CONSTRAINT_NOTE = json.dumps({"SandboxSimulation": {"Constraint": "PaymentMethodNotAllowed"}})


def order_details(amazon: AmazonPayClient, order_id: str) -> dict[str, Any]:
    return result(amazon.get_order_reference_details(order_id), "GetOrderReferenceDetails")[
        "OrderReferenceDetails"
    ]


def authorize(amazon: AmazonPayClient, order_id: str, reference: str, amount: str, **options: Any) -> dict:
    reply = amazon.authorize(order_id, reference, amount, transaction_timeout=0, **options)
    return result(reply, "Authorize")["AuthorizationDetails"]


def authorization_state(amazon: AmazonPayClient, authorization_id: str) -> tuple[str, str | None]:
    details = result(amazon.get_authorization_details(authorization_id), "GetAuthorizationDetails")
    status = details["AuthorizationDetails"]["AuthorizationStatus"]
    return status["State"], status.get("ReasonCode")


def notifications_sent(sandbox: Sandbox) -> int:
    assert sandbox.wait_for_ipn_idle(GENEROUS)
    return len(sandbox.ipn_deliveries())


# -- repeated order reference calls ------------------------------------------------------------------
# "If you make an API call with a unique reference ID, you can call the same operation on an already
# successful request ... the call will return the result of the initial call. For order reference
# requests, the unique (idempotency) reference ID is the AmazonOrderReferenceId."
# (pay.amazon.com/us/developer/documentation/lpwa/201954950)


def test_confirming_an_open_order_reference_again_succeeds_without_a_change_or_an_ipn(
    sandbox_with_ipn: Sandbox,
):
    amazon = sdk_client(sandbox_with_ipn)
    order_id = open_order(sandbox_with_ipn, amazon)
    before = order_details(amazon, order_id)["OrderReferenceStatus"]
    sent = notifications_sent(sandbox_with_ipn)
    sandbox_with_ipn.advance_clock("PT1M")
    repeated = amazon.confirm_order_reference(order_id)
    assert repeated.success, repeated.to_xml()
    assert order_details(amazon, order_id)["OrderReferenceStatus"] == before
    assert notifications_sent(sandbox_with_ipn) == sent


@pytest.mark.parametrize("end", ["cancel", "close"])
def test_a_canceled_or_closed_order_reference_still_cannot_be_confirmed(
    sandbox: Sandbox, amazon: AmazonPayClient, end: str
):
    order_id = open_order(sandbox, amazon)
    ended = (
        amazon.cancel_order_reference(order_id) if end == "cancel" else amazon.close_order_reference(order_id)
    )
    assert ended.success
    assert error(amazon.confirm_order_reference(order_id))["Code"] == "InvalidOrderReferenceStatus"


def test_canceling_an_order_reference_again_succeeds_without_a_change_or_an_ipn(sandbox_with_ipn: Sandbox):
    amazon = sdk_client(sandbox_with_ipn)
    order_id = open_order(sandbox_with_ipn, amazon)
    assert amazon.cancel_order_reference(order_id, cancelation_reason="out of stock").success
    before = order_details(amazon, order_id)["OrderReferenceStatus"]
    assert (before["ReasonCode"], before["ReasonDescription"]) == ("SellerCanceled", "out of stock")
    sent = notifications_sent(sandbox_with_ipn)
    sandbox_with_ipn.advance_clock("PT1M")
    repeated = amazon.cancel_order_reference(order_id, cancelation_reason="a second thought")
    assert repeated.success, repeated.to_xml()
    assert order_details(amazon, order_id)["OrderReferenceStatus"] == before
    assert notifications_sent(sandbox_with_ipn) == sent


def test_an_order_reference_amazon_canceled_as_stale_cannot_be_canceled(
    sandbox: Sandbox, amazon: AmazonPayClient
):
    order_id = sandbox.create_order_reference(amount="10.00", currency="USD")
    sandbox.advance_clock("PT3H1M")
    assert order_details(amazon, order_id)["OrderReferenceStatus"]["ReasonCode"] == "Stale"
    assert error(amazon.cancel_order_reference(order_id))["Code"] == "InvalidOrderReferenceStatus"


# -- how long an unused authorization lives ----------------------------------------------------------
# "An Authorization object in the Open state | Moves to a Closed state in 30 days | Moves to a Closed
# state in two days" (developer.amazon.com/docs/eu/amazon-pay-onetime/differences-between-environments.html)


def test_an_unused_authorization_on_the_sandbox_path_closes_after_two_days(
    sandbox: Sandbox, amazon: AmazonPayClient
):
    authorization = authorize(amazon, open_order(sandbox, amazon), "two-days", "100.00")
    created = datetime.fromisoformat(authorization["CreationTimestamp"])
    # ExpirationTimestamp still says 30 days, as in Amazon's sandbox fixtures (S01- ids).
    assert datetime.fromisoformat(authorization["ExpirationTimestamp"]) - created == timedelta(days=30)
    sandbox.advance_clock("P1DT23H58M")
    assert authorization_state(amazon, authorization["AmazonAuthorizationId"]) == ("Open", None)
    sandbox.advance_clock("PT3M")
    assert authorization_state(amazon, authorization["AmazonAuthorizationId"]) == ("Closed", "ExpiredUnused")


def test_an_unused_authorization_on_the_live_path_closes_after_30_days(sandbox: Sandbox):
    amazon = sdk_client(sandbox)
    order_id = open_order(sandbox, amazon)
    amazon._mws_endpoint = sandbox.live_endpoint
    authorization_id = authorize(amazon, order_id, "thirty-days", "100.00")["AmazonAuthorizationId"]
    sandbox.advance_clock("P29DT23H58M")
    assert authorization_state(amazon, authorization_id) == ("Open", None)
    sandbox.advance_clock("PT3M")
    assert authorization_state(amazon, authorization_id) == ("Closed", "ExpiredUnused")


def test_a_configured_expiry_keeps_sandbox_path_authorizations_open_longer():
    timings = Timings(
        authorization_settle=quiet_timings().authorization_settle,
        authorization_expiry=timedelta(days=30),
    )
    with Sandbox(SandboxConfig(throttling=False, timings=timings)) as sandbox:
        amazon = sdk_client(sandbox)
        authorization_id = authorize(amazon, open_order(sandbox, amazon), "kept", "100.00")[
            "AmazonAuthorizationId"
        ]
        sandbox.advance_clock("P29D")
        assert authorization_state(amazon, authorization_id) == ("Open", None)


# -- SellerNote and its simulated constraint -----------------------------------------------------------
# "In order to remove the constraint again, you must explicitly overwrite the simulation string in the
# SellerNote by means of an additional SetOrderReferenceDetails call."
# (developer.amazon.com/docs/eu/amazon-pay-onetime/sandbox-simulations.html)


def test_details_without_a_seller_note_keep_the_note_and_its_simulated_constraint(
    sandbox: Sandbox, amazon: AmazonPayClient
):
    order_id = sandbox.create_order_reference(amount="10.00", currency="USD")
    result(
        amazon.set_order_reference_details(order_id, "10.00", seller_note=CONSTRAINT_NOTE),
        "SetOrderReferenceDetails",
    )
    kept = result(
        amazon.set_order_reference_details(order_id, "12.00", seller_order_id="order-9"),
        "SetOrderReferenceDetails",
    )["OrderReferenceDetails"]
    assert kept["SellerNote"] == CONSTRAINT_NOTE
    assert kept["Constraints"]["Constraint"]["ConstraintID"] == "PaymentMethodNotAllowed"
    assert error(amazon.confirm_order_reference(order_id))["Code"] == "ConstraintsExist"
    result(
        amazon.set_order_reference_details(order_id, "12.00", seller_note="Gift wrap"),
        "SetOrderReferenceDetails",
    )
    assert amazon.confirm_order_reference(order_id).success


def test_an_empty_seller_note_overwrites_the_simulation_string(sandbox: Sandbox, amazon: AmazonPayClient):
    order_id = sandbox.create_order_reference(amount="10.00", currency="USD")
    result(
        amazon.set_order_reference_details(order_id, "10.00", seller_note=CONSTRAINT_NOTE),
        "SetOrderReferenceDetails",
    )
    cleared = result(
        amazon.set_order_reference_details(order_id, "10.00", seller_note=""), "SetOrderReferenceDetails"
    )["OrderReferenceDetails"]
    assert "SellerNote" not in cleared and "Constraints" not in cleared
    assert amazon.confirm_order_reference(order_id).success


def test_set_order_attributes_treats_the_seller_note_the_same_way(sandbox: Sandbox, amazon: AmazonPayClient):
    order_id = sandbox.create_order_reference(amount="10.00", currency="USD")
    result(amazon.set_order_attributes(order_id, seller_note=CONSTRAINT_NOTE), "SetOrderAttributes")
    kept = result(amazon.set_order_attributes(order_id, seller_order_id="order-9"), "SetOrderAttributes")
    assert (
        kept["OrderReferenceDetails"]["Constraints"]["Constraint"]["ConstraintID"]
        == "PaymentMethodNotAllowed"
    )
    cleared = result(amazon.set_order_attributes(order_id, seller_note=""), "SetOrderAttributes")
    assert "Constraints" not in cleared["OrderReferenceDetails"]


# -- text limits ----------------------------------------------------------------------------------------
# SellerNote "Maximum: 1024 characters" (orderreferenceattributes.html, orderattributes.html);
# CancelationReason 1024 (API reference). SellerOrderId & co: no documented maximum, our cap is 1024.


def test_seller_note_and_cancelation_reason_take_up_to_1024_characters(
    sandbox: Sandbox, amazon: AmazonPayClient
):
    order_id = sandbox.create_order_reference(amount="10.00", currency="USD")
    too_long = amazon.set_order_reference_details(order_id, "10.00", seller_note="n" * 1025)
    assert error(too_long)["Code"] == "InvalidParameterValue"
    result(
        amazon.set_order_reference_details(order_id, "10.00", seller_note="n" * 1024),
        "SetOrderReferenceDetails",
    )
    assert amazon.confirm_order_reference(order_id).success
    assert error(amazon.cancel_order_reference(order_id, "r" * 1025))["Code"] == "InvalidParameterValue"
    assert amazon.cancel_order_reference(order_id, "r" * 1024).success


def test_the_sandbox_caps_seller_order_attributes_at_1024_characters(
    sandbox: Sandbox, amazon: AmazonPayClient
):
    order_id = sandbox.create_order_reference(amount="10.00", currency="USD")
    too_long = amazon.set_order_reference_details(order_id, "10.00", seller_order_id="o" * 1025)
    assert error(too_long)["Code"] == "InvalidParameterValue"


# -- a replayed CaptureNow Authorize ---------------------------------------------------------------------


def test_a_replayed_capture_now_authorize_reports_what_was_captured(
    sandbox: Sandbox, amazon: AmazonPayClient
):
    order_id = open_order(sandbox, amazon)
    first = authorize(amazon, order_id, "now-again", "100.00", capture_now=True)
    assert first["CapturedAmount"]["Amount"] == "0.00"  # Amazon's first CaptureNow reply (CS fixtures)
    again = authorize(amazon, order_id, "now-again", "100.00", capture_now=True)
    assert again["AmazonAuthorizationId"] == first["AmazonAuthorizationId"]
    assert again["CapturedAmount"]["Amount"] == "100.00"


# -- an amount Amazon cannot read ------------------------------------------------------------------------
# "The Value '0.0099999999999998' is invalid for the Parameter 'Amount'" (a live reply quoted in
# amzn/amazon-payments-magento-2-plugin issue #65)


@pytest.mark.parametrize("amount", ["0.0099999999999998", "0.00", "ten"])
def test_an_unreadable_amount_is_refused_in_amazons_words(
    sandbox: Sandbox, amazon: AmazonPayClient, amount: str
):
    order_id = open_order(sandbox, amazon)
    refused = error(amazon.authorize(order_id, "bad-amount", amount, transaction_timeout=0))
    assert refused == {
        "Type": "Sender",
        "Code": "InvalidParameterValue",
        "Message": f"The Value '{amount}' is invalid for the Parameter 'Amount'",
    }
