"""What the order page shows of an Amazon Pay payment: the Payment info, the "Amazon Pay
available order actions" with their forms, every transaction and the history.

Which buttons exist is the pure core's decision (`paydesk.payments.actions`); this module only
turns each into a form: which Amazon object it acts on, the amount it proposes (editable where
Amazon allows a partial amount), and the question it asks before anything moves.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.utils import timezone

from paydesk.amazonpay.models import AmazonPaySettings, Payment
from paydesk.orders.models import Order
from paydesk.payments import actions as rules
from paydesk.payments import limits
from paydesk.payments.actions import ORDER_REFERENCE_ACTIONS, Action
from paydesk.payments.money import Money
from paydesk.payments.payment import PaymentMode
from paydesk.payments.states import UNKNOWN


@dataclass(frozen=True)
class ActionForm:
    action: Action
    label: str
    # Asked before sending; "{amount}" is replaced by the amount field's value.
    confirm: str
    target_id: str = ""  # the authorization (capture, void) or capture (refund) it acts on
    amount: Money | None = None  # the proposed amount
    editable: bool = False  # partial amounts allowed: the amount is an input
    maximum: Money | None = None
    hint: str = ""
    style: str = ""
    idempotency_key: str = ""


def _form_key() -> str:
    # One per form, not per action: two Capture forms (two authorizations) sharing a key made
    # the second capture look like a replay of the first aimed elsewhere, and it was refused.
    return secrets.token_urlsafe(16)


def _forms(view, actions: tuple[Action, ...]) -> list[ActionForm]:
    now = timezone.now()
    forms: list[ActionForm] = []
    for action in actions:
        if action == Action.CAPTURE:
            for auth in rules.capturable_authorizations(view, now=now):
                forms.append(
                    ActionForm(
                        action,
                        "Capture",
                        "Capture {amount} " + view.currency + " from the buyer now?",
                        auth.amazon_id or "",
                        auth.amount,
                        editable=True,
                        maximum=auth.amount,
                        hint=f"Up to {auth.amount}. Amazon allows one capture per authorization: "
                        "capturing less releases the rest.",
                        idempotency_key=_form_key(),
                    )
                )
        elif action == Action.VOID:
            for auth in rules.capturable_authorizations(view, now=now):
                forms.append(
                    ActionForm(
                        action,
                        "Void",
                        f"Void the authorization of {auth.amount}? The buyer will not be charged.",
                        auth.amazon_id or "",
                        auth.amount,
                        style="danger",
                        idempotency_key=_form_key(),
                    )
                )
        elif action == Action.REFUND:
            for capture in rules.refundable_captures(view):
                room = rules.refund_room(view, capture)
                left = rules.left_to_refund(view, capture)
                more = limits.REFUNDS_PER_CAPTURE - len(view.refunds_of(capture))
                if left.is_positive:
                    hint = (
                        f"{left} of the captured {capture.amount} is left to refund. Amazon accepts "
                        f"up to {room} more (with its allowance), in at most {more} more refunds."
                    )
                else:
                    # Everything captured is refunded or on its way back: no amount is proposed
                    # (a one-click refund of Amazon's allowance would be more than the buyer paid).
                    hint = (
                        f"The captured {capture.amount} is refunded or being refunded. To give back "
                        f"more, Amazon accepts up to {room} (its allowance) in at most {more} more "
                        "refunds: enter the amount."
                    )
                forms.append(
                    ActionForm(
                        action,
                        "Refund",
                        "Refund {amount} " + view.currency + " to the buyer?",
                        capture.amazon_id or "",
                        rules.refund_proposal(view, capture),
                        editable=True,
                        maximum=room,
                        hint=hint,
                        idempotency_key=_form_key(),
                    )
                )
        elif action in (Action.AUTHORIZE, Action.REAUTHORIZE):
            amount = rules.reauthorize_amount(view, now=now)
            room = limits.ceiling(view.order_total) - rules.committed(view, now=now)
            lost = rules.lost_authorization(view, now=now)
            if lost is not None and action == Action.REAUTHORIZE:
                reason = f", {lost.reason_code}" if lost.reason_code else ""
                why = f"Replaces authorization {lost.amazon_id} ({lost.state.lower()}{reason})."
            else:
                left = rules.left_to_collect(view, now=now)
                why = f"{left} of the order total is neither captured nor authorized."
            hint = f"{why} Amazon accepts up to {room} more on this order."
            charge = view.mode == PaymentMode.AUTHORIZE_AND_CAPTURE
            if charge:
                hint += " “Authorize and capture” order: the buyer is charged at once."
            forms.append(
                ActionForm(
                    action,
                    action.label,
                    "Charge {amount} " + view.currency + " to the buyer now (authorize and capture)?"
                    if charge
                    else "Ask Amazon to authorize {amount} " + view.currency + " more?",
                    amount=amount,
                    editable=True,
                    maximum=room,
                    hint=hint,
                    idempotency_key=_form_key(),
                )
            )
        elif action == Action.REFRESH:
            forms.append(
                ActionForm(
                    action, action.label, "Ask Amazon for this payment's current state?", style="secondary"
                )
            )
        elif action == Action.CLOSE:
            forms.append(
                ActionForm(
                    action,
                    action.label,
                    "Close the Amazon order reference? No further authorizations will be possible; open "
                    "authorizations can still be captured and captures refunded.",
                    style="secondary",
                    idempotency_key=_form_key(),
                )
            )
        elif action == Action.CANCEL:
            forms.append(
                ActionForm(
                    action,
                    action.label,
                    "Cancel the Amazon order reference? Its authorizations are released and the buyer is "
                    "not charged.",
                    style="danger",
                    idempotency_key=_form_key(),
                )
            )
    return forms


def payment_panel(order: Order) -> dict:
    try:
        # Loaded with the order when the view asks for it (select_related), and then it knows
        # its order too: two queries fewer on every order page.
        payment = order.amazon_payment
    except Payment.DoesNotExist:
        return {"payment": None}
    settings = AmazonPaySettings.load()
    # History first: an IPN landing while the page renders then shows in the table, never
    # only in the history.
    events = list(payment.events.select_related("transaction").order_by("-at", "-id")[:200])
    transactions = list(payment.transactions.all())
    view = payment.view(transactions)
    now = timezone.now()
    actions = rules.available_actions(view, now=now, pending_grace=settings.pending_grace)
    forms = _forms(view, actions)
    return {
        "payment": payment,
        "transactions": transactions,
        "action_forms": [f for f in forms if f.action not in ORDER_REFERENCE_ACTIONS],
        "order_reference_forms": [f for f in forms if f.action in ORDER_REFERENCE_ACTIONS],
        "awaiting_sync": any(t.state == UNKNOWN for t in transactions),
        "events": events,
        "balances": {
            "authorized": rules.authorized(view, now=now),
            "captured": view.captured,
            "refunded": view.refunded,
        },
    }
