"""Reading orders: the list with its filters and keyset pages, one order with its payment and
available actions, and the payment's history."""

from __future__ import annotations

import base64
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from paydesk.amazonpay.models import Payment, PaymentEvent
from paydesk.orders.models import Order
from tests.web.conftest import add_txn, make_order

from .conftest import assert_problem

ORO = "S01-1111111-2222222"


def _orders(count: int) -> list[Order]:
    """`count` orders, the first placed longest ago."""
    now = timezone.now()
    made = []
    for i in range(count):
        order, _ = make_order(str(2000 + i), oro=f"S01-2000000-{i:07d}", status="authorized")
        Order.objects.filter(pk=order.pk).update(placed_at=now - timedelta(hours=count - i))
        made.append(order)
    return made


def test_the_list_pages_through_every_order_newest_first_and_back(api):
    _orders(5)
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"after": cursor} if cursor else {})}
        page = api.get("/orders", params).json()
        seen += [o["number"] for o in page["orders"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == ["2004", "2003", "2002", "2001", "2000"]
    last_page = api.get("/orders", {"limit": 2, "after": api.get("/orders", {"limit": 2}).json()["next"]})
    back = api.get("/orders", {"limit": 2, "before": last_page.json()["previous"]}).json()
    assert [o["number"] for o in back["orders"]] == ["2004", "2003"]
    assert back["previous"] is None


def test_the_list_shows_each_order_with_money_as_strings(api):
    make_order("1001", total="123.45", status="authorized")
    (summary,) = api.get("/orders").json()["orders"]
    assert summary["number"] == "1001"
    assert summary["total"] == {"amount": "123.45", "currency": "USD"}
    assert summary["status"]["code"] == "authorized" and summary["status"]["label"] == "Authorized"
    assert summary["payment_method"] == "Amazon Pay"
    assert summary["amazon_order_reference_id"] == ORO


def test_the_list_filters_like_the_order_page(api):
    make_order("1001", status="authorized", oro="S01-1000000-0000001", email="ann@example.com")
    make_order("1002", status="refunded", oro="S01-1000000-0000002", email="bob@example.com")
    old, _ = make_order("1003", status="refunded", oro="S01-1000000-0000003", email="cy@example.com")
    Order.objects.filter(pk=old.pk).update(placed_at=timezone.now() - timedelta(days=40))

    def numbers(**params):
        return [o["number"] for o in api.get("/orders", params).json()["orders"]]

    assert numbers(status="refunded") == ["1002", "1003"]
    assert numbers(q="bob@example.com") == ["1002"]
    assert numbers(q="S01-1000000-0000003") == ["1003"]
    since = (timezone.now() - timedelta(days=10)).date().isoformat()
    assert numbers(status="refunded", **{"from": since}) == ["1002"]
    until = (timezone.now() - timedelta(days=30)).date().isoformat()
    assert numbers(to=until) == ["1003"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "paid"}, "status"),
        ({"from": "2026-13-01"}, "from"),
        ({"to": "20260101"}, "to"),
        ({"from": "0001-01-01"}, "from"),
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"after": "not a cursor"}, "after"),
        ({"after": "bm9wZQ"}, "after"),  # base64 of "nope"
        ({"q": "x" * 101}, "q"),
        ({"q": "bad\x00byte"}, "q"),
    ],
)
def test_a_bad_list_parameter_is_400_naming_it(api, params, field):
    assert_problem(api.get("/orders", params), 400, type_suffix="/invalid-request", field=field)


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59+00:00"])
def test_a_cursor_at_the_end_of_the_calendar_is_a_400_not_a_500(api, moment):
    cursor = base64.urlsafe_b64encode(f"{moment}|1".encode()).decode().rstrip("=")
    assert_problem(api.get("/orders", {"q": "jane", "after": cursor}), 400, field="after")


def test_after_and_before_together_are_refused(api):
    _orders(3)
    cursor = api.get("/orders", {"limit": 1}).json()["next"]
    assert_problem(api.get("/orders", {"after": cursor, "before": cursor}), 400, field="before")


