"""Which "Amazon Pay available order actions" an order offers, and the rules each must pass.

The seeds (X-Cart's Amazon Pay admin pages) define the buttons:
- Capture and Void: "Authorization then capture" mode, and an authorization is open;
- Refund: funds were captured (Processed or Completed) and Amazon still allows a refund;
- Refresh status: the IPN for the latest transaction did not arrive, or something is pending.
Beyond X-Cart, amounts may be partial, and Amazon v1 allows more than X-Cart offers:
- Authorize: collect what is still owed (split shipments) on the still-open order reference;
- Reauthorize: the latest authorization expired, was declined or closed by Amazon;
- Close / Cancel the order reference.
Every limit is checked here before Amazon is called.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from decimal import Decimal

from paydesk.payments import limits
from paydesk.payments.money import Money, total
from paydesk.payments.payment import IN_FLIGHT, MOVED_NOTHING, Payment, PaymentMode, Transaction
from paydesk.payments.states import CLOSED, COMPLETED, DECLINED, DRAFT, FAILED, OPEN, SUSPENDED, UNKNOWN, Kind


class Action(enum.StrEnum):
    CAPTURE = "capture"
    VOID = "void"
    REFUND = "refund"
    REFRESH = "refresh"
    AUTHORIZE = "authorize"
    REAUTHORIZE = "reauthorize"
    CLOSE = "close"
    CANCEL = "cancel"

    @property
    def label(self) -> str:
        return {
            Action.CAPTURE: "Capture",
            Action.VOID: "Void",
            Action.REFUND: "Refund",
            Action.REFRESH: "Refresh status",
            Action.AUTHORIZE: "Authorize",
            Action.REAUTHORIZE: "Reauthorize",
            Action.CLOSE: "Close order reference",
            Action.CANCEL: "Cancel order reference",
        }[self]


# The seeds' buttons, in the order they list them; Paydesk's further ones follow.
SEED_ACTIONS = (Action.CAPTURE, Action.VOID, Action.REFUND, Action.REFRESH)
ORDER_REFERENCE_ACTIONS = (Action.CLOSE, Action.CANCEL)
# Shown in this order.
ACTION_ORDER = (
    Action.CAPTURE,
    Action.VOID,
    Action.REFUND,
    Action.REFRESH,
    Action.AUTHORIZE,
    Action.REAUTHORIZE,
    Action.CLOSE,
    Action.CANCEL,
)


class ActionRefused(Exception):
    """An action the payment's state or Amazon's limits do not allow; the message is for people."""


def capturable_authorizations(payment: Payment, *, now: datetime) -> tuple[Transaction, ...]:
    return tuple(a for a in payment.open_authorizations if a.expires_at is None or a.expires_at > now)


def authorized(payment: Payment, *, now: datetime) -> Money:
    """Authorized and not yet captured: what the merchant can still collect right now. An
    authorization past its expiry is not counted, though Amazon may not have said so yet."""
    return total([a.amount for a in capturable_authorizations(payment, now=now)], payment.currency)


def refundable_captures(payment: Payment) -> tuple[Transaction, ...]:
    """The captures a refund may be made on: the Refund button and check_refund's one rule."""
    return tuple(
        c
        for c in payment.captures
        if c.state == COMPLETED
        and len(payment.refunds_of(c)) < limits.REFUNDS_PER_CAPTURE
        and refund_room(payment, c).is_positive
        and not refunded_in_full(payment, c)
    )


def refunded_in_full(payment: Payment, capture: Transaction) -> bool:
    """Completed refunds gave the whole capture back. Amazon would take its allowance on top,
    but like X-Cart's desk Paydesk offers nothing more on such a capture (the order reads
    Refunded); while those refunds are pending the allowance may still be refunded, with an
    amount the merchant types. Per capture: one capture refunded with its allowance must not
    close another of the same order."""
    # Only refunds known to be this capture's: one not linked yet counts against every
    # capture's limits (refund_room), but it gave back one capture, not each of them.
    given_back = [
        r.amount for r in payment.refunds if r.state == COMPLETED and r.parent_id == capture.amazon_id
    ]
    return total(given_back, payment.currency) >= capture.amount


def refund_room(payment: Payment, capture: Transaction) -> Money:
    """How much more Amazon accepts in refunds of this capture (its amount plus allowance)."""
    return limits.ceiling(capture.amount) - payment.refund_claims(capture)


