"""What the order page shows of an Amazon Pay payment: the Payment info, the "Amazon Pay
available order actions" with their forms, every transaction and the history."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from paydesk.amazonpay.models import AmazonPaySettings, Payment
from paydesk.orders.models import Order
from paydesk.payments import actions as rules
from paydesk.payments.actions import Action
from paydesk.payments.money import Money
from paydesk.payments.states import UNKNOWN


@dataclass(frozen=True)
class ActionButton:
    action: Action
    label: str
    confirm: str
    target_id: str = ""  # the authorization (capture, void) or capture (refund) it acts on
    amount: Money | None = None
    style: str = ""
    idempotency_key: str = ""


def _buttons(payment: Payment, actions: tuple[Action, ...], view) -> list[ActionButton]:
    now = timezone.now()
    buttons: list[ActionButton] = []
    for action in actions:
        key = secrets.token_urlsafe(16)
        if action in (Action.CAPTURE, Action.VOID):
            for auth in rules.capturable_authorizations(view, now=now):
                if action == Action.CAPTURE:
                    buttons.append(
                        ActionButton(
                            action,
                            "Capture",
                            f"Capture {auth.amount} from the buyer now?",
                            auth.amazon_id or "",
                            auth.amount,
                            "",
                            key,
                        )
                    )
                else:
                    buttons.append(
                        ActionButton(
                            action,
                            "Void",
                            f"Void the authorization of {auth.amount}? The buyer will not be charged.",
                            auth.amazon_id or "",
                            auth.amount,
                            "danger",
                            key,
                        )
                    )
        elif action == Action.REFUND:
            for capture in rules.refundable_captures(view):
                amount = rules.left_to_refund(view, capture)
                if amount.is_positive:
                    buttons.append(
                        ActionButton(
                            action,
                            "Refund",
                            f"Refund {amount} to the buyer?",
                            capture.amazon_id or "",
                            amount,
                            "",
                            key,
                        )
                    )
        else:
            buttons.append(
                ActionButton(
                    action,
                    "Refresh status",
                    "Ask Amazon for this payment's current state?",
                    style="secondary",
                )
            )
    return buttons


def payment_panel(order: Order) -> dict:
    payment = Payment.objects.filter(order=order).first()
    if payment is None:
        return {"payment": None}
    settings = AmazonPaySettings.load()
    transactions = list(payment.transactions.all())
    view = payment.view(transactions)
    grace = timedelta(minutes=settings.refresh_after_minutes)
    actions = rules.available_actions(view, now=timezone.now(), pending_grace=grace)
    events = list(payment.events.select_related("transaction").order_by("-at", "-id")[:200])
    return {
        "payment": payment,
        "transactions": transactions,
        "buttons": _buttons(payment, actions, view),
        "awaiting_sync": any(t.state == UNKNOWN for t in transactions),
        "events": events,
        "balances": {
            "authorized": view.authorized,
            "captured": view.captured,
            "refunded": view.refunded,
        },
    }