@pytest.fixture
def captured_order(db):
    """Authorized, captured and partly refunded; the refund's IPN has not arrived."""
    order, payment = make_order("1001", total="100.00", status="partially_refunded")
    auth = f"{ORO}-A000001"
    add_txn(
        payment, "authorization", "Closed", auth, "1001-a1", notified=True, reason_code="MaxCapturesProcessed"
    )
    add_txn(payment, "capture", "Completed", f"{ORO}-C000001", "1001-c1", parent=auth, notified=True)
    add_txn(
        payment, "refund", "Completed", f"{ORO}-R000001", "1001-r1", amount="30.00", parent=f"{ORO}-C000001"
    )
    order.lines.create(sku="MUG-1", name="Mug", quantity=2, unit_price=Decimal("47.50"))
    return order


def test_an_order_shows_lines_totals_payment_balances_and_transactions(api, captured_order):
    response = api.get("/orders/1001")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    order = response.json()
    assert order["lines"] == [
        {
            "sku": "MUG-1",
            "name": "Mug",
            "quantity": 2,
            "unit_price": {"amount": "47.50", "currency": "USD"},
            "total": {"amount": "95.00", "currency": "USD"},
        }
    ]
    assert order["totals"]["total"] == {"amount": "100.00", "currency": "USD"}
    payment = order["payment"]
    assert payment["amazon_order_reference_id"] == ORO
    assert payment["order_reference_state"] == "Open"
    assert payment["balances"] == {
        "authorized": {"amount": "0.00", "currency": "USD"},
        "captured": {"amount": "100.00", "currency": "USD"},
        "refunded": {"amount": "30.00", "currency": "USD"},
    }
    (auth,) = payment["authorizations"]
    assert auth["amazon_id"] == f"{ORO}-A000001" and auth["reason_code"] == "MaxCapturesProcessed"
    (capture,) = payment["captures"]
    assert capture["parent_amazon_id"] == auth["amazon_id"] and capture["ipn_received"] is True
    (refund,) = payment["refunds"]
    assert refund["amount"] == {"amount": "30.00", "currency": "USD"} and refund["ipn_received"] is False
    assert refund["state"] == "Completed"


def test_an_order_offers_the_actions_the_order_page_offers_with_their_targets(api, captured_order):
    actions = {a["name"]: a for a in api.get("/orders/1001").json()["available_actions"]}
    # Refund of what is left; Refresh because the refund's IPN never came.
    assert actions["refund"]["targets"] == [
        {"amazon_id": f"{ORO}-C000001", "amount": {"amount": "70.00", "currency": "USD"}}
    ]
    assert "refresh" in actions and "capture" not in actions and "void" not in actions
    assert actions["refresh"]["label"] == "Refresh status"


def test_a_capture_whose_refunds_are_all_on_their_way_back_proposes_no_amount(api):
    # Only Amazon's allowance is left to refund there: the API proposes nothing (0.00 was
    # proposed, and refused when sent), as the order page's form does.
    _, payment = make_order("1001", status="processed")
    auth = f"{ORO}-A000001"
    add_txn(
        payment, "authorization", "Closed", auth, "1001-a1", notified=True, reason_code="MaxCapturesProcessed"
    )
    add_txn(payment, "capture", "Completed", f"{ORO}-C000001", "1001-c1", parent=auth, notified=True)
    add_txn(payment, "refund", "Pending", f"{ORO}-R000001", "1001-r1", parent=f"{ORO}-C000001", notified=True)
    actions = {a["name"]: a for a in api.get("/orders/1001").json()["available_actions"]}
    assert actions["refund"]["targets"] == [{"amazon_id": f"{ORO}-C000001", "amount": None}]


def test_an_authorized_order_offers_capture_and_void_of_its_open_authorization(api):
    _, payment = make_order("1001", status="authorized")
    add_txn(payment, "authorization", "Open", f"{ORO}-A000001", "1001-a1", notified=True)
    actions = {a["name"]: a for a in api.get("/orders/1001").json()["available_actions"]}
    target = [{"amazon_id": f"{ORO}-A000001", "amount": {"amount": "100.00", "currency": "USD"}}]
    assert actions["capture"]["targets"] == target and actions["void"]["targets"] == target


