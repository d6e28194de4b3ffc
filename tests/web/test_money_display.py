"""Every amount on the staff pages is shown as Money shows it: its currency's decimals (two for
USD, EUR and GBP, none for JPY), never the database's float noise."""

from __future__ import annotations

import re
from decimal import Decimal

from django.utils import timezone

from paydesk.amazonpay.models import Outcome, Payment, PaymentEvent, Source, Transaction
from paydesk.orders.models import Order, OrderLine


def _order(number: str, total: str, currency: str, *, status: str = "processed", lines=()) -> Order:
    order = Order.objects.create(
        number=number,
        customer_name="Jane Buyer",
        customer_email="jane@example.com",
        currency=currency,
        subtotal=Decimal(total),
        total=Decimal(total),
        status=status,
    )
    for sku, quantity, price in lines:
        OrderLine.objects.create(order=order, sku=sku, name=sku, quantity=quantity, unit_price=Decimal(price))
    return order


def _paid(order: Order, kind: str, state: str, amount: str, reason: str = "") -> Transaction:
    payment, _ = Payment.objects.get_or_create(
        order=order,
        defaults={
            "amazon_order_reference_id": f"S01-0000000-000{order.number}",
            "order_reference_state": "Open",
            "order_total": order.total,
            "currency": order.currency,
            "mode": "authorize_then_capture",
        },
    )
    txn = Transaction.objects.create(
        payment=payment,
        kind=kind,
        state=state,
        amazon_id=f"{payment.amazon_order_reference_id}-{kind[0].upper()}{Transaction.objects.count():06d}",
        reference_id=f"{order.number}-{kind[0]}{Transaction.objects.count()}",
        amount=Decimal(amount),
        currency=order.currency,
        reason_code=reason,
        requested_at=timezone.now(),
    )
    PaymentEvent.objects.create(
        payment=payment,
        transaction=txn,
        source=Source.STAFF,
        actor="olga",
        operation=kind,
        amount=txn.amount,
        currency=txn.currency,
        outcome=Outcome.DONE,
    )
    return txn


def test_the_dashboard_shows_sums_as_money_without_float_noise(client, operator, amazon_settings):
    # Sums that SQLite adds up as floats: 1142.85 is not exact in binary.
    for number, total in (("1", "1000.05"), ("2", "100.40"), ("3", "42.40")):
        _paid(_order(number, total, "USD"), "capture", "Completed", total)
    _order("4", "57.40", "USD", status="authorized")
    _order("5", "600.00", "EUR", status="authorized")
    _order("6", "1000", "JPY", status="authorized")
    _paid(_order("7", "300", "JPY", status="processed"), "capture", "Closed", "300")
    _paid(_order("8", "250.00", "EUR", status="processed"), "capture", "Completed", "250.00")

    client.force_login(operator)
    page = client.get("/dashboard/").content.decode()
    captured = page.split("Captured in the last 7 days", 1)[1].split("</p>", 1)[0]
    assert "<strong>250.00 EUR</strong>" in captured
    assert "<strong>300 JPY</strong>" in captured
    assert "<strong>1142.85 USD</strong>" in captured
    by_status = page.split("Amounts by status", 1)[1].split("</table>", 1)[0]
    for shown in ("1142.85 USD", "57.40 USD", "600.00 EUR", "1000 JPY", "300 JPY", "250.00 EUR"):
        assert shown in by_status
    # No amount with more decimals than its currency has, anywhere on the page.
    assert not re.search(r"\d+\.\d{3,} (USD|EUR)", page) and not re.search(r"\d+\.\d+ JPY", page)


def test_yen_amounts_show_no_decimals_on_every_staff_page(client, operator, amazon_settings):
    order = _order("1500", "1500", "JPY", status="declined", lines=[("MUG", 2, "600"), ("TEE", 1, "300")])
    _paid(order, "authorization", "Declined", "1500", reason="InvalidPaymentMethod")

    client.force_login(operator)
    listed = client.get("/orders/").content.decode()
    assert "1500 JPY" in listed and "1500.00" not in listed

    detail = client.get("/orders/1500/").content.decode()
    assert "1500.00" not in detail and "600.00" not in detail and "300.00" not in detail
    items = detail.split("<h2>Items</h2>", 1)[1].split("</table>", 1)[0]
    assert ">600 JPY<" in items and ">1200 JPY<" in items and ">300 JPY<" in items
    assert "<strong>1500 JPY</strong>" in items
    transactions = detail.split('id="amazon-pay-transactions"', 1)[1].split("</table>", 1)[0]
    assert ">1500 JPY<" in transactions
    history = detail.split('id="transaction-history"', 1)[1].split("</table>", 1)[0]
    assert ">1500 JPY<" in history

    log = client.get("/amazonpay/log/").content.decode()
    assert ">1500 JPY<" in log and "1500.00" not in log

    dashboard = client.get("/dashboard/").content.decode()
    declines = dashboard.split('id="recent-declines"', 1)[1]
    assert ">1500 JPY<" in declines and "1500.00" not in dashboard


def test_dollar_amounts_keep_two_decimals_on_the_order_page(client, operator, amazon_settings):
    order = _order("2000", "17.45", "USD", status="authorized", lines=[("MUG", 1, "12.50")])
    Order.objects.filter(pk=order.pk).update(shipping_cost=Decimal("4.95"), subtotal=Decimal("12.50"))
    _paid(order, "authorization", "Open", "17.45")

    client.force_login(operator)
    detail = client.get("/orders/2000/").content.decode()
    items = detail.split("<h2>Items</h2>", 1)[1].split("</table>", 1)[0]
    assert ">12.50 USD<" in items and ">4.95 USD<" in items and ">0.00 USD<" in items
    assert "<strong>17.45 USD</strong>" in items
    assert ">17.45 USD<" in detail.split('id="amazon-pay-transactions"', 1)[1]
    assert "17.45 USD" in client.get("/orders/").content.decode()
