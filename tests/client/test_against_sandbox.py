"""The client over real HTTP against `paydesk sandbox`: every operation, retries, lost replies, declines.

The sandbox shares no wire code with the client (it is checked with Amazon's own SDK); where
the two meet, each stands for its own reading of Amazon's documentation.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest

from paydesk.amazonpay.client import AmazonPayClient
from paydesk.amazonpay.details import Authorization
from paydesk.amazonpay.errors import (
    AmountExceeded,
    ConstraintsExist,
    DuplicateReference,
    InvalidParameter,
    InvalidState,
    NotFound,
    OutcomeUnknown,
    SignatureMismatch,
    Throttled,
)
from paydesk.amazonpay.retry import RetryPolicy
from paydesk.payments.money import Money
from paydesk.sandbox import DEMO_ACCESS_KEY, DEMO_SECRET_KEY, DEMO_SELLER_ID, Sandbox, SandboxConfig

pytestmark = pytest.mark.timeout(120)

RETRY = RetryPolicy(max_attempts=4, base_delay=0.05, max_delay=0.2, max_total=30.0)


def usd(text: str) -> Money:
    return Money(Decimal(text), "USD")


def simulation(body: str) -> str:
    return '{"SandboxSimulation": ' + body + "}"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(throttling=False)) as running:
        yield running


@pytest.fixture(autouse=True)
def clean_sandbox(sandbox: Sandbox) -> Iterator[None]:
    yield
    sandbox.clear_faults()
    sandbox.set_throttling(False)


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[AmazonPayClient]:
    with connect(sandbox) as amazon:
        yield amazon


def connect(running: Sandbox, **overrides) -> AmazonPayClient:
    options = {
        "seller_id": DEMO_SELLER_ID,
        "access_key": DEMO_ACCESS_KEY,
        "secret_key": DEMO_SECRET_KEY,
        "region": "na",
        "sandbox": True,
        "base_url": running.url,
        "retry": RETRY,
    }
    options.update(overrides)
    return AmazonPayClient(**options)


_references = iter(range(1, 1_000_000))


def reference(prefix: str) -> str:
    return f"{prefix}-{time.monotonic_ns() % 10**9}-{next(_references)}"


def open_order(sandbox: Sandbox, client: AmazonPayClient, total: str = "25.00") -> str:
    order_id = sandbox.create_order_reference(amount=total, currency="USD")
    client.set_order_reference_details(order_id, amount=usd(total), seller_order_id=reference("order"))
    client.confirm_order_reference(order_id)
    return order_id


def open_authorization(sandbox: Sandbox, client: AmazonPayClient, amount: str = "25.00") -> Authorization:
    order_id = open_order(sandbox, client, amount)
    auth = client.authorize(
        order_id, authorization_reference_id=reference("auth"), amount=usd(amount), transaction_timeout=0
    )
    assert auth.status.state == "Open"
    return auth


def attempts_logged(caplog, operation: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "paydesk.amazonpay" and r.getMessage().startswith(operation)
    ]


# --- every operation ----------------------------------------------------------------------------


def test_a_whole_payment_runs_through_every_operation(sandbox, client):
    assert client.get_service_status().status.startswith("GREEN")

    order_id = sandbox.create_order_reference(amount="40.00", currency="USD")
    draft = client.get_order_reference_details(order_id)
    assert draft.status.state == "Draft"
    draft = client.set_order_reference_details(
        order_id, amount=usd("40.00"), seller_order_id="1042", store_name="Paydesk demo", seller_note="thanks"
    )
    assert (draft.order_total, draft.seller_order_id, draft.store_name) == (
        usd("40.00"),
        "1042",
        "Paydesk demo",
    )
    assert client.set_order_attributes(order_id, custom_information="gift").custom_information == "gift"
    client.confirm_order_reference(order_id)
    assert client.get_order_reference_details(order_id).status.state == "Open"

    # Asynchronous authorization: Pending, then Open once the sandbox's clock has moved on.
    auth_ref = reference("auth")
    pending = client.authorize(order_id, authorization_reference_id=auth_ref, amount=usd("40.00"))
    assert pending.status.state == "Pending"
    sandbox.advance_clock("PT1M")
    auth = client.get_authorization_details(pending.amazon_authorization_id)
    assert (auth.status.state, auth.authorization_reference_id) == ("Open", auth_ref)
    assert client.get_order_reference_details(order_id).authorization_ids == (auth.amazon_authorization_id,)

    capture = client.capture(
        auth.amazon_authorization_id, capture_reference_id=reference("cap"), amount=usd("30.00")
    )
    assert (capture.status.state, capture.capture_amount) == ("Completed", usd("30.00"))
    assert client.get_authorization_details(auth.amazon_authorization_id).capture_ids == (
        capture.amazon_capture_id,
    )

    refund = client.refund(
        capture.amazon_capture_id, refund_reference_id=reference("ref"), amount=usd("10.00")
    )
    assert refund.status.state == "Pending"
    sandbox.advance_clock("PT1M")
    assert client.get_refund_details(refund.amazon_refund_id).status.state == "Completed"
    settled = client.get_capture_details(capture.amazon_capture_id)
    assert (settled.refund_ids, settled.refunded_amount) == ((refund.amazon_refund_id,), usd("10.00"))

    # A second authorization that will not be captured is voided; then the order is closed.
    spare = client.authorize(
        order_id, authorization_reference_id=reference("auth"), amount=usd("5.00"), transaction_timeout=0
    )
    client.close_authorization(spare.amazon_authorization_id, reason="not needed")
    closed_auth = client.get_authorization_details(spare.amazon_authorization_id)
    assert (closed_auth.status.state, closed_auth.status.reason_code) == ("Closed", "SellerClosed")
    client.close_order_reference(order_id, reason="shipped")
    closed = client.get_order_reference_details(order_id)
    assert (closed.status.state, closed.status.reason_code) == ("Closed", "SellerClosed")


def test_an_order_reference_without_captures_can_be_canceled(sandbox, client):
    order_id = open_order(sandbox, client)
    client.cancel_order_reference(order_id, reason="out of stock")
    canceled = client.get_order_reference_details(order_id)
    assert (canceled.status.state, canceled.status.reason_code) == ("Canceled", "SellerCanceled")


def test_the_live_path_is_used_when_sandbox_is_off(sandbox):
    with connect(sandbox, sandbox=False) as live:
        assert live.endpoint_url.endswith("/OffAmazonPayments/2013-01-01")
        assert live.get_service_status().status.startswith("GREEN")


# --- errors Amazon answers ----------------------------------------------------------------------


def test_a_wrong_secret_key_is_a_signature_mismatch(sandbox):
    with connect(sandbox, secret_key="not-the-demo-secret") as wrong:
        with pytest.raises(SignatureMismatch) as caught:
            wrong.get_service_status()
    assert caught.value.http_status == 403


def test_an_unknown_order_reference_is_not_found(client):
    with pytest.raises(NotFound):
        client.get_order_reference_details("S01-0000000-0000000")


def test_capturing_more_than_authorized_is_refused_as_amount_exceeded(sandbox, client):
    auth = open_authorization(sandbox, client, "25.00")
    with pytest.raises(AmountExceeded):
        client.capture(
            auth.amazon_authorization_id, capture_reference_id=reference("cap"), amount=usd("25.01")
        )


def test_a_second_capture_on_one_authorization_is_an_invalid_state(sandbox, client):
    auth = open_authorization(sandbox, client)
    client.capture(auth.amazon_authorization_id, capture_reference_id=reference("cap"), amount=usd("10.00"))
    with pytest.raises(InvalidState):
        client.capture(
            auth.amazon_authorization_id, capture_reference_id=reference("cap"), amount=usd("5.00")
        )


def test_reusing_a_reference_id_with_other_parameters_is_a_duplicate(sandbox, client):
    auth = open_authorization(sandbox, client)
    capture = client.capture(
        auth.amazon_authorization_id, capture_reference_id=reference("cap"), amount=usd("20")
    )
    refund_ref = reference("ref")
    client.refund(capture.amazon_capture_id, refund_reference_id=refund_ref, amount=usd("1.00"))
    with pytest.raises(DuplicateReference):
        client.refund(capture.amazon_capture_id, refund_reference_id=refund_ref, amount=usd("2.00"))


def test_repeating_a_capture_with_the_same_reference_id_returns_the_same_capture(sandbox, client):
    auth = open_authorization(sandbox, client)
    capture_ref = reference("cap")
    first = client.capture(
        auth.amazon_authorization_id, capture_reference_id=capture_ref, amount=usd("20.00")
    )
    again = client.capture(
        auth.amazon_authorization_id, capture_reference_id=capture_ref, amount=usd("20.00")
    )
    assert again.amazon_capture_id == first.amazon_capture_id
    assert client.get_authorization_details(auth.amazon_authorization_id).capture_ids == (
        first.amazon_capture_id,
    )


# --- declines and constraints from simulation strings ------------------------------------------


@pytest.mark.parametrize(
    ("simulated", "order_state"),
    [
        (
            simulation(
                '{"State":"Declined", "ReasonCode":"InvalidPaymentMethod", "PaymentMethodUpdateTimeInMins":5}'
            ),
            "Suspended",
        ),
        (simulation('{"State":"Declined", "ReasonCode":"AmazonRejected"}'), "Closed"),
        (simulation('{"State":"Declined", "ReasonCode":"TransactionTimedOut"}'), "Open"),
    ],
)
def test_simulated_authorization_declines_come_back_as_declined_states(
    sandbox, client, simulated, order_state
):
    order_id = open_order(sandbox, client)
    auth = client.authorize(
        order_id,
        authorization_reference_id=reference("auth"),
        amount=usd("25.00"),
        seller_note=simulated,
        transaction_timeout=0,
    )
    assert auth.status.state == "Declined"
    assert auth.status.reason_code in simulated
    assert client.get_order_reference_details(order_id).status.state == order_state


def test_an_asynchronous_simulated_decline_starts_pending_and_ends_declined(sandbox, client):
    order_id = open_order(sandbox, client)
    pending = client.authorize(
        order_id,
        authorization_reference_id=reference("auth"),
        amount=usd("25.00"),
        seller_note=simulation('{"State":"Declined", "ReasonCode":"AmazonRejected"}'),
    )
    assert pending.status.state == "Pending"
    sandbox.advance_clock("PT1M")
    declined = client.get_authorization_details(pending.amazon_authorization_id)
    assert (declined.status.state, declined.status.reason_code) == ("Declined", "AmazonRejected")


def test_a_simulated_capture_decline_and_refund_decline(sandbox, client):
    auth = open_authorization(sandbox, client)
    declined = client.capture(
        auth.amazon_authorization_id,
        capture_reference_id=reference("cap"),
        amount=usd("25.00"),
        seller_note=simulation('{"State":"Declined", "ReasonCode":"AmazonRejected"}'),
    )
    assert (declined.status.state, declined.status.reason_code) == ("Declined", "AmazonRejected")

    auth = open_authorization(sandbox, client)
    capture = client.capture(
        auth.amazon_authorization_id, capture_reference_id=reference("cap"), amount=usd("25")
    )
    refund = client.refund(
        capture.amazon_capture_id,
        refund_reference_id=reference("ref"),
        amount=usd("5.00"),
        seller_note=simulation('{"State":"Declined", "ReasonCode":"AmazonRejected"}'),
    )
    assert refund.status.state == "Pending"
    sandbox.advance_clock("PT1M")
    settled = client.get_refund_details(refund.amazon_refund_id)
    assert (settled.status.state, settled.status.reason_code) == ("Declined", "AmazonRejected")


def test_a_simulated_constraint_blocks_confirmation(sandbox, client):
    order_id = sandbox.create_order_reference(amount="25.00", currency="USD")
    draft = client.set_order_reference_details(
        order_id, amount=usd("25.00"), seller_note=simulation('{"Constraint":"PaymentMethodNotAllowed"}')
    )
    assert [c.constraint_id for c in draft.constraints] == ["PaymentMethodNotAllowed"]
    with pytest.raises(ConstraintsExist):
        client.confirm_order_reference(order_id)


def test_an_invalid_simulation_string_is_an_invalid_parameter(sandbox, client):
    order_id = open_order(sandbox, client)
    with pytest.raises(InvalidParameter) as caught:
        client.authorize(
            order_id,
            authorization_reference_id=reference("auth"),
            amount=usd("1.00"),
            seller_note=simulation('{"State":"Open", "ReasonCode":"Nonsense"}'),
            transaction_timeout=0,
        )
    assert caught.value.code == "InvalidSandboxSimulationSpecified"


# --- throttling, 5xx and lost replies -----------------------------------------------------------


class TurnThrottlingOffOnSecondAttempt:
    """A rate limiter hook: the first attempt meets Amazon's throttling, the retry does not."""

    def __init__(self, sandbox: Sandbox):
        self.sandbox = sandbox
        self.calls = 0

    def acquire(self, operation: str) -> None:
        self.calls += 1
        if self.calls == 2:
            self.sandbox.set_throttling(False)


