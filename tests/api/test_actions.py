"""Every action through the API, the real payment service and the offline sandbox over HTTP;
and what the API refuses before anything reaches the service."""

from __future__ import annotations

from datetime import timedelta

import pytest

from paydesk.amazonpay import services
from paydesk.amazonpay.models import PaymentEvent
from tests.web.test_services import place

from .conftest import assert_problem


def _payment_of(document: dict) -> dict:
    return document["order"]["payment"]


def _names(document: dict) -> list[str]:
    return [a["name"] for a in document["available_actions"]]


def test_capture_collects_the_authorization_and_replies_with_the_order_afterwards(api, desk, sandbox):
    order, _, payment = place(sandbox)
    response = api.act(order.number, "capture")
    assert response.status_code == 200, response.content
    reply = response.json()
    assert reply["outcome"] == "done" and "Capture" in reply["message"]
    assert reply["transaction"]["kind"] == "capture" and reply["transaction"]["state"] == "Completed"
    assert reply["transaction"]["amount"] == {"amount": f"{order.total:.2f}", "currency": "USD"}
    assert reply["order"]["status"]["code"] == "processed"
    assert _payment_of(reply)["balances"]["captured"]["amount"] == f"{order.total:.2f}"
    assert "refund" in _names(reply["order"])
    auth_id = payment.transactions.get(kind="authorization").amazon_id
    assert sandbox.object_state(auth_id)["capture_ids"] == [reply["transaction"]["amazon_id"]]
    event = PaymentEvent.objects.filter(operation="Capture", outcome="done").get()
    assert event.source == "api" and event.actor == "otto"


def test_a_partial_capture_takes_the_amount_string_and_names_the_authorization(api, desk, sandbox):
    order, _, payment = place(sandbox)
    auth_id = payment.transactions.get(kind="authorization").amazon_id
    reply = api.act(order.number, "capture", {"amount": "10.00", "target": auth_id}).json()
    assert reply["outcome"] == "done"
    assert reply["transaction"]["amount"]["amount"] == "10.00"
    assert reply["transaction"]["parent_amazon_id"] == auth_id
    assert reply["order"]["status"]["code"] == "partially_captured"


def test_refund_is_pending_then_refresh_shows_it_refunded(api, desk, sandbox):
    order, _, _ = place(sandbox)
    api.act(order.number, "capture")
    refunded = api.act(order.number, "refund", {"amount": "5.00"}).json()
    assert refunded["outcome"] == "pending"  # Amazon's refunds always start Pending
    assert refunded["transaction"]["kind"] == "refund" and refunded["transaction"]["state"] == "Pending"
    sandbox.advance_clock(timedelta(minutes=5))
    refreshed = api.act(order.number, "refresh").json()
    assert refreshed["outcome"] == "done" and refreshed["transaction"] is None
    assert refreshed["order"]["status"]["code"] == "partially_refunded"
    assert _payment_of(refreshed)["balances"]["refunded"] == {"amount": "5.00", "currency": "USD"}


def test_void_closes_the_authorization_and_cancels_the_order(api, desk, sandbox):
    order, _, payment = place(sandbox)
    reply = api.act(order.number, "void").json()
    assert reply["outcome"] == "done", reply["message"]
    assert reply["order"]["status"]["code"] == "canceled"
    assert _payment_of(reply)["order_reference_state"] == "Canceled"
    assert sandbox.object_state(payment.amazon_order_reference_id)["status"]["state"] == "Canceled"


def test_authorize_collects_what_is_left_after_a_partial_capture(api, desk, sandbox):
    order, _, _ = place(sandbox)
    api.act(order.number, "capture", {"amount": "10.00"})
    before = api.get(f"/orders/{order.number}").json()
    offered = {a["name"]: a for a in before["available_actions"]}
    left = f"{order.total - 10:.2f}"
    assert offered["authorize"]["amount"] == {"amount": left, "currency": "USD"}
    reply = api.act(order.number, "authorize").json()
    assert reply["outcome"] == "done", reply["message"]
    assert reply["transaction"]["kind"] == "authorization" and reply["transaction"]["state"] == "Open"
    assert reply["transaction"]["amount"]["amount"] == left
    assert "capture" in _names(reply["order"])


