"""Amazon's own Python SDK (amazon-pay 2.7.1) drives the sandbox through whole payment flows;
every assertion is on what the SDK parsed out of the reply."""

from __future__ import annotations

import json

import pytest
from amazon_pay.client import AmazonPayClient

from paydesk.sandbox import Sandbox, SandboxConfig

from .conftest import error, open_order, quiet_timings, result, sdk_client


def simulate(**outcome: object) -> str:
    return json.dumps({"SandboxSimulation": outcome})


def authorize(amazon: AmazonPayClient, order_id: str, reference: str, amount: str, **options: object) -> dict:
    options.setdefault("transaction_timeout", 0)
    return result(amazon.authorize(order_id, reference, amount, **options), "Authorize")[
        "AuthorizationDetails"
    ]


def test_a_whole_order_sync_authorize_capture_partial_refunds_close(
    sandbox: Sandbox, amazon: AmazonPayClient
):
    order_id = sandbox.create_order_reference(amount="80.00", currency="USD")

    draft = result(amazon.get_order_reference_details(order_id), "GetOrderReferenceDetails")[
        "OrderReferenceDetails"
    ]
    assert draft["OrderReferenceStatus"]["State"] == "Draft"
    assert "Buyer" not in draft  # Amazon shows the buyer only after confirmation
    assert set(draft["Destination"]["PhysicalDestination"]) == {
        "City",
        "StateOrRegion",
        "PostalCode",
        "CountryCode",
    }

    details = result(
        amazon.set_order_reference_details(
            order_id, "80.00", seller_order_id="order-77", store_name="Paydesk Shop"
        ),
        "SetOrderReferenceDetails",
    )["OrderReferenceDetails"]
    assert details["OrderTotal"] == {"Amount": "80.00", "CurrencyCode": "USD"}
    assert details["SellerOrderAttributes"]["SellerOrderId"] == "order-77"

    confirmed = amazon.confirm_order_reference(order_id)
    assert confirmed.success and confirmed.request_id
    opened = result(amazon.get_order_reference_details(order_id), "GetOrderReferenceDetails")[
        "OrderReferenceDetails"
    ]
    assert opened["OrderReferenceStatus"]["State"] == "Open"
    assert opened["Buyer"]["Name"] == "Jane Buyer"
    assert opened["Destination"]["PhysicalDestination"]["AddressLine1"] == "123 Any Street"
    assert opened["ReleaseEnvironment"] == "Sandbox"

    authorization = authorize(amazon, order_id, "order-77-auth", "80.00")
    authorization_id = authorization["AmazonAuthorizationId"]
    assert authorization_id.startswith(order_id + "-A")
    assert authorization["AuthorizationStatus"]["State"] == "Open"
    assert authorization["AuthorizationAmount"] == {"Amount": "80.00", "CurrencyCode": "USD"}

    capture = result(
        amazon.capture(authorization_id, "order-77-cap", "80.00", soft_descriptor="PAYDESK"), "Capture"
    )
    capture = capture["CaptureDetails"]
    capture_id = capture["AmazonCaptureId"]
    assert capture["CaptureStatus"]["State"] == "Completed"
    assert capture["SoftDescriptor"] == "AMZ*PAYDESK"

    closed_authorization = result(
        amazon.get_authorization_details(authorization_id), "GetAuthorizationDetails"
    )
    closed_authorization = closed_authorization["AuthorizationDetails"]
    assert closed_authorization["AuthorizationStatus"]["State"] == "Closed"
    assert closed_authorization["AuthorizationStatus"]["ReasonCode"] == "MaxCapturesProcessed"
    assert closed_authorization["IdList"]["member"] == capture_id
    assert closed_authorization["CapturedAmount"]["Amount"] == "80.00"

    refund_ids = []
    for number, amount in enumerate(("10.00", "15.50", "4.50"), start=1):
        refund = result(amazon.refund(capture_id, f"order-77-ref-{number}", amount, "sorry"), "Refund")[
            "RefundDetails"
        ]
        assert refund["RefundStatus"]["State"] == "Pending"
        assert refund["RefundAmount"]["Amount"] == amount
        refund_ids.append(refund["AmazonRefundId"])

    sandbox.advance_clock("PT1M")
    for refund_id in refund_ids:
        refund = result(amazon.get_refund_details(refund_id), "GetRefundDetails")["RefundDetails"]
        assert refund["RefundStatus"]["State"] == "Completed"
    after = result(amazon.get_capture_details(capture_id), "GetCaptureDetails")["CaptureDetails"]
    assert after["RefundedAmount"] == {"Amount": "30.00", "CurrencyCode": "USD"}
    assert after["IdList"]["member"] == refund_ids

    assert amazon.close_order_reference(order_id, "shipped and settled").success
    final = result(amazon.get_order_reference_details(order_id), "GetOrderReferenceDetails")[
        "OrderReferenceDetails"
    ]
    assert final["OrderReferenceStatus"]["State"] == "Closed"
    assert final["OrderReferenceStatus"]["ReasonCode"] == "SellerClosed"
    assert final["OrderReferenceStatus"]["ReasonDescription"] == "shipped and settled"
    assert final["IdList"]["member"] == authorization_id


