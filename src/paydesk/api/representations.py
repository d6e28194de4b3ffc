"""Orders, payments and their history as JSON documents.

Money is always `{"amount": "10.50", "currency": "USD"}`: the amount a decimal string in
the currency's minor unit (`Money.to_amazon`), never a float, so no client ever reads
10.499999. Times are ISO 8601 with their offset. The shapes here and the schemas in
`paydesk.api.openapi` describe the same documents; the schemathesis run checks they agree.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from paydesk.amazonpay.models import AmazonPaySettings, Payment, PaymentEvent, Transaction
from paydesk.orders.models import Order, OrderLine
from paydesk.payments import actions as rules
from paydesk.payments.actions import Action
from paydesk.payments.money import Money
from paydesk.payments.payment import Payment as PaymentView
from paydesk.payments.states import UNKNOWN, Kind
from paydesk.payments.status import OrderStatus


def money(value: Money | None) -> dict | None:
    if value is None:
        return None
    return {"amount": value.to_amazon(), "currency": value.currency}


def moment(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _or_none(text: str) -> str | None:
    return text or None


def status(code: str) -> dict:
    value = OrderStatus(code)
    return {"code": value.value, "label": value.label, "meaning": value.meaning}


def order_summary(order: Order) -> dict:
    """An order as the order list shows it (`order.amazon_payment` should be select_related)."""
    payment = getattr(order, "amazon_payment", None)
    return {
        "number": order.number,
        "placed_at": moment(order.placed_at),
        "status": status(order.status),
        "customer": {"name": _or_none(order.customer_name), "email": _or_none(order.customer_email)},
        "total": money(order.total_money),
        "payment_method": order.get_payment_method_display(),
        "amazon_order_reference_id": payment.amazon_order_reference_id if payment else None,
        "fulfilled": order.fulfilled,
    }


def _line(line: OrderLine, currency: str) -> dict:
    return {
        "sku": line.sku,
        "name": line.name,
        "quantity": line.quantity,
        "unit_price": money(Money(line.unit_price, currency)),
        "total": money(Money(line.line_total, currency)),
    }


def transaction(txn: Transaction) -> dict:
    return {
        "kind": txn.kind,
        "amazon_id": txn.amazon_id,
        "reference_id": txn.reference_id,
        "parent_amazon_id": _or_none(txn.parent_amazon_id),
        "amount": money(txn.amount_money),
        "state": txn.state,
        "reason_code": _or_none(txn.reason_code),
        "reason_description": _or_none(txn.reason_description),
        "soft_decline": txn.soft_decline,
        "ipn_received": txn.notified,
        "fee": money(Money(txn.fee, txn.currency)) if txn.fee is not None else None,
        "requested_at": moment(txn.requested_at),
        "updated_at": moment(txn.amazon_updated_at),
        "expires_at": moment(txn.expires_at),
        "error": {"code": txn.error_code, "message": txn.error_message} if txn.error_code else None,
    }


def available_actions(view: PaymentView, actions: tuple[Action, ...], *, now: datetime) -> list[dict]:
    """The actions the order page offers, each with what it would act on by default: the
    authorizations Capture and Void take, the captures Refund takes (with what is left to
    refund), the amount Authorize asks for."""
    offered = []
    for action in actions:
        targets: list[dict] = []
        amount: Money | None = None
        if action in (Action.CAPTURE, Action.VOID):
            targets = [
                {"amazon_id": a.amazon_id, "amount": money(a.amount)}
                for a in rules.capturable_authorizations(view, now=now)
            ]
        elif action == Action.REFUND:
            # What is left of each capture, the default amount; null when only Amazon's
            # allowance is left (refunded with an amount sent).
            targets = [
                {"amazon_id": c.amazon_id, "amount": money(rules.refund_proposal(view, c))}
                for c in rules.refundable_captures(view)
            ]
        elif action in (Action.AUTHORIZE, Action.REAUTHORIZE):
            amount = rules.reauthorize_amount(view, now=now)
        offered.append(
            {"name": action.value, "label": action.label, "targets": targets, "amount": money(amount)}
        )
    return offered


def payment(pay: Payment, *, now: datetime, pending_grace: timedelta) -> tuple[dict, list[dict]]:
    """The payment document and the order's available actions."""
    rows = list(pay.transactions.all())
    view = pay.view(rows)
    actions = rules.available_actions(view, now=now, pending_grace=pending_grace)
    document = {
        "amazon_order_reference_id": pay.amazon_order_reference_id,
        "order_reference_state": pay.order_reference_state,
        "order_reference_reason": _or_none(pay.order_reference_reason),
        "mode": pay.mode,
        "order_total": money(pay.order_total_money),
        "balances": {
            "authorized": money(rules.authorized(view, now=now)),
            "captured": money(view.captured),
            "refunded": money(view.refunded),
        },
        "awaiting_sync": any(t.state == UNKNOWN for t in rows),
        "authorizations": [transaction(t) for t in rows if t.kind == Kind.AUTHORIZATION.value],
        "captures": [transaction(t) for t in rows if t.kind == Kind.CAPTURE.value],
        "refunds": [transaction(t) for t in rows if t.kind == Kind.REFUND.value],
    }
    return document, available_actions(view, actions, now=now)


def order_detail(order: Order, *, now: datetime) -> dict:
    """Everything the order page shows, but the history (`/events`)."""
    currency = order.currency
    pay = Payment.objects.select_related("order").filter(order=order).first()
    document = {
        **order_summary(order),
        "lines": [_line(line, currency) for line in order.lines.all()],
        "totals": {
            "subtotal": money(Money(order.subtotal, currency)),
            "shipping": money(Money(order.shipping_cost, currency)),
            "tax": money(Money(order.tax, currency)),
            "total": money(order.total_money),
        },
        "shipping": {"name": _or_none(order.shipping_name), "address": _or_none(order.shipping_address)},
        "payment": None,
        "available_actions": [],
    }
    if pay is not None:
        grace = AmazonPaySettings.load().pending_grace
        document["payment"], document["available_actions"] = payment(pay, now=now, pending_grace=grace)
    return document


def event(row: PaymentEvent) -> dict:
    return {
        "id": row.pk,
        "at": moment(row.at),
        "source": row.source,
        "actor": _or_none(row.actor),
        "operation": row.operation,
        "outcome": row.outcome,
        "amazon_id": _or_none(row.amazon_id),
        "reference_id": _or_none(row.reference_id),
        "amount": money(row.amount_money) if row.currency else None,
        "state": _or_none(row.state),
        "reason_code": _or_none(row.reason_code),
        "message": _or_none(row.message),
        "request_id": _or_none(row.request_id),
    }