def test_an_amazon_decline_is_200_with_outcome_declined_and_amazons_reason(api, desk, sandbox):
    order, _, payment = place(sandbox)
    api.act(order.number, "capture", {"amount": "10.00"})
    sandbox.change_payment_method(payment.amazon_order_reference_id, "declined")
    response = api.act(order.number, "authorize")
    assert response.status_code == 200
    reply = response.json()
    assert reply["outcome"] == "declined" and "InvalidPaymentMethod" in reply["message"]
    assert reply["transaction"]["state"] == "Declined"
    assert reply["transaction"]["reason_code"] == "InvalidPaymentMethod"


def test_a_lost_reply_is_200_with_outcome_unknown_and_only_refresh_is_offered(api, desk, sandbox):
    order, _, _ = place(sandbox)
    sandbox.arm_fault("Capture", "act_then_reset", count=5)
    reply = api.act(order.number, "capture").json()
    assert reply["outcome"] == "unknown"
    assert reply["transaction"]["state"] == "Unknown" and reply["transaction"]["amazon_id"] is None
    assert _payment_of(reply)["awaiting_sync"] is True
    assert _names(reply["order"]) == ["refresh"]
    sandbox.clear_faults()
    refreshed = api.act(order.number, "refresh").json()
    assert refreshed["order"]["status"]["code"] == "processed"
    assert _payment_of(refreshed)["captures"][0]["state"] == "Completed"


def test_an_amazon_error_is_200_with_outcome_failed_and_no_money_moved(api, desk, sandbox):
    order, _, payment = place(sandbox)
    auth = payment.transactions.get(kind="authorization")
    # Closed at Amazon behind Paydesk's back: Amazon refuses the capture.
    services.amazon_client().close_authorization(auth.amazon_id)
    response = api.act(order.number, "capture")
    assert response.status_code == 200
    reply = response.json()
    assert reply["outcome"] == "failed" and "No money moved" in reply["message"]
    assert reply["transaction"]["state"] == "Failed"
    assert reply["transaction"]["error"]["code"] == "InvalidAuthorizationStatus"
    assert sandbox.object_state(auth.amazon_id)["capture_ids"] == []


def test_close_and_then_cancel_is_refused_with_the_cores_message(api, desk, sandbox):
    order, _, payment = place(sandbox)
    closed = api.act(order.number, "close").json()
    assert closed["outcome"] == "done"
    assert _payment_of(closed)["order_reference_state"] == "Closed"
    assert sandbox.object_state(payment.amazon_order_reference_id)["status"]["state"] == "Closed"
    body = assert_problem(api.act(order.number, "cancel"), 409, type_suffix="/action-refused")
    assert body["outcome"] == "refused" and "closed and cannot be canceled" in body["detail"]


def test_cancel_cancels_the_order_reference(api, desk, sandbox):
    order, _, payment = place(sandbox)
    reply = api.act(order.number, "cancel").json()
    assert reply["outcome"] == "done"
    assert reply["order"]["status"]["code"] == "canceled"
    assert sandbox.object_state(payment.amazon_order_reference_id)["status"]["state"] == "Canceled"


def test_capturing_more_than_authorized_is_refused_before_amazon_is_called(api, desk, sandbox):
    order, _, payment = place(sandbox)
    auth_id = payment.transactions.get(kind="authorization").amazon_id
    body = assert_problem(api.act(order.number, "capture", {"amount": "9999.00"}), 409)
    assert "at most the authorized amount" in body["detail"]
    assert sandbox.object_state(auth_id)["capture_ids"] == []
    assert not payment.transactions.filter(kind="capture").exists()