def test_an_asynchronous_authorization_is_pending_until_the_clock_moves(
    sandbox: Sandbox, amazon: AmazonPayClient
):
    order_id = open_order(sandbox, amazon)
    pending = authorize(amazon, order_id, "async-1", "100.00", transaction_timeout=1440)
    assert pending["AuthorizationStatus"]["State"] == "Pending"
    authorization_id = pending["AmazonAuthorizationId"]
    sandbox.advance_clock("PT1M")
    settled = result(amazon.get_authorization_details(authorization_id), "GetAuthorizationDetails")
    assert settled["AuthorizationDetails"]["AuthorizationStatus"]["State"] == "Open"


def test_authorize_with_capture_now_charges_at_once(sandbox: Sandbox, amazon: AmazonPayClient):
    order_id = open_order(sandbox, amazon)
    charged = authorize(amazon, order_id, "now-1", "100.00", capture_now=True)
    assert charged["AuthorizationStatus"]["State"] == "Closed"
    assert charged["AuthorizationStatus"]["ReasonCode"] == "MaxCapturesProcessed"
    assert charged["CaptureNow"] == "true"
    assert charged["CapturedAmount"]["Amount"] == "0.00"  # Amazon's first reply says 0 too
    capture_id = charged["IdList"]["member"]
    assert capture_id == charged["AmazonAuthorizationId"].replace("-A", "-C")
    capture = result(amazon.get_capture_details(capture_id), "GetCaptureDetails")["CaptureDetails"]
    assert capture["CaptureStatus"]["State"] == "Completed"
    assert capture["CaptureAmount"]["Amount"] == "100.00"
    again = result(
        amazon.get_authorization_details(charged["AmazonAuthorizationId"]), "GetAuthorizationDetails"
    )
    assert again["AuthorizationDetails"]["CapturedAmount"]["Amount"] == "100.00"


def test_the_sdks_charge_helper_works_end_to_end(sandbox: Sandbox, amazon: AmazonPayClient):
    order_id = sandbox.create_order_reference(amount="12.34", currency="USD")
    charged = amazon.charge(order_id, "12.34", "charge-1", "thanks")
    details = result(charged, "Authorize")["AuthorizationDetails"]
    assert details["AuthorizationStatus"]["ReasonCode"] == "MaxCapturesProcessed"


def test_void_closes_an_open_authorization(sandbox: Sandbox, amazon: AmazonPayClient):
    order_id = open_order(sandbox, amazon)
    authorization_id = authorize(amazon, order_id, "void-1", "100.00")["AmazonAuthorizationId"]
    closed = amazon.close_authorization(authorization_id, "customer canceled")
    assert closed.success
    assert "CloseAuthorizationResult" in closed.to_dict()["CloseAuthorizationResponse"]
    details = result(amazon.get_authorization_details(authorization_id), "GetAuthorizationDetails")
    status = details["AuthorizationDetails"]["AuthorizationStatus"]
    assert (status["State"], status["ReasonCode"], status["ReasonDescription"]) == (
        "Closed",
        "SellerClosed",
        "customer canceled",
    )
    assert error(amazon.capture(authorization_id, "void-cap", "1.00"))["Code"] == "InvalidAuthorizationStatus"