def left_to_refund(payment: Payment, capture: Transaction) -> Money:
    """The captured amount not yet refunded (nor being refunded): the Refund form's default."""
    left = capture.amount - payment.refund_claims(capture)
    return left if left.is_positive else Money.zero(payment.currency)


def refund_proposal(payment: Payment, capture: Transaction) -> Money | None:
    """The amount a Refund of this capture proposes (order page, API, a refund sent without an
    amount): what is left of it; none when only Amazon's allowance is left, which is refunded
    only with an amount someone typed."""
    left = left_to_refund(payment, capture)
    return left if left.is_positive else None


def committed(payment: Payment, *, now: datetime) -> Money:
    """What the order reference already holds for the merchant: captured, being captured,
    authorized and not captured (nor expired), and authorizations under way."""
    held = payment.captured
    for capture in payment.captures:
        if capture.state in IN_FLIGHT:
            held = held + capture.amount
    for authorization in capturable_authorizations(payment, now=now):
        held = held + authorization.amount
    for authorization in payment.authorizations:
        if authorization.state in IN_FLIGHT:
            held = held + authorization.amount
    # Captured at Amazon (CaptureNow), not recorded yet: held all the same.
    for authorization in payment.captures_not_held:
        held = held + authorization.amount
    return held


def left_to_collect(payment: Payment, *, now: datetime) -> Money:
    """The order total not yet captured nor held by an authorization: the Authorize default."""
    left = payment.order_total - committed(payment, now=now)
    return left if left.is_positive else Money.zero(payment.currency)


def lost_authorization(payment: Payment, *, now: datetime) -> Transaction | None:
    """The latest authorization if it ended without being captured: declined, expired, or
    closed by Amazon — the one Reauthorize replaces."""
    made = [a for a in payment.authorizations if a.state != FAILED]
    if not made:
        return None
    latest = made[-1]
    if latest.state == DECLINED:
        return latest
    if latest.state == CLOSED and latest.reason_code not in _SETTLED_AUTHORIZATION_REASONS:
        return latest
    if latest.state == OPEN and latest.expires_at is not None and latest.expires_at <= now:
        return latest
    return None


# Closed authorizations that ended as the merchant meant them to: captured, or voided.
_SETTLED_AUTHORIZATION_REASONS = frozenset({"MaxCapturesProcessed", "SellerClosed", "OrderReferenceCanceled"})


def authorizations_made(payment: Payment) -> int:
    return sum(1 for a in payment.authorizations if a.state != FAILED)


def captured_authorizations(payment: Payment) -> int:
    """Authorizations with money captured (or being captured) on them; a capture whose
    authorization Paydesk has not learned yet counts as one more, and so does an authorization
    Amazon closed for its capture before Paydesk read that capture."""
    linked = sum(
        1 for a in payment.authorizations if any(c.state not in MOVED_NOTHING for c in payment.children(a))
    )
    unlinked = sum(1 for c in payment.captures if c.unlinked and c.state not in MOVED_NOTHING)
    return linked + unlinked + len(payment.captures_not_held)


def _charged_at_checkout(payment: Payment, *, now: datetime) -> bool:
    """An "Authorize and capture" order whose checkout charge holds money: there is nothing
    to authorize later (no split shipments in that mode). One whose charge failed or was
    declined may be charged again, with CaptureNow."""
    return payment.mode == PaymentMode.AUTHORIZE_AND_CAPTURE and committed(payment, now=now).is_positive


def _may_authorize(payment: Payment, *, now: datetime) -> bool:
    return (
        not _charged_at_checkout(payment, now=now)
        and payment.order_reference_state == OPEN
        and authorizations_made(payment) < limits.AUTHORIZATIONS_PER_ORDER_REFERENCE
        and captured_authorizations(payment) < limits.CAPTURED_AUTHORIZATIONS_PER_ORDER_REFERENCE
        and left_to_collect(payment, now=now).is_positive
    )


def reauthorize_amount(payment: Payment, *, now: datetime) -> Money:
    lost = lost_authorization(payment, now=now)
    left = left_to_collect(payment, now=now)
    if lost is None:
        return left
    return lost.amount if lost.amount <= left else left