def test_a_target_that_is_not_this_orders_authorization_is_refused(api, desk, sandbox):
    order, _, _ = place(sandbox)
    body = assert_problem(api.act(order.number, "capture", {"target": "S01-0000000-0000000-A000000"}), 409)
    assert "no authorization S01-" in body["detail"]


def test_capturing_a_voided_order_is_refused(api, desk, sandbox):
    order, _, _ = place(sandbox)
    api.act(order.number, "void")
    assert_problem(api.act(order.number, "capture"), 409, type_suffix="/action-refused")


# --- refused before the service: no sandbox needed -------------------------------------------


@pytest.fixture
def authorized(db):
    from tests.web.conftest import add_txn, make_order

    order, payment = make_order("1001", status="authorized")
    add_txn(payment, "authorization", "Open", "S01-1111111-2222222-A000001", "1001-a1", notified=True)
    return order


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"amount": 10.5}, 400, "amount"),
        ({"amount": 10}, 400, "amount"),
        ({"amount": None}, 400, "amount"),
        ({"amount": "ten"}, 400, "amount"),
        ({"amount": "1e3"}, 400, "amount"),
        ({"amount": "-1.00"}, 400, "amount"),
        ({"amount": " 1.00"}, 400, "amount"),
        # Python's `$` matches before a final newline, and Decimal would then drop it.
        ({"amount": "10.00\n"}, 400, "amount"),
        ({"amount": "10.505"}, 422, "amount"),
        ({"amount": "0.00"}, 422, "amount"),
        ({"target": "no/such id"}, 400, "target"),
        ({"target": 7}, 400, "target"),
        ({"target": "S01-1111111-2222222-A000001\n"}, 400, "target"),
        ({"note": "hello"}, 400, "note"),
    ],
)
def test_a_bad_body_field_is_refused_naming_it(api, authorized, body, status, field):
    response = api.act("1001", "capture", body)
    problem = assert_problem(response, status, field=field)
    assert field in problem["detail"]


def test_an_action_takes_only_its_own_fields(api, authorized):
    assert_problem(api.act("1001", "void", {"amount": "1.00"}), 400, field="amount")
    assert_problem(api.act("1001", "refresh", {"target": "S01-1111111-2222222-A000001"}), 400, field="target")


@pytest.mark.parametrize(
    ("raw", "content_type", "status"),
    [
        (b"{not json", "application/json", 400),
        (b"[1, 2]", "application/json", 400),
        (b'{"amount": NaN}', "application/json", 400),
        (b"\xff\xfe", "application/json", 400),
        (b"amount=10.00", "application/x-www-form-urlencoded", 415),
        (b'{"amount": "1.00"}', "text/plain", 415),
        (b"{" + b" " * 20000 + b"}", "application/json", 413),
        # Deeper than Python's recursion limit: json.loads raises RecursionError, not ValueError.
        (b"[" * 5000 + b"]" * 5000, "application/json", 400),
    ],
)
def test_a_body_that_is_not_a_json_object_is_refused(api, authorized, raw, content_type, status):
    assert_problem(api.act("1001", "capture", raw=raw, content_type=content_type), status)


def test_an_unknown_action_or_order_is_404(api, authorized):
    assert_problem(api.act("1001", "ship"), 404)
    assert_problem(api.act("4040", "capture"), 404)


def test_an_order_without_an_amazon_payment_refuses_every_action(api, db):
    from decimal import Decimal

    from paydesk.orders.models import Order

    Order.objects.create(
        number="9001", customer_name="Cash", customer_email="c@example.com", currency="USD",
        subtotal=Decimal(5), total=Decimal(5),
    )  # fmt: skip
    body = assert_problem(api.act("9001", "refresh"), 409, type_suffix="/action-refused")
    assert "no Amazon Pay payment" in body["detail"]