def test_a_throttled_request_is_retried_and_succeeds(sandbox, caplog):
    caplog.set_level(logging.INFO, logger="paydesk.amazonpay")
    sandbox.set_throttling(True)
    with connect(sandbox, retry=RetryPolicy(max_attempts=1)) as eager:
        eager.get_service_status()
        eager.get_service_status()  # GetServiceStatus: 2 requests, then 1 per 5 minutes
        with pytest.raises(Throttled):
            eager.get_service_status()
    caplog.clear()
    with connect(sandbox, rate_limiter=TurnThrottlingOffOnSecondAttempt(sandbox)) as patient:
        assert patient.get_service_status().status.startswith("GREEN")
    lines = attempts_logged(caplog, "GetServiceStatus")
    assert "status=503 outcome=RequestThrottled" in lines[0]
    assert "status=200 outcome=ok" in lines[1]


def test_throttling_that_outlasts_the_retry_budget_raises_throttled(sandbox, caplog):
    caplog.set_level(logging.INFO, logger="paydesk.amazonpay")
    sandbox.set_throttling(True)
    with connect(sandbox, retry=RetryPolicy(max_attempts=3, base_delay=0.05, max_delay=0.1)) as client:
        client.get_service_status()
        client.get_service_status()
        caplog.clear()
        with pytest.raises(Throttled) as caught:
            client.get_service_status()
    assert caught.value.http_status == 503 and caught.value.request_id
    assert len(attempts_logged(caplog, "GetServiceStatus")) == 3