def test_cancel_closes_the_order_and_its_authorizations(sandbox: Sandbox, amazon: AmazonPayClient):
    order_id = open_order(sandbox, amazon)
    authorization_id = authorize(amazon, order_id, "cancel-1", "50.00")["AmazonAuthorizationId"]
    assert amazon.cancel_order_reference(order_id, "out of stock").success
    order = result(amazon.get_order_reference_details(order_id), "GetOrderReferenceDetails")[
        "OrderReferenceDetails"
    ]
    assert order["OrderReferenceStatus"]["State"] == "Canceled"
    assert order["OrderReferenceStatus"]["ReasonCode"] == "SellerCanceled"
    details = result(amazon.get_authorization_details(authorization_id), "GetAuthorizationDetails")
    assert details["AuthorizationDetails"]["AuthorizationStatus"]["ReasonCode"] == "OrderReferenceCanceled"


def test_cancel_after_a_capture_is_refused(sandbox: Sandbox, amazon: AmazonPayClient):
    order_id = open_order(sandbox, amazon)
    authorization_id = authorize(amazon, order_id, "cc-1", "50.00")["AmazonAuthorizationId"]
    result(amazon.capture(authorization_id, "cc-cap", "50.00"), "Capture")
    assert error(amazon.cancel_order_reference(order_id))["Code"] == "InvalidOrderReferenceStatus"


def test_a_soft_decline_suspends_the_order_until_the_simulated_buyer_updates_the_wallet(
    sandbox: Sandbox, amazon: AmazonPayClient
):
    order_id = open_order(sandbox, amazon)
    note = simulate(
        State="Declined",
        ReasonCode="InvalidPaymentMethod",
        PaymentMethodUpdateTimeInMins=2,
        SoftDecline="true",
    )
    declined = authorize(amazon, order_id, "soft-1", "100.00", seller_authorization_note=note)
    assert declined["AuthorizationStatus"]["State"] == "Declined"
    assert declined["AuthorizationStatus"]["ReasonCode"] == "InvalidPaymentMethod"
    assert declined["SoftDecline"] == "true"
    order = result(amazon.get_order_reference_details(order_id), "GetOrderReferenceDetails")[
        "OrderReferenceDetails"
    ]
    assert order["OrderReferenceStatus"]["State"] == "Suspended"
    assert error(amazon.authorize(order_id, "soft-2", "100.00", transaction_timeout=0))["Code"] == (
        "InvalidOrderReferenceStatus"
    )
    sandbox.advance_clock("PT2M")
    order = result(amazon.get_order_reference_details(order_id), "GetOrderReferenceDetails")[
        "OrderReferenceDetails"
    ]
    assert order["OrderReferenceStatus"]["State"] == "Open"
    assert authorize(amazon, order_id, "soft-3", "100.00")["AuthorizationStatus"]["State"] == "Open"


@pytest.mark.parametrize(
    ("reason", "order_state"), [("AmazonRejected", "Closed"), ("TransactionTimedOut", "Open")]
)
def test_hard_declines_have_amazons_effect_on_the_order(
    sandbox: Sandbox, amazon: AmazonPayClient, reason: str, order_state: str
):
    order_id = open_order(sandbox, amazon)
    declined = authorize(
        amazon,
        order_id,
        f"hard-{reason}",
        "100.00",
        seller_authorization_note=simulate(State="Declined", ReasonCode=reason),
    )
    assert (declined["AuthorizationStatus"]["State"], declined["AuthorizationStatus"]["ReasonCode"]) == (
        "Declined",
        reason,
    )
    order = result(amazon.get_order_reference_details(order_id), "GetOrderReferenceDetails")[
        "OrderReferenceDetails"
    ]
    assert order["OrderReferenceStatus"]["State"] == order_state


def test_an_asynchronous_decline_arrives_after_pending(sandbox: Sandbox, amazon: AmazonPayClient):
    order_id = open_order(sandbox, amazon)
    pending = authorize(
        amazon,
        order_id,
        "async-decline",
        "100.00",
        transaction_timeout=60,
        seller_authorization_note=simulate(State="Declined", ReasonCode="AmazonRejected"),
    )
    assert pending["AuthorizationStatus"]["State"] == "Pending"
    sandbox.advance_clock("PT1M")
    details = result(
        amazon.get_authorization_details(pending["AmazonAuthorizationId"]), "GetAuthorizationDetails"
    )
    assert details["AuthorizationDetails"]["AuthorizationStatus"]["ReasonCode"] == "AmazonRejected"