def cancelable(payment: Payment) -> bool:
    """Amazon refuses CancelOrderReference once a capture is Completed, Closed or Pending."""
    return payment.order_reference_state in (DRAFT, OPEN, SUSPENDED) and all(
        c.state in MOVED_NOTHING for c in payment.captures
    )


def cancel_after_void(payment: Payment, voided: str | None = None) -> bool:
    """Whether a void ends the order: X-Cart's Void cancels the order reference too, so Amazon
    releases the buyer's funds - but canceling closes every authorization on it, so only when
    nothing is captured or being captured and no other authorization is open or under way.
    `voided`: the authorization Amazon just closed, in case Paydesk still holds it Open."""
    others = any((a.state == OPEN or a.in_flight) and a.amazon_id != voided for a in payment.authorizations)
    return cancelable(payment) and not payment.captured.is_positive and not others


def needs_refresh(payment: Payment, *, now: datetime, pending_grace: timedelta = timedelta(0)) -> bool:
    """True when Paydesk cannot trust what it holds: a check was asked for (a lost reply to a
    void, close or cancel), Amazon made a capture Paydesk does not hold, neither an IPN nor a
    later refresh confirmed the latest transaction, a capture or refund is not linked to what
    it was made on, an outcome is unknown, or something has been pending longer than
    `pending_grace`."""
    if payment.check_requested or payment.captures_not_held:
        return True
    latest = payment.latest
    if latest is not None and not latest.notified:
        changed = latest.last_updated or latest.requested_at
        if payment.confirmed_at is None or changed is None or changed > payment.confirmed_at:
            return True
    if any(t.unlinked for t in payment.transactions):
        return True
    for transaction in payment.in_flight:
        if transaction.state == UNKNOWN:
            return True
        since = transaction.last_updated or transaction.requested_at
        if since is None or since + pending_grace <= now:
            return True
    return False


def available_actions(
    payment: Payment, *, now: datetime, pending_grace: timedelta = timedelta(0)
) -> tuple[Action, ...]:
    """The buttons of the "Amazon Pay available order actions" section, in display order."""
    actions: set[Action] = set()
    awaiting_sync = any(t.state == UNKNOWN for t in payment.transactions)
    # Money moves only once Paydesk knows where every earlier movement stands.
    if not awaiting_sync:
        if payment.mode == PaymentMode.AUTHORIZE_THEN_CAPTURE and capturable_authorizations(payment, now=now):
            actions |= {Action.CAPTURE, Action.VOID}
        # Per capture, the same rule check_refund applies (see refundable_captures).
        if refundable_captures(payment):
            actions.add(Action.REFUND)
        if _may_authorize(payment, now=now):
            lost = lost_authorization(payment, now=now)
            actions.add(Action.REAUTHORIZE if lost is not None else Action.AUTHORIZE)
        if payment.order_reference_state in (OPEN, SUSPENDED):
            actions.add(Action.CLOSE)
        if cancelable(payment):
            actions.add(Action.CANCEL)
    if needs_refresh(payment, now=now, pending_grace=pending_grace):
        actions.add(Action.REFRESH)
    return tuple(a for a in ACTION_ORDER if a in actions)


# --- the rules each money movement must pass, checked before Amazon is called ---------------


def _check_amount(
    payment: Payment, amount: Money, what: str, largest: dict[str, Decimal] = limits.MAX_TRANSACTION_AMOUNT
) -> None:
    if amount.currency != payment.currency:
        raise ActionRefused(
            f"This order is paid in {payment.currency}; an amount in {amount.currency} cannot be used."
        )
    if not amount.is_positive:
        raise ActionRefused("The amount must be greater than zero.")
    most = largest.get(amount.currency)
    if most is not None and amount.amount > most:
        raise ActionRefused(f"Amazon refuses {what} over {most} {amount.currency} in one go.")


def _check_authorization_then_capture(payment: Payment, what: str) -> None:
    # The seeds: Capture and Void are for orders paid in "Authorization then capture" mode. In
    # "Authorize and capture" Amazon captures with the authorization (CaptureNow).
    if payment.mode != PaymentMode.AUTHORIZE_THEN_CAPTURE:
        raise ActionRefused(
            f"This order was paid in “{payment.mode.label}” mode: Amazon captures with the "
            f"authorization, so there is no separate {what}."
        )