@pytest.mark.parametrize("mode", ["503", "500"])
def test_amazon_trouble_is_retried_and_nothing_is_done_twice(sandbox, client, caplog, mode):
    caplog.set_level(logging.INFO, logger="paydesk.amazonpay")
    order_id = open_order(sandbox, client)
    sandbox.arm_fault("Authorize", mode, count=2)
    auth = client.authorize(
        order_id, authorization_reference_id=reference("auth"), amount=usd("25.00"), transaction_timeout=0
    )
    assert auth.status.state == "Open"
    assert [f"status={mode}" in line for line in attempts_logged(caplog, "Authorize")] == [True, True, False]
    assert client.get_order_reference_details(order_id).authorization_ids == (auth.amazon_authorization_id,)


def test_a_capture_whose_reply_is_lost_is_retried_with_the_same_reference_and_captures_once(sandbox, client):
    auth = open_authorization(sandbox, client)
    sandbox.arm_fault("Capture", "act_then_reset")
    capture_ref = reference("cap")
    capture = client.capture(
        auth.amazon_authorization_id, capture_reference_id=capture_ref, amount=usd("25.00")
    )
    assert (capture.capture_reference_id, capture.status.state) == (capture_ref, "Completed")
    assert client.get_authorization_details(auth.amazon_authorization_id).capture_ids == (
        capture.amazon_capture_id,
    )