def test_captures_and_refunds_can_be_declined_by_simulation(sandbox: Sandbox, amazon: AmazonPayClient):
    order_id = open_order(sandbox, amazon)
    authorization_id = authorize(amazon, order_id, "sim-a", "50.00")["AmazonAuthorizationId"]
    declined = result(
        amazon.capture(
            authorization_id,
            "sim-c1",
            "50.00",
            seller_capture_note=simulate(State="Declined", ReasonCode="AmazonRejected"),
        ),
        "Capture",
    )["CaptureDetails"]
    assert declined["CaptureStatus"]["State"] == "Declined"
    capture = result(amazon.capture(authorization_id, "sim-c2", "50.00"), "Capture")["CaptureDetails"]
    refund = result(
        amazon.refund(
            capture["AmazonCaptureId"],
            "sim-r",
            "5.00",
            seller_refund_note=simulate(State="Declined", ReasonCode="AmazonRejected"),
        ),
        "Refund",
    )["RefundDetails"]
    assert refund["RefundStatus"]["State"] == "Pending"
    sandbox.advance_clock("PT1M")
    refund = result(amazon.get_refund_details(refund["AmazonRefundId"]), "GetRefundDetails")["RefundDetails"]
    assert (refund["RefundStatus"]["State"], refund["RefundStatus"]["ReasonCode"]) == (
        "Declined",
        "AmazonRejected",
    )


def test_a_capture_simulated_pending_completes_when_the_clock_moves(
    sandbox: Sandbox, amazon: AmazonPayClient
):
    authorization_id = authorize(amazon, open_order(sandbox, amazon), "pc-a", "10.00")[
        "AmazonAuthorizationId"
    ]
    capture = result(
        amazon.capture(authorization_id, "pc-c", "10.00", seller_capture_note=simulate(State="Pending")),
        "Capture",
    )["CaptureDetails"]
    assert capture["CaptureStatus"]["State"] == "Pending"
    sandbox.advance_clock("PT1M")
    after = result(amazon.get_capture_details(capture["AmazonCaptureId"]), "GetCaptureDetails")[
        "CaptureDetails"
    ]
    assert after["CaptureStatus"]["State"] == "Completed"


def test_a_simulated_constraint_blocks_confirmation_until_the_note_changes(
    sandbox: Sandbox, amazon: AmazonPayClient
):
    order_id = sandbox.create_order_reference(amount="10.00", currency="USD")
    constrained = result(
        amazon.set_order_reference_details(
            order_id, "10.00", seller_note=simulate(Constraint="PaymentMethodNotAllowed")
        ),
        "SetOrderReferenceDetails",
    )
    constraint = constrained["OrderReferenceDetails"]["Constraints"]["Constraint"]
    assert constraint["ConstraintID"] == "PaymentMethodNotAllowed"
    refused = amazon.confirm_order_reference(order_id)
    assert error(refused)["Code"] == "ConstraintsExist"
    result(
        amazon.set_order_reference_details(order_id, "10.00", seller_note="Gift wrap"),
        "SetOrderReferenceDetails",
    )
    assert amazon.confirm_order_reference(order_id).success


def test_a_closure_reason_can_simulate_amazon_closing_the_order(sandbox: Sandbox, amazon: AmazonPayClient):
    order_id = open_order(sandbox, amazon)
    assert amazon.close_order_reference(order_id, simulate(State="Closed", ReasonCode="AmazonClosed")).success
    order = result(amazon.get_order_reference_details(order_id), "GetOrderReferenceDetails")[
        "OrderReferenceDetails"
    ]
    assert order["OrderReferenceStatus"]["ReasonCode"] == "AmazonClosed"


def test_an_invalid_simulation_string_is_refused(sandbox: Sandbox, amazon: AmazonPayClient):
    order_id = open_order(sandbox, amazon)
    refused = amazon.authorize(
        order_id,
        "bad-sim",
        "10.00",
        transaction_timeout=0,
        seller_authorization_note='{"SandboxSimulation": {"State":"Declined"',
    )
    assert error(refused)["Code"] == "InvalidSandboxSimulationSpecified"