def _find(payment: Payment, amazon_id: str, kind: Kind) -> Transaction:
    transaction = payment.find(amazon_id)
    if transaction is None or transaction.kind != kind:
        raise ActionRefused(f"This order has no {kind.value} {amazon_id}.")
    return transaction


def _check_not_awaiting_sync(payment: Payment) -> None:
    if any(t.state == UNKNOWN for t in payment.transactions):
        raise ActionRefused(
            "An earlier request to Amazon got no answer, so its outcome is unknown. Refresh status first."
        )


def check_capture(payment: Payment, authorization_id: str, amount: Money, *, now: datetime) -> None:
    _check_not_awaiting_sync(payment)
    _check_authorization_then_capture(payment, "capture")
    authorization = _find(payment, authorization_id, Kind.AUTHORIZATION)
    _check_amount(payment, amount, "captures")
    if authorization not in payment.open_authorizations:
        raise ActionRefused(
            f"Authorization {authorization_id} is {authorization.state.lower()}"
            + (f" ({authorization.reason_code})" if authorization.reason_code else "")
            + " and cannot be captured. Reload the page to see its current state."
        )
    if authorization.expires_at is not None and authorization.expires_at <= now:
        raise ActionRefused(
            f"Authorization {authorization_id} expired on {authorization.expires_at:%Y-%m-%d}. "
            "Refresh status, then reauthorize."
        )
    if amount > authorization.amount:
        raise ActionRefused(
            f"Amazon allows capturing at most the authorized amount, {authorization.amount}; "
            f"{amount} is more."
        )
    ceiling = limits.ceiling(payment.order_total)
    if payment.captured + amount > ceiling:
        raise ActionRefused(
            f"Amazon allows capturing at most {ceiling} on this order (the order total "
            f"{payment.order_total} plus Amazon's allowance); {payment.captured} was captured already."
        )


def check_authorize(payment: Payment, amount: Money, *, now: datetime, capture_now: bool = False) -> None:
    """`capture_now`: an authorization in "Authorize and capture" mode, captured at once: the
    checkout's, or a new charge after it failed or was declined; any other authorization
    (Authorize, Reauthorize) belongs to "Authorization then capture" orders."""
    _check_not_awaiting_sync(payment)
    if not capture_now:
        _check_authorization_then_capture(payment, "authorization to capture later")
    elif _charged_at_checkout(payment, now=now):
        raise ActionRefused(
            "This order was charged at checkout (“Authorize and capture” mode): there is nothing to "
            "charge again."
        )
    _check_amount(payment, amount, "authorizations")
    if payment.order_reference_state != OPEN:
        raise ActionRefused(
            f"The Amazon order reference is {payment.order_reference_state.lower()}; "
            "only an open one can be authorized."
        )
    made = authorizations_made(payment)
    if made >= limits.AUTHORIZATIONS_PER_ORDER_REFERENCE:
        raise ActionRefused(
            f"Amazon allows at most {limits.AUTHORIZATIONS_PER_ORDER_REFERENCE} authorizations on an "
            f"order reference; this one has {made}."
        )
    captured = captured_authorizations(payment)
    if captured >= limits.CAPTURED_AUTHORIZATIONS_PER_ORDER_REFERENCE:
        raise ActionRefused(
            f"Amazon closes an order reference once {limits.CAPTURED_AUTHORIZATIONS_PER_ORDER_REFERENCE} "
            f"of its authorizations were captured; this one has {captured}."
        )
    ceiling = limits.ceiling(payment.order_total)
    held = committed(payment, now=now)
    if held + amount > ceiling:
        room = ceiling - held
        raise ActionRefused(
            f"Amazon allows at most {ceiling} on this order (the order total {payment.order_total} plus "
            f"Amazon's allowance); {held} is captured or authorized already, so at most "
            f"{room if room.is_positive else Money.zero(payment.currency)} can be authorized."
        )


def check_close(payment: Payment) -> None:
    _check_not_awaiting_sync(payment)
    if payment.order_reference_state not in (OPEN, SUSPENDED):
        raise ActionRefused(
            f"The Amazon order reference is {payment.order_reference_state.lower()} and cannot be closed."
        )


def check_cancel(payment: Payment) -> None:
    _check_not_awaiting_sync(payment)
    if not cancelable(payment):
        if payment.order_reference_state not in (DRAFT, OPEN, SUSPENDED):
            raise ActionRefused(
                f"The Amazon order reference is {payment.order_reference_state.lower()} "
                "and cannot be canceled."
            )
        raise ActionRefused(
            "Amazon does not cancel an order reference once money was captured on it: refund instead, "
            "then close the order reference."
        )