def test_yen_amounts_have_no_decimals(api):
    order = Order.objects.create(
        number="7001", customer_name="Jun", customer_email="jun@example.jp", currency="JPY",
        subtotal=Decimal(5000), total=Decimal(5000), status="authorized",
    )  # fmt: skip
    Payment.objects.create(
        order=order, amazon_order_reference_id="S03-1111111-2222222", order_reference_state="Open",
        order_total=Decimal(5000), currency="JPY", mode="authorize_then_capture",
    )  # fmt: skip
    document = api.get("/orders/7001").json()
    assert document["total"] == {"amount": "5000", "currency": "JPY"}
    assert document["payment"]["balances"]["captured"] == {"amount": "0", "currency": "JPY"}


def test_an_order_without_an_amazon_payment_has_no_payment_and_no_actions(api):
    Order.objects.create(
        number="9001", customer_name="Cash", customer_email="c@example.com", currency="USD",
        subtotal=Decimal(5), total=Decimal(5),
    )  # fmt: skip
    document = api.get("/orders/9001").json()
    assert document["payment"] is None and document["available_actions"] == []
    # Nothing to say is null, never "" (docs/api.md): this order was never shipped anywhere.
    assert document["shipping"] == {"name": None, "address": None}
    assert document["customer"] == {"name": "Cash", "email": "c@example.com"}
    assert api.get("/orders/9001/events").json() == {"events": [], "next": None}


@pytest.mark.parametrize("path", ["/orders/404404", "/orders/404404/events", "/orders/a%00b"])
def test_an_unknown_order_is_404(api, path):
    assert_problem(api.get(path), 404)


def test_an_unknown_api_path_is_a_404_problem_not_a_page(api):
    assert_problem(api.get("/invoices"), 404)


def test_a_wrong_method_is_405_with_allow(api, captured_order):
    response = api.post("/orders/1001", {})
    assert_problem(response, 405)
    assert response["Allow"] == "GET"


def test_the_history_pages_newest_first(api, captured_order):
    payment = Payment.objects.get(order=captured_order)
    base = timezone.now()
    for i in range(5):
        PaymentEvent.objects.create(
            payment=payment, source="staff", actor="olga", operation=f"Step {i}", outcome="info",
            at=base + timedelta(seconds=i // 2),  # pairs share a timestamp: ordering falls back to id
        )  # fmt: skip
    seen, after = [], None
    while True:
        page = api.get("/orders/1001/events", {"limit": 2, **({"after": after} if after else {})}).json()
        seen += [e["operation"] for e in page["events"]]
        after = page["next"]
        if after is None:
            break
    assert seen == ["Step 4", "Step 3", "Step 2", "Step 1", "Step 0"]


def test_an_event_carries_its_amount_as_money_and_empty_fields_as_null(api, captured_order):
    payment = Payment.objects.get(order=captured_order)
    PaymentEvent.objects.create(
        payment=payment, source="api", actor="otto", operation="Capture", outcome="done",
        amazon_id=f"{ORO}-C000001", amount=Decimal("12.50"), currency="USD", state="Completed",
    )  # fmt: skip
    PaymentEvent.objects.create(
        payment=payment, source="ipn", operation="OrderReferenceNotification", outcome="info"
    )
    newest, older = api.get("/orders/1001/events").json()["events"]
    assert newest["operation"] == "OrderReferenceNotification" and newest["amount"] is None
    assert newest["amazon_id"] is None and newest["source"] == "ipn"
    assert newest["actor"] is None and newest["message"] is None
    assert older["amount"] == {"amount": "12.50", "currency": "USD"} and older["actor"] == "otto"


@pytest.mark.parametrize("after", ["abc", "0", "99999999999999999999", "123"])
def test_a_bad_history_cursor_is_400(api, captured_order, after):
    assert_problem(api.get("/orders/1001/events", {"after": after}), 400, field="after")


def test_an_empty_status_is_refused_like_any_unknown_one(api, desk, sandbox):
    body = assert_problem(api.get("/orders?status="), 400)
    assert body["field"] == "status"