def test_a_refund_that_acts_but_never_answers_is_an_unknown_outcome_and_refunds_once(sandbox, client):
    auth = open_authorization(sandbox, client)
    capture = client.capture(
        auth.amazon_authorization_id, capture_reference_id=reference("cap"), amount=usd("25")
    )
    refund_ref = reference("ref")
    sandbox.arm_fault("Refund", "act_then_timeout", count=2, hold_seconds=5)
    with connect(
        sandbox, timeout=httpx.Timeout(1.0), retry=RetryPolicy(max_attempts=2, base_delay=0.05)
    ) as hasty:
        with pytest.raises(OutcomeUnknown) as caught:
            hasty.refund(capture.amazon_capture_id, refund_reference_id=refund_ref, amount=usd("5.00"))
    unknown = caught.value
    assert (unknown.operation, unknown.reference_id, unknown.amazon_id, unknown.attempts) == (
        "Refund",
        refund_ref,
        capture.amazon_capture_id,
        2,
    )
    # The refresh a caller does next finds exactly one refund, under our reference id.
    refreshed = client.get_capture_details(capture.amazon_capture_id)
    assert len(refreshed.refund_ids) == 1
    assert client.get_refund_details(refreshed.refund_ids[0]).refund_reference_id == refund_ref


def test_a_close_whose_reply_is_lost_every_time_is_an_unknown_outcome(sandbox, client):
    order_id = open_order(sandbox, client)
    sandbox.arm_fault("CloseOrderReference", "act_then_500", count=4)
    with pytest.raises(OutcomeUnknown) as caught:
        client.close_order_reference(order_id)
    assert (caught.value.operation, caught.value.amazon_id) == ("CloseOrderReference", order_id)
    assert client.get_order_reference_details(order_id).status.state == "Closed"


def test_a_read_that_is_reset_is_simply_retried(sandbox, client):
    order_id = open_order(sandbox, client)
    sandbox.arm_fault("GetOrderReferenceDetails", "reset", count=2)
    assert client.get_order_reference_details(order_id).status.state == "Open"