def test_the_live_path_treats_a_simulation_string_as_a_plain_note(sandbox: Sandbox):
    amazon = sdk_client(sandbox)
    order_id = open_order(sandbox, amazon)
    amazon._mws_endpoint = sandbox.live_endpoint
    note = simulate(State="Declined", ReasonCode="AmazonRejected")
    opened = authorize(amazon, order_id, "live-1", "10.00", seller_authorization_note=note)
    assert opened["AuthorizationStatus"]["State"] == "Open"
    assert opened["SellerAuthorizationNote"] == note


def test_repeating_an_authorize_returns_the_same_authorization_and_changing_it_is_refused(
    sandbox: Sandbox, amazon: AmazonPayClient
):
    order_id = open_order(sandbox, amazon)
    first = authorize(amazon, order_id, "idem-1", "10.00")
    again = authorize(amazon, order_id, "idem-1", "10.00")
    assert again["AmazonAuthorizationId"] == first["AmazonAuthorizationId"]
    assert (
        error(amazon.authorize(order_id, "idem-1", "11.00", transaction_timeout=0))["Code"]
        == "DuplicateRequest"
    )
    capture = amazon.capture(first["AmazonAuthorizationId"], "idem-1", "10.00")
    assert error(capture)["Code"] == "DuplicateReferenceId"


def test_over_capture_second_capture_and_eleventh_refund_are_refused(
    sandbox: Sandbox, amazon: AmazonPayClient
):
    order_id = open_order(sandbox, amazon)
    authorization_id = authorize(amazon, order_id, "lim-a", "20.00")["AmazonAuthorizationId"]
    assert error(amazon.capture(authorization_id, "lim-c0", "20.01"))["Code"] == "TransactionAmountExceeded"
    capture_id = result(amazon.capture(authorization_id, "lim-c1", "20.00"), "Capture")["CaptureDetails"][
        "AmazonCaptureId"
    ]
    assert error(amazon.capture(authorization_id, "lim-c2", "1.00"))["Code"] == "InvalidAuthorizationStatus"
    assert error(amazon.refund(capture_id, "lim-r0", "23.01"))["Code"] == "TransactionAmountExceeded"
    for number in range(10):
        result(amazon.refund(capture_id, f"lim-r{number + 1}", "1.00"), "Refund")
    assert error(amazon.refund(capture_id, "lim-r11", "1.00"))["Code"] == "CaptureNotRefundable"
    closed = result(amazon.get_capture_details(capture_id), "GetCaptureDetails")["CaptureDetails"][
        "CaptureStatus"
    ]
    assert closed["ReasonCode"] == "MaxRefundsProcessed"


def test_throttling_answers_503_request_throttled_the_way_amazon_does():
    with Sandbox(SandboxConfig(timings=quiet_timings())) as sandbox:
        amazon = sdk_client(sandbox)
        statuses = [amazon.get_service_status() for _ in range(3)]
        assert [r.success for r in statuses] == [True, True, False]
        throttled = statuses[2]
        assert error(throttled)["Code"] == "RequestThrottled"
        assert throttled.request_id  # from <RequestID>, as Amazon spells it there
        sandbox.set_throttling(False)
        assert amazon.get_service_status().success


def test_the_sdks_default_retry_gets_through_once_the_bucket_refills():
    """With handle_throttle=True the SDK sleeps 1 s and retries; the sandbox's bucket for
    GetOrderReferenceDetails refills one request per second, so the retry gets through."""
    with Sandbox(SandboxConfig(timings=quiet_timings())) as sandbox:
        order_id = sandbox.create_order_reference(amount="10.00", currency="USD")
        patient = sdk_client(sandbox)
        patient.handle_throttle = True
        for _ in range(5):
            assert patient.get_order_reference_details(order_id).success
        assert patient.get_order_reference_details(order_id).success  # needed one retry


def test_a_wrong_secret_key_gets_signature_does_not_match(sandbox: Sandbox):
    refused = sdk_client(sandbox, secret_key="not-the-secret").get_service_status()
    assert error(refused)["Code"] == "SignatureDoesNotMatch"
    assert refused.to_dict()["ErrorResponse"]["Error"]["Type"] == "Sender"


def test_a_wrong_access_key_gets_invalid_access_key_id(sandbox: Sandbox):
    assert (
        error(sdk_client(sandbox, access_key="AKIAWRONG").get_service_status())["Code"]
        == "InvalidAccessKeyId"
    )