def plan_capture(
    payment: Payment, authorization_id: str | None, amount: Money | None, *, now: datetime
) -> tuple[Transaction, Money]:
    """Which authorization a Capture collects and how much: the one asked for, else the first
    capturable one (else the latest, so the refusal says why it cannot be captured); the full
    authorized amount unless `amount` says less. Raises `ActionRefused`."""
    authorization = _target(
        payment,
        authorization_id,
        "authorization",
        eligible=capturable_authorizations(payment, now=now),
        known=payment.authorizations,
        none="This order has no open authorization to capture.",
    )
    total = amount or authorization.amount
    check_capture(payment, authorization.amazon_id or "", total, now=now)
    return authorization, total


def plan_refund(payment: Payment, capture_id: str | None, amount: Money | None) -> tuple[Transaction, Money]:
    """Which capture a Refund returns money from and how much: the one asked for, else the first
    refundable one (else the latest, so the refusal names the rule that stops it); what is left
    of it unless `amount` says otherwise. Raises `ActionRefused`."""
    refundable = refundable_captures(payment)
    if amount is None:
        # Without an amount the default is the proposal: of the first capture that has one.
        refundable = tuple(c for c in refundable if refund_proposal(payment, c) is not None) or refundable
    capture = _target(
        payment,
        capture_id,
        "capture",
        eligible=refundable,
        known=payment.captures,
        none="This order has no completed capture to refund.",
    )
    total = amount if amount is not None else refund_proposal(payment, capture)
    if total is None:
        raise ActionRefused(
            f"Nothing is left to refund of capture {capture.amazon_id}: its {capture.amount} is "
            f"refunded or being refunded. To refund more (Amazon's allowance: up to "
            f"{refund_room(payment, capture)}), give the amount."
        )
    check_refund(payment, capture.amazon_id or "", total)
    return capture, total


def check_void(payment: Payment, authorization_id: str) -> None:
    _check_not_awaiting_sync(payment)
    _check_authorization_then_capture(payment, "authorization to void")
    authorization = _find(payment, authorization_id, Kind.AUTHORIZATION)
    if authorization not in payment.open_authorizations:
        raise ActionRefused(
            f"Authorization {authorization_id} is {authorization.state.lower()} and cannot be voided. "
            "Reload the page to see its current state."
        )


def check_refund(payment: Payment, capture_id: str, amount: Money) -> None:
    _check_not_awaiting_sync(payment)
    capture = _find(payment, capture_id, Kind.CAPTURE)
    _check_amount(payment, amount, "refunds", limits.MAX_REFUND_AMOUNT)
    if capture.state != COMPLETED:
        raise ActionRefused(
            f"Capture {capture_id} is {capture.state.lower()}; only a completed capture can be refunded."
        )
    if refunded_in_full(payment, capture):
        raise ActionRefused(
            f"Capture {capture_id} has been refunded in full; nothing more is refunded on it."
        )
    count = len(payment.refunds_of(capture))
    if count >= limits.REFUNDS_PER_CAPTURE:
        raise ActionRefused(
            f"Amazon allows at most {limits.REFUNDS_PER_CAPTURE} refunds per capture; "
            f"capture {capture_id} has had {count}."
        )
    room = refund_room(payment, capture)
    if amount > room:
        raise ActionRefused(
            f"Amazon allows refunding at most {limits.ceiling(capture.amount)} of capture {capture_id} "
            f"(the captured {capture.amount} plus Amazon's allowance); {room} is left to refund."
        )


def _target(
    payment: Payment,
    asked: str | None,
    noun: str,
    *,
    eligible: tuple[Transaction, ...],
    known: tuple[Transaction, ...],
    none: str,
) -> Transaction:
    """The object an action works on: the one asked for; else the first eligible one; else the
    latest Amazon knows of, so that the check refuses it with the rule that stops it."""
    if asked:
        found = payment.find(asked)
        if found is None:
            raise ActionRefused(f"This order has no {noun} {asked}.")
        return found
    candidates = eligible or tuple(t for t in known if t.amazon_id)[-1:]
    if not candidates:
        raise ActionRefused(none)
    return candidates[0]
