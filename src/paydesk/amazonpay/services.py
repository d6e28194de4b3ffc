"""The payment service: the one writer of payment state.

Staff actions, IPNs, refreshes, the checkout and the reconciler all change payments through
the functions here, and nothing else writes a payment, a transaction or an order's status.

Every money movement (authorize, capture, refund) runs in three steps:
1. *Decide*: lock the payment row, ask the pure core whether the action is allowed, and store
   the transaction with a fresh reference id in Paydesk's state "Unknown". Commit.
2. *Call* Amazon with that reference id, holding no lock: Amazon may take seconds, and the
   IPNs for this very payment must not wait behind it.
3. *Record*: lock the payment row again, apply Amazon's reply through the same function IPNs
   and refreshes use, log the event, update the order status. Commit.
A second click or a second tab reaches step 1 while the first transaction is still Unknown
(or already done) and is refused, so money never moves twice. A crash between steps 1 and 3
leaves the Unknown row behind; a refresh finds the object by its reference id.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError
from django.db import transaction as db
from django.utils import timezone

from paydesk.amazonpay import details as amazon
from paydesk.amazonpay.errors import (
    AmazonApiError,
    AmazonPayError,
    InvalidRequest,
    InvalidState,
    OutcomeUnknown,
    TransportError,
)
from paydesk.amazonpay.models import (
    AmazonPaySettings,
    Outcome,
    Payment,
    PaymentEvent,
    Source,
    Transaction,
)
from paydesk.orders.models import Order
from paydesk.payments import actions as rules
from paydesk.payments.money import Money
from paydesk.payments.payment import Payment as PaymentView
from paydesk.payments.payment import PaymentMode
from paydesk.payments.states import (
    AUTHORIZATION,
    CAPTURE,
    DECLINED,
    DRAFT,
    FAILED,
    PAYDESK_STATES,
    PENDING,
    REFUND,
    UNKNOWN,
    Kind,
    Verdict,
    judge,
)
from paydesk.payments.status import order_status

log = logging.getLogger("paydesk.payments")

# An Unknown transaction younger than this may still be on its way to Amazon (the client's
# retries are bounded well below it), so a refresh that does not find it leaves it alone.
UNKNOWN_SETTLE_TIME = timedelta(minutes=3)


@dataclass(frozen=True)
class Actor:
    """Who or what caused a change: a staff user, the IPN endpoint, the reconciler..."""

    source: Source
    name: str = ""

    @classmethod
    def staff(cls, user) -> Actor:
        return cls(Source.STAFF, user.get_username())


IPN = Actor(Source.IPN)
RECONCILER = Actor(Source.RECONCILER)


class ForeignReport(ValueError):
    """Amazon reported an object that cannot be this payment's: money in another currency.
    Nothing is changed; the caller keeps the report for someone to look at."""


@dataclass(frozen=True)
class ActionResult:
    """What happened, in plain words for the person who clicked."""

    outcome: Outcome
    message: str
    transaction_id: int | None = None
    # Amazon's error code when Amazon refused or failed (e.g. RequestThrottled), for callers
    # that count or route errors; the message stays the thing people read.
    error_code: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome in (Outcome.DONE, Outcome.PENDING)


# --- the Amazon client for the store's settings ----------------------------------------------

ClientFactory = Callable[[AmazonPaySettings], object]
_client_factory: ClientFactory | None = None


def use_client_factory(factory: ClientFactory | None) -> None:
    """Replace how clients are built (the demo and tests point it at a sandbox)."""
    global _client_factory
    _client_factory = factory


def amazon_client(settings: AmazonPaySettings | None = None):
    from paydesk.amazonpay.connection import client_for

    settings = settings or AmazonPaySettings.load()
    return (_client_factory or client_for)(settings)


# --- locking ------------------------------------------------------------------------------------


@contextmanager
def locked_payment(payment_id: int) -> Iterator[Payment]:
    """The payment row, locked until the block ends (SELECT ... FOR UPDATE; on SQLite the
    IMMEDIATE transaction already holds the database's write lock)."""
    with db.atomic():
        payment = Payment.objects.select_for_update().select_related("order").get(pk=payment_id)
        yield payment


def _new_reference_id(payment: Payment, kind: Kind) -> str:
    # Amazon: at most 32 characters of [A-Za-z0-9_-], unique per seller across Authorize,
    # Capture and Refund (docs/amazon-pay-v1.md §4).
    letter = {Kind.AUTHORIZATION: "a", Kind.CAPTURE: "c", Kind.REFUND: "r"}[kind]
    number = "".join(ch for ch in payment.order.number if ch.isalnum() or ch in "-_")[:16]
    return f"{number}-{letter}{secrets.token_hex(6)}"


def _log_event(payment: Payment, actor: Actor, operation: str, outcome: Outcome, **fields) -> PaymentEvent:
    txn: Transaction | None = fields.pop("transaction", None)
    if txn is not None:
        fields.setdefault("reference_id", txn.reference_id)
        fields.setdefault("amazon_id", txn.amazon_id or "")
        fields.setdefault("amount", txn.amount)
        fields.setdefault("currency", txn.currency)
        fields.setdefault("state", txn.state)
        fields.setdefault("reason_code", txn.reason_code)
    return PaymentEvent.objects.create(
        payment=payment,
        transaction=txn,
        source=actor.source,
        actor=actor.name,
        operation=operation,
        outcome=outcome,
        **fields,
    )


def _sync_order_status(payment: Payment, rows: list[Transaction] | None = None) -> None:
    """Bring the order's status, and the reconciler's timetable for this (locked) payment, in
    line with what the payment now holds. `rows`: its transactions, when the caller has them."""
    view = payment.view(rows)
    status = order_status(view)
    order = payment.order
    if order.status != status.value:
        Order.objects.filter(pk=order.pk).update(status=status.value)
        order.status = status.value
    payment.plan_next_check(view, unknown_settle=UNKNOWN_SETTLE_TIME)


# --- applying what Amazon reports (replies, IPNs, refreshes alike) ---------------------------


def _details_of(kind: Kind, obj) -> dict:
    """The fields of a transaction row that an Amazon object reports."""
    if kind == Kind.AUTHORIZATION:
        return {
            "amazon_id": obj.amazon_authorization_id,
            "reference_id": obj.authorization_reference_id,
            "amount": obj.authorization_amount,
            "expires_at": obj.expiration_timestamp,
            "soft_decline": bool(obj.soft_decline),
            "fee": obj.authorization_fee,
            "capture_now": bool(obj.capture_now),
        }
    if kind == Kind.CAPTURE:
        return {
            "amazon_id": obj.amazon_capture_id,
            "reference_id": obj.capture_reference_id,
            "amount": obj.capture_amount,
            "fee": obj.capture_fee,
        }
    return {
        "amazon_id": obj.amazon_refund_id,
        "reference_id": obj.refund_reference_id,
        "amount": obj.refund_amount,
        "fee": obj.fee_refunded,
    }


_MACHINE = {Kind.AUTHORIZATION: AUTHORIZATION, Kind.CAPTURE: CAPTURE, Kind.REFUND: REFUND}
_KIND_OF = {
    amazon.Authorization: Kind.AUTHORIZATION,
    amazon.Capture: Kind.CAPTURE,
    amazon.Refund: Kind.REFUND,
}


def apply_report(
    payment: Payment,
    obj: amazon.Authorization | amazon.Capture | amazon.Refund,
    *,
    actor: Actor,
    operation: str,
    parent_amazon_id: str = "",
) -> tuple[Transaction, Verdict]:
    """Apply Amazon's report of an authorization, capture or refund to this (locked) payment.

    The transaction is found by Amazon's id, else by our reference id; one Paydesk never asked
    for (made in Seller Central, or before a crash lost our row) is adopted. A report older
    than what we hold never moves it backwards (`paydesk.payments.states.judge`).
    """
    kind = _KIND_OF[type(obj)]
    fields = _details_of(kind, obj)
    money: Money = fields.pop("amount")
    fee: Money | None = fields.pop("fee")
    if money.currency != payment.currency:
        # Amazon keeps one currency per order reference; a row in another would break every
        # sum on this payment (and its order page) from now on.
        raise ForeignReport(
            f"Amazon reported {kind.value} {fields['amazon_id']} in {money.currency}; "
            f"this payment is in {payment.currency}. Nothing was changed."
        )
    rows = list(payment.transactions.all())
    txn = next((t for t in rows if t.amazon_id == fields["amazon_id"]), None) or next(
        (t for t in rows if t.kind == kind.value and t.reference_id == fields["reference_id"]), None
    )
    adopted = txn is None
    if txn is None:
        txn = Transaction(
            payment=payment,
            kind=kind.value,
            reference_id=fields["reference_id"],
            amount=money.amount,
            currency=money.currency,
            state=UNKNOWN,
            parent_amazon_id=parent_amazon_id,
            requested_at=obj.creation_timestamp or timezone.now(),
        )
    status = obj.status
    verdict = judge(kind, txn.state, txn.amazon_updated_at, status.state, status.last_updated)
    from_ipn = actor.source == Source.IPN
    if verdict in (Verdict.ADVANCE, Verdict.REFRESH):
        txn.state = status.state
        txn.reason_code = status.reason_code or ""
        txn.reason_description = (status.reason_description or "")[:255]
        txn.amazon_updated_at = status.last_updated
        txn.amazon_id = fields["amazon_id"]
        txn.amount = money.amount
        txn.currency = money.currency
        txn.expires_at = fields.get("expires_at") or txn.expires_at
        txn.soft_decline = fields.get("soft_decline", txn.soft_decline)
        txn.capture_now = fields.get("capture_now", txn.capture_now)
        if fee is not None:
            txn.fee = fee.amount
        if parent_amazon_id:
            txn.parent_amazon_id = parent_amazon_id
        # `notified` means an IPN reported the state we now hold.
        txn.notified = from_ipn
        txn.error_code = ""
        txn.error_message = ""
        txn.save()
    elif adopted or (from_ipn and status.state == txn.state and not txn.notified):
        txn.notified = txn.notified or from_ipn
        txn.save()
    if parent_amazon_id and txn.parent_amazon_id != parent_amazon_id:
        # A stale report still says what the object was made on.
        txn.parent_amazon_id = parent_amazon_id
        txn.save(update_fields=["parent_amazon_id"])
    _link_children(rows, obj)
    outcome = {
        DECLINED: Outcome.DECLINED,
        PENDING: Outcome.PENDING,
    }.get(txn.state, Outcome.DONE)
    note = "Found at Amazon: not made through Paydesk before." if adopted else ""
    if verdict == Verdict.STALE:
        if status.state == txn.state:
            # Amazon repeats what an earlier report (often its IPN) already told us.
            note = note or "Already known."
        else:
            outcome = Outcome.STALE
            note = f"Older than what Paydesk holds ({txn.state}); ignored."
    _log_event(
        payment,
        actor,
        operation,
        outcome,
        transaction=txn,
        state=status.state,
        reason_code=status.reason_code or "",
        message=note,
        request_id=obj.request_id or "",
    )
    _sync_order_status(payment, [*rows, txn] if adopted else rows)
    return txn, verdict


def _link_children(rows: list[Transaction], obj) -> None:
    """Amazon's IdLists name what was made on an object (an authorization's capture, a
    capture's refunds). A capture or refund first heard of by IPN does not say its parent;
    this is where it learns it."""
    if isinstance(obj, amazon.Authorization):
        parent, children = obj.amazon_authorization_id, obj.capture_ids
    elif isinstance(obj, amazon.Capture):
        parent, children = obj.amazon_capture_id, obj.refund_ids
    else:
        return
    for child in rows:
        if child.amazon_id in children and child.parent_amazon_id != parent:
            child.parent_amazon_id = parent
            child.save(update_fields=["parent_amazon_id"])


def apply_order_reference(
    payment: Payment, obj: amazon.OrderReference, *, actor: Actor, operation: str
) -> Verdict:
    status = obj.status
    verdict = judge(
        Kind.ORDER_REFERENCE,
        payment.order_reference_state,
        payment.order_reference_updated,
        status.state,
        status.last_updated,
    )
    if verdict in (Verdict.ADVANCE, Verdict.REFRESH):
        payment.order_reference_state = status.state
        payment.order_reference_reason = status.reason_code or ""
        payment.order_reference_updated = status.last_updated
        payment.save(
            update_fields=["order_reference_state", "order_reference_reason", "order_reference_updated"]
        )
    if verdict == Verdict.ADVANCE or actor.source == Source.IPN:
        older = verdict == Verdict.STALE and status.state != payment.order_reference_state
        _log_event(
            payment,
            actor,
            operation,
            Outcome.STALE if older else Outcome.INFO,
            amazon_id=obj.amazon_order_reference_id,
            state=status.state,
            reason_code=status.reason_code or "",
            message=f"Older than what Paydesk holds ({payment.order_reference_state}); ignored."
            if older
            else "",
            request_id=obj.request_id or "",
        )
    _sync_order_status(payment)
    return verdict


# --- money movements ---------------------------------------------------------------------------


def _describe(txn: Transaction, verb: str) -> ActionResult:
    amount = txn.amount_money
    what = f"{verb} of {amount}"
    if txn.state == DECLINED:
        why = f": {txn.reason_code}" if txn.reason_code else ""
        detail = f" — {txn.reason_description}" if txn.reason_description else ""
        return ActionResult(Outcome.DECLINED, f"Amazon declined the {what.lower()}{why}{detail}.", txn.pk)
    if txn.state == PENDING:
        return ActionResult(
            Outcome.PENDING,
            f"{what} is pending at Amazon. The order updates when Amazon's notification arrives "
            "(or use Refresh status).",
            txn.pk,
        )
    if txn.state == UNKNOWN:
        return ActionResult(
            Outcome.UNKNOWN,
            f"Amazon did not answer the {what.lower()}, so it is not known whether it happened. "
            "Nothing will be sent again until Refresh status has asked Amazon.",
            txn.pk,
        )
    if txn.state == FAILED:
        return ActionResult(Outcome.FAILED, f"The {what.lower()} failed: {txn.error_message}", txn.pk)
    return ActionResult(Outcome.DONE, f"{what} done: Amazon reports it {txn.state.lower()}.", txn.pk)


def _replayed(
    idempotency_key: str | None,
    payment_id: int,
    kind: Kind,
    amount: Money | None,
    target: str | None,
    operation: str,
) -> ActionResult | None:
    """The result of an earlier request with the same idempotency key (a double click, a
    client's retry), or None. The same key for a different action, amount or target is refused."""
    if not idempotency_key:
        return None
    earlier = Transaction.objects.filter(idempotency_key=idempotency_key).first()
    if earlier is None:
        return None
    if (
        earlier.payment_id != payment_id
        or earlier.kind != kind.value
        or (amount is not None and earlier.amount_money != amount)
        or (target is not None and earlier.parent_amazon_id != target)
    ):
        return ActionResult(
            Outcome.REFUSED, "This request key was already used for a different action; nothing was done."
        )
    return _describe(earlier, operation)


Decision = tuple[str, Money]  # (the Amazon object it acts on, the amount)


def _begin(
    payment_id: int,
    kind: Kind,
    *,
    decide: Callable[[PaymentView], Decision],
    requested: Money | None,
    target: str | None,
    actor: Actor,
    operation: str,
    idempotency_key: str | None,
) -> tuple[Transaction | None, ActionResult | None]:
    """Step 1: lock, decide on the locked state, store the transaction with its reference id.
    Commit. `decide` picks the target and amount (raising `ActionRefused` when the rules say no)."""
    with locked_payment(payment_id) as payment:
        replay = _replayed(idempotency_key, payment_id, kind, requested, target, operation)
        if replay is not None:
            return None, replay
        rows = list(payment.transactions.all())
        try:
            parent_amazon_id, amount = decide(payment.view(rows))
        except rules.ActionRefused as refused:
            _log_event(
                payment,
                actor,
                operation,
                Outcome.REFUSED,
                amount=requested.amount if requested else None,
                currency=requested.currency if requested else "",
                message=str(refused),
            )
            return None, ActionResult(Outcome.REFUSED, str(refused))
        txn = Transaction.objects.create(
            payment=payment,
            kind=kind.value,
            reference_id=_new_reference_id(payment, kind),
            amount=amount.amount,
            currency=amount.currency,
            state=UNKNOWN,
            parent_amazon_id=parent_amazon_id,
            idempotency_key=idempotency_key or None,
        )
        _log_event(payment, actor, operation, Outcome.INFO, transaction=txn, message="Sent to Amazon.")
        _sync_order_status(payment, [*rows, txn])
    return txn, None


def _move_money(
    payment_id: int,
    kind: Kind,
    *,
    decide: Callable[[PaymentView], Decision],
    requested: Money | None,
    target: str | None = None,
    actor: Actor,
    operation: str,
    idempotency_key: str | None,
    send: Callable[[object, Transaction], object],
) -> ActionResult:
    """The three steps of every money movement: decide and store, call Amazon, record.
    `send(client, txn)` makes the call from what was stored: target, reference id, amount."""
    txn, refused = _begin(
        payment_id,
        kind,
        decide=decide,
        requested=requested,
        target=target,
        actor=actor,
        operation=operation,
        idempotency_key=idempotency_key,
    )
    if txn is None:
        return refused  # type: ignore[return-value]
    client = amazon_client()
    return _finish(txn, lambda: send(client, txn), actor=actor, operation=operation)


def _finish(txn: Transaction, call: Callable[[], object], *, actor: Actor, operation: str) -> ActionResult:
    """Steps 2 and 3: call Amazon, then record what it said."""
    try:
        reply = call()
    except OutcomeUnknown as exc:
        with locked_payment(txn.payment_id) as payment:
            txn.refresh_from_db()
            _log_event(payment, actor, operation, Outcome.UNKNOWN, transaction=txn, message=str(exc))
        return _describe(txn, operation)
    except AmazonApiError as exc:
        with locked_payment(txn.payment_id) as payment:
            txn.refresh_from_db()
            if txn.state == UNKNOWN:
                txn.state = FAILED
                txn.error_code = exc.code or f"HTTP {exc.http_status}"
                txn.error_message = exc.message or str(exc)
                txn.save()
            _log_event(
                payment,
                actor,
                operation,
                Outcome.FAILED,
                transaction=txn,
                message=str(exc),
                request_id=exc.request_id or "",
            )
            _sync_order_status(payment)
            if isinstance(exc, InvalidState):
                # Amazon holds the object in another state than Paydesk does (closed without an
                # IPN, or a sandbox authorization past its two days): read it again now.
                payment.check_within(timedelta(0))
        return ActionResult(Outcome.FAILED, _people_message(operation, exc), txn.pk, exc.code or "")
    except TransportError as exc:
        # Nothing reached Amazon: the reference id is free and nothing moved.
        _record_not_sent(
            txn,
            "NotSent",
            f"Amazon could not be reached: {exc}",
            sent=exc.request_sent,
            actor=actor,
            operation=operation,
        )
        return ActionResult(Outcome.FAILED, f"Amazon could not be reached ({exc}). No money moved.", txn.pk)
    except InvalidRequest as exc:
        # The client refused to send what Amazon would refuse; the pure core's checks should
        # have caught it first, but the row must not stay Unknown and block the order.
        _record_not_sent(txn, "InvalidRequest", str(exc), sent=False, actor=actor, operation=operation)
        return ActionResult(Outcome.FAILED, f"Paydesk did not send it: {exc}. No money moved.", txn.pk)
    with locked_payment(txn.payment_id) as payment:
        recorded, _ = apply_report(
            payment, reply, actor=actor, operation=operation, parent_amazon_id=txn.parent_amazon_id
        )
    return _describe(recorded, operation)


def _record_not_sent(
    txn: Transaction, code: str, message: str, *, sent: bool, actor: Actor, operation: str
) -> None:
    with locked_payment(txn.payment_id) as payment:
        txn.refresh_from_db()
        if txn.state == UNKNOWN and not sent:
            txn.state = FAILED
            txn.error_code = code
            txn.error_message = message
            txn.save()
        _log_event(payment, actor, operation, Outcome.FAILED, transaction=txn, message=message)
        _sync_order_status(payment)


def _people_message(operation: str, exc: AmazonApiError) -> str:
    text = exc.message or exc.code or f"HTTP {exc.http_status}"
    return f"Amazon refused the {operation.lower()}: {text} ({exc.code or exc.http_status}). No money moved."


def capture(
    payment_id: int,
    *,
    authorization_id: str | None = None,
    amount: Money | None = None,
    actor: Actor,
    idempotency_key: str | None = None,
    seller_note: str | None = None,
) -> ActionResult:
    """Collect an open authorization (the full authorized amount unless `amount` says less)."""

    def decide(view: PaymentView) -> Decision:
        authorization, total = rules.plan_capture(view, authorization_id, amount, now=timezone.now())
        return authorization.amazon_id or "", total

    return _move_money(
        payment_id,
        Kind.CAPTURE,
        decide=decide,
        requested=amount,
        target=authorization_id,
        actor=actor,
        operation="Capture",
        idempotency_key=idempotency_key,
        send=lambda client, txn: client.capture(
            txn.parent_amazon_id,
            capture_reference_id=txn.reference_id,
            amount=txn.amount_money,
            seller_note=seller_note,
        ),
    )


def refund(
    payment_id: int,
    *,
    capture_id: str | None = None,
    amount: Money | None = None,
    actor: Actor,
    idempotency_key: str | None = None,
    seller_note: str | None = None,
) -> ActionResult:
    """Return captured funds to the buyer (what is left of the capture unless `amount` says less)."""

    def decide(view: PaymentView) -> Decision:
        capture, total = rules.plan_refund(view, capture_id, amount)
        return capture.amazon_id or "", total

    return _move_money(
        payment_id,
        Kind.REFUND,
        decide=decide,
        requested=amount,
        target=capture_id,
        actor=actor,
        operation="Refund",
        idempotency_key=idempotency_key,
        send=lambda client, txn: client.refund(
            txn.parent_amazon_id,
            refund_reference_id=txn.reference_id,
            amount=txn.amount_money,
            seller_note=seller_note,
        ),
    )


def authorize(
    payment_id: int,
    *,
    amount: Money | None,
    actor: Actor,
    synchronous: bool,
    capture_now: bool,
    seller_note: str | None = None,
    idempotency_key: str | None = None,
) -> ActionResult:
    """Ask Amazon to authorize `amount` on the payment's open order reference; `None`: what
    is still owed, worked out under the lock, so two people asking at once cannot both
    authorize the same remainder."""

    def decide(view: PaymentView) -> Decision:
        now = timezone.now()
        wanted = amount
        if wanted is None:
            wanted = rules.reauthorize_amount(view, now=now)
            if not wanted.is_positive:
                raise rules.ActionRefused("Nothing is left to authorize on this order.")
        rules.check_authorize(view, wanted, now=now, capture_now=capture_now)
        return "", wanted

    result = _move_money(
        payment_id,
        Kind.AUTHORIZATION,
        decide=decide,
        requested=amount,
        actor=actor,
        operation="Authorize",
        idempotency_key=idempotency_key,
        send=lambda client, txn: client.authorize(
            txn.payment.amazon_order_reference_id,
            authorization_reference_id=txn.reference_id,
            amount=txn.amount_money,
            seller_note=seller_note,
            transaction_timeout=0 if synchronous else 1440,
            capture_now=capture_now,
        ),
    )
    if result.transaction_id is None:
        return result
    txn = Transaction.objects.get(pk=result.transaction_id)
    if capture_now and txn.state not in PAYDESK_STATES:
        # CaptureNow: Amazon made the capture too; its details come by IPN or by asking.
        try:
            _fetch_captures(txn.payment_id, actor=actor)
        except AmazonPayError as exc:
            # The money moved all the same: the order shows it as pending and the reconciler
            # reads the capture (schedule: CAPTURE_NOT_HELD). The buyer must not see an error.
            log.warning(
                "authorize: reading the CaptureNow capture of payment %s failed: %s", txn.payment_id, exc
            )
            with locked_payment(txn.payment_id) as locked:
                _log_event(
                    locked,
                    actor,
                    "GetCaptureDetails",
                    Outcome.FAILED,
                    message=f"Amazon made the capture; reading it failed ({exc}). {_ASKS_AGAIN}",
                )
    if txn.state == DECLINED:
        # A decline moves the order reference too (Suspended for InvalidPaymentMethod, Closed
        # for AmazonRejected: docs/amazon-pay-v1.md §3.2); do not wait for its IPN to know.
        _fetch_order_reference(txn.payment_id, actor=actor)
    return result


def _fetch_order_reference(payment_id: int, *, actor: Actor) -> None:
    payment = Payment.objects.get(pk=payment_id)
    try:
        oro = amazon_client().get_order_reference_details(payment.amazon_order_reference_id)
    except AmazonPayError as exc:
        log.warning("could not read order reference %s: %s", payment.amazon_order_reference_id, exc)
        return
    with locked_payment(payment_id) as locked:
        apply_order_reference(locked, oro, actor=actor, operation="GetOrderReferenceDetails")


def authorize_more(
    payment_id: int,
    *,
    amount: Money | None = None,
    actor: Actor,
    idempotency_key: str | None = None,
    seller_note: str | None = None,
) -> ActionResult:
    """Authorize what is still owed on the open order reference: the next shipment's share,
    or a replacement for an authorization that expired or was declined. Synchronous or not as
    the store's settings say. CaptureNow only on "Authorize and capture" orders, whose charge
    at checkout failed or was declined: there the merchant never captures separately."""
    settings = AmazonPaySettings.load()
    mode = Payment.objects.values_list("mode", flat=True).get(pk=payment_id)
    return authorize(
        payment_id,
        amount=amount,
        actor=actor,
        synchronous=settings.authorization_mode == "sync",
        capture_now=mode == PaymentMode.AUTHORIZE_AND_CAPTURE,
        seller_note=seller_note,
        idempotency_key=idempotency_key,
    )


_ASKS_AGAIN = "Paydesk asks Amazon where it stands within a few minutes; the order updates then."


def _sent(payment: Payment, actor: Actor, operation: str, amazon_id: str) -> None:
    """Record a call that leaves no transaction of its own (void, close, cancel) before it is
    made, and have the reconciler ask Amazon once the call cannot still be on its way: if the
    reply is lost or this process dies first, what Amazon did is recorded all the same. The
    recorded reply replaces this check with whatever the payment needs next; a failed call asks
    again, since a refresh while it was under way may have replanned the check away."""
    _log_event(payment, actor, operation, Outcome.INFO, amazon_id=amazon_id, message="Sent to Amazon.")
    payment.check_within(UNKNOWN_SETTLE_TIME)


def _order_reference_call(
    payment_id: int, *, actor: Actor, operation: str, check: Callable, call: Callable, done: str
) -> ActionResult:
    """Close or cancel: check, call Amazon, then refresh so every object on the order
    reference shows what Amazon did to it (a cancel closes its open authorizations)."""
    with locked_payment(payment_id) as locked:
        try:
            check(locked.view())
        except rules.ActionRefused as refused:
            _log_event(
                locked,
                actor,
                operation,
                Outcome.REFUSED,
                amazon_id=locked.amazon_order_reference_id,
                message=str(refused),
            )
            return ActionResult(Outcome.REFUSED, str(refused))
        oro_id = locked.amazon_order_reference_id
        _sent(locked, actor, operation, oro_id)
    try:
        call(amazon_client(), oro_id)
    except AmazonPayError as exc:
        with locked_payment(payment_id) as locked:
            _log_event(
                locked,
                actor,
                operation,
                Outcome.FAILED,
                amazon_id=oro_id,
                message=str(exc),
                request_id=getattr(exc, "request_id", "") or "",
            )
            locked.check_within(UNKNOWN_SETTLE_TIME)
        if isinstance(exc, AmazonApiError):
            return ActionResult(Outcome.FAILED, _people_message(operation, exc), error_code=exc.code or "")
        return ActionResult(Outcome.FAILED, f"Amazon did not answer ({exc}). {_ASKS_AGAIN}")
    with locked_payment(payment_id) as locked:
        _log_event(locked, actor, operation, Outcome.DONE, amazon_id=oro_id, message=done)
    refresh(payment_id, actor=actor)
    return ActionResult(Outcome.DONE, done)


def close_order_reference(payment_id: int, *, actor: Actor, reason: str | None = None) -> ActionResult:
    """No more authorizations on this order; open authorizations can still be captured and
    captures refunded (Amazon's CloseOrderReference)."""
    return _order_reference_call(
        payment_id,
        actor=actor,
        operation="CloseOrderReference",
        check=rules.check_close,
        call=lambda client, oro: client.close_order_reference(oro, reason=reason),
        done="Order reference closed: no further authorizations.",
    )


def cancel_order_reference(payment_id: int, *, actor: Actor, reason: str | None = None) -> ActionResult:
    """Cancel the whole Amazon order; Amazon closes its open authorizations. Only possible
    while nothing was captured."""
    return _order_reference_call(
        payment_id,
        actor=actor,
        operation="CancelOrderReference",
        check=rules.check_cancel,
        call=lambda client, oro: client.cancel_order_reference(oro, reason=reason),
        done="Order reference canceled: the buyer will not be charged.",
    )


def void(
    payment_id: int, *, authorization_id: str | None = None, actor: Actor, reason: str | None = None
) -> ActionResult:
    """Close an open authorization that will not be captured, and cancel the order reference
    when nothing else is held or moved on it (X-Cart's Void)."""
    with locked_payment(payment_id) as locked:
        view = locked.view()
        opens = view.open_authorizations
        target = view.find(authorization_id) if authorization_id else (opens[0] if opens else None)
        if target is None or target.amazon_id is None:
            return ActionResult(Outcome.REFUSED, "This order has no open authorization to void.")
        try:
            rules.check_void(view, target.amazon_id)
        except rules.ActionRefused as refused:
            _log_event(
                locked,
                actor,
                "CloseAuthorization",
                Outcome.REFUSED,
                amazon_id=target.amazon_id,
                message=str(refused),
            )
            return ActionResult(Outcome.REFUSED, str(refused))
        _sent(locked, actor, "CloseAuthorization", target.amazon_id)
        oro_id = locked.amazon_order_reference_id
    client = amazon_client()
    try:
        client.close_authorization(target.amazon_id, reason=reason)
    except AmazonPayError as exc:
        with locked_payment(payment_id) as locked:
            _log_event(
                locked,
                actor,
                "CloseAuthorization",
                Outcome.FAILED,
                amazon_id=target.amazon_id,
                message=str(exc),
                request_id=getattr(exc, "request_id", "") or "",
            )
            locked.check_within(UNKNOWN_SETTLE_TIME)
        message = (
            _people_message("void", exc)
            if isinstance(exc, AmazonApiError)
            else f"Amazon did not answer the void ({exc}). {_ASKS_AGAIN}"
        )
        return ActionResult(Outcome.FAILED, message)
    # Amazon has closed it. Reading it back can still fail; that must not turn a void that
    # happened into "refused", nor skip the cancel that ends the order.
    try:
        authorization, unread = client.get_authorization_details(target.amazon_id), None
    except AmazonPayError as exc:
        authorization, unread = None, exc
    with locked_payment(payment_id) as locked:
        if authorization is not None:
            txn, _ = apply_report(locked, authorization, actor=actor, operation="CloseAuthorization")
            done = f"Authorization voided ({txn.amount_money} released)."
            txn_id = txn.pk
        else:
            done = (
                f"Amazon accepted the void of {target.amount}; its new state could not be read yet "
                f"({unread}). {_ASKS_AGAIN}"
            )
            _log_event(
                locked, actor, "CloseAuthorization", Outcome.DONE, amazon_id=target.amazon_id, message=done
            )
            locked.check_within(UNKNOWN_SETTLE_TIME)
            txn_id = locked.transactions.get(amazon_id=target.amazon_id).pk
        ends_the_order = rules.cancel_after_void(locked.view(), voided=target.amazon_id)
        if ends_the_order:
            _sent(locked, actor, "CancelOrderReference", oro_id)
    if ends_the_order:
        try:
            client.cancel_order_reference(oro_id, reason=reason)
            oro = client.get_order_reference_details(oro_id)
        except AmazonPayError as exc:
            log.warning("void: cancel of %s failed: %s", oro_id, exc)
            with locked_payment(payment_id) as locked:
                locked.check_within(UNKNOWN_SETTLE_TIME)
        else:
            with locked_payment(payment_id) as locked:
                apply_order_reference(locked, oro, actor=actor, operation="CancelOrderReference")
    return ActionResult(Outcome.DONE, done, txn_id)


def mark_fulfilled(payment_id: int, *, actor: Actor) -> ActionResult:
    """The merchant shipped the order: a paid order becomes Completed (X-Cart's meaning)."""
    with locked_payment(payment_id) as payment:
        Order.objects.filter(pk=payment.order_id).update(fulfilled=True)
        payment.order.fulfilled = True
        _log_event(payment, actor, "Mark fulfilled", Outcome.INFO, message="The order was shipped.")
        _sync_order_status(payment)
        return ActionResult(Outcome.DONE, f"Order marked fulfilled: it is {payment.order.status_enum.label}.")


# --- refresh: ask Amazon where everything stands ---------------------------------------------


def _fetch_captures(payment_id: int, *, actor: Actor) -> None:
    client = amazon_client()
    payment = Payment.objects.get(pk=payment_id)
    for auth in payment.transactions.filter(kind=Kind.AUTHORIZATION.value).exclude(amazon_id=None):
        details = client.get_authorization_details(auth.amazon_id)
        for capture_id in details.capture_ids:
            if not payment.transactions.filter(amazon_id=capture_id).exists():
                capture_obj = client.get_capture_details(capture_id)
                with locked_payment(payment_id) as locked:
                    apply_report(
                        locked,
                        capture_obj,
                        actor=actor,
                        operation="GetCaptureDetails",
                        parent_amazon_id=auth.amazon_id,
                    )


def refresh(payment_id: int, *, actor: Actor, started: datetime | None = None) -> ActionResult:
    """Ask Amazon for the current state of the order reference and everything on it, and sync.

    Walks the IdLists (order reference -> authorizations -> captures -> refunds), so objects
    whose reply was lost (Unknown) or that Paydesk never knew of are found and recorded.
    Objects already in a final state, with nothing open under them, are not asked about again,
    to spare Amazon's quotas - unless a capture or refund is not linked to its parent yet: then
    everything is walked, which links it.
    `started`: when the caller set out to ask (the reconciler's claim), if before now.
    """
    client = amazon_client()
    # Amazon's lists are read from here on: a request made after this moment may be missing
    # from them, so only requests already settled-old at this moment may be settled as lost.
    walk_started = started or timezone.now()
    payment = Payment.objects.select_related("order").get(pk=payment_id)
    rows = list(payment.transactions.all())
    known = {t.amazon_id: t for t in rows if t.amazon_id}
    # A capture or refund whose parent Paydesk does not know may hang under any authorization:
    # then nothing is skipped, and the walk links it.
    view = payment.view(rows)
    unlinked = any(t.unlinked for t in view.transactions)
    # Closed because its capture was made, and that capture is not held: walk into it.
    capture_not_held = {a.amazon_id for a in view.captures_not_held}

    def settled(amazon_id: str) -> bool:
        txn = known.get(amazon_id)
        return (
            not unlinked
            and amazon_id not in capture_not_held
            and txn is not None
            and txn.state in _MACHINE[Kind(txn.kind)].terminal
            and not _has_open_children(rows, amazon_id)
        )

    # (kind, reference id) of every object Amazon holds for this order reference.
    found_refs: set[tuple[str, str]] = set()
    try:
        oro = client.get_order_reference_details(payment.amazon_order_reference_id)
        with locked_payment(payment_id) as locked:
            apply_order_reference(locked, oro, actor=actor, operation="GetOrderReferenceDetails")
        for auth_id in oro.authorization_ids:
            if settled(auth_id):
                found_refs.add((Kind.AUTHORIZATION.value, known[auth_id].reference_id))
                continue
            auth = client.get_authorization_details(auth_id)
            found_refs.add((Kind.AUTHORIZATION.value, auth.authorization_reference_id))
            with locked_payment(payment_id) as locked:
                apply_report(locked, auth, actor=actor, operation="GetAuthorizationDetails")
            for capture_id in auth.capture_ids:
                cap = client.get_capture_details(capture_id)
                found_refs.add((Kind.CAPTURE.value, cap.capture_reference_id))
                with locked_payment(payment_id) as locked:
                    apply_report(
                        locked, cap, actor=actor, operation="GetCaptureDetails", parent_amazon_id=auth_id
                    )
                for refund_id in cap.refund_ids:
                    if settled(refund_id):
                        found_refs.add((Kind.REFUND.value, known[refund_id].reference_id))
                        continue
                    ref = client.get_refund_details(refund_id)
                    found_refs.add((Kind.REFUND.value, ref.refund_reference_id))
                    with locked_payment(payment_id) as locked:
                        apply_report(
                            locked,
                            ref,
                            actor=actor,
                            operation="GetRefundDetails",
                            parent_amazon_id=capture_id,
                        )
    except AmazonPayError as exc:
        with locked_payment(payment_id) as locked:
            _log_event(
                locked,
                actor,
                "Refresh status",
                Outcome.FAILED,
                message=str(exc),
                request_id=getattr(exc, "request_id", "") or "",
            )
        return ActionResult(
            Outcome.FAILED, f"Amazon could not be asked: {exc}", error_code=getattr(exc, "code", None) or ""
        )

    with locked_payment(payment_id) as locked:
        locked.refreshed(walk_started)
        _settle_lost_requests(locked, found_refs, walk_started=walk_started, actor=actor)
        status = locked.order.status_enum
    return ActionResult(Outcome.DONE, f"Status refreshed from Amazon: the order is {status.label}.")


def _has_open_children(rows: list[Transaction], amazon_id: str) -> bool:
    """Whether anything made on this object (an authorization's capture, a capture's refunds),
    including requests whose outcome is unknown, may still change, so it must be walked again."""
    parents = {amazon_id} | {t.amazon_id for t in rows if t.amazon_id and t.parent_amazon_id == amazon_id}
    return any(t.parent_amazon_id in parents and t.state not in _MACHINE[Kind(t.kind)].terminal for t in rows)


def _settle_lost_requests(
    payment: Payment, found_refs: set[tuple[str, str]], *, walk_started: datetime, actor: Actor
) -> None:
    """An Unknown transaction Amazon has no record of, old enough that it cannot still be on
    its way, never reached Amazon: mark it Failed so the order can move on.

    "Old enough" counts from when the walk began reading Amazon's lists, not from now: a walk
    can take minutes (quota waits), and a request sent during it may be missing from a list
    read before it arrived - marking that one Failed would let the money move twice."""
    cutoff = walk_started - UNKNOWN_SETTLE_TIME
    for txn in payment.transactions.filter(state=UNKNOWN, requested_at__lt=cutoff):
        if (txn.kind, txn.reference_id) in found_refs:
            continue
        txn.state = FAILED
        txn.error_code = "NotFoundAtAmazon"
        txn.error_message = "Amazon has no record of this request: it never reached Amazon."
        txn.save()
        _log_event(
            payment, actor, "Refresh status", Outcome.FAILED, transaction=txn, message=txn.error_message
        )
    _sync_order_status(payment)


# --- checkout: how a store creates an Amazon Pay order ----------------------------------------

CHECKOUT = Actor(Source.CHECKOUT)


@dataclass(frozen=True)
class CartLine:
    sku: str
    name: str
    quantity: int
    unit_price: Money


def _next_order_number() -> str:
    from django.db.models import Max

    last = Order.objects.aggregate(last=Max("id"))["last"] or 0
    return str(1000 + last + 1)


def checkout(
    amazon_order_reference_id: str,
    *,
    lines: list[CartLine],
    shipping: Money,
    customer_name: str = "",
    customer_email: str = "",
    store_name: str = "Paydesk demo shop",
    seller_note: str | None = None,
) -> tuple[Order, ActionResult]:
    """Turn the order reference the buyer made in Amazon's widget into a paid (or authorized)
    order: SetOrderReferenceDetails, ConfirmOrderReference, then Authorize as the store's
    settings say (docs/amazon-pay-v1.md §2.4-2.9).

    The order reference is the checkout's identity: the same one again (the buyer pressing
    "Place order" twice, or again after an error) resumes its order where it stopped - with
    the amounts stored the first time - and answers with what happened, never charging twice."""
    settings = AmazonPaySettings.load()
    currency = shipping.currency
    subtotal = Money.zero(currency)
    for line in lines:
        subtotal = subtotal + Money(line.unit_price.amount * line.quantity, currency)
    total = subtotal + shipping
    payment = None
    for _ in range(5):
        existing = Payment.objects.filter(amazon_order_reference_id=amazon_order_reference_id).first()
        if existing is not None:
            return _finish_checkout(
                existing, settings, store_name=store_name, seller_note=seller_note, resumed=True
            )
        try:
            with db.atomic():
                order = Order.objects.create(
                    number=_next_order_number(),
                    customer_name=customer_name or "Amazon Pay buyer",
                    customer_email=customer_email.lower(),
                    currency=currency,
                    subtotal=subtotal.amount,
                    shipping_cost=shipping.amount,
                    total=total.amount,
                )
                for line in lines:
                    order.lines.create(
                        sku=line.sku,
                        name=line.name,
                        quantity=line.quantity,
                        unit_price=line.unit_price.amount,
                    )
                payment = Payment.objects.create(
                    order=order,
                    amazon_order_reference_id=amazon_order_reference_id,
                    order_total=total.amount,
                    currency=currency,
                    mode=settings.payment_mode,
                )
                _log_event(
                    payment,
                    CHECKOUT,
                    "Checkout",
                    Outcome.INFO,
                    amazon_id=amazon_order_reference_id,
                    amount=total.amount,
                    currency=currency,
                    message="Buyer chose Amazon Pay.",
                )
            break
        except IntegrityError:
            continue  # another checkout took the same order number, or this order reference
    assert payment is not None
    return _finish_checkout(payment, settings, store_name=store_name, seller_note=seller_note, resumed=False)


def _finish_checkout(
    payment: Payment, settings: AmazonPaySettings, *, store_name: str, seller_note: str | None, resumed: bool
) -> tuple[Order, ActionResult]:
    """Confirm the order reference unless Amazon already has it confirmed, then make the
    first authorization unless one was made (or is under way): then that one is the answer.
    A new checkout's order reference is a Draft; only a `resumed` one is asked about first."""
    order = payment.order
    oro_id = payment.amazon_order_reference_id
    total = payment.order_total_money
    if resumed and (answered := _checkout_answer(payment)) is not None:
        return order, answered
    client = amazon_client(settings)
    try:
        oro = client.get_order_reference_details(oro_id) if resumed else None
        if oro is None or oro.status.state == DRAFT:
            client.set_order_reference_details(
                oro_id,
                amount=total,
                seller_order_id=order.number,
                store_name=store_name,
                seller_note=seller_note,
            )
            client.confirm_order_reference(oro_id)
            oro = client.get_order_reference_details(oro_id)
    except AmazonPayError as exc:
        with locked_payment(payment.pk) as locked:
            _log_event(
                locked,
                CHECKOUT,
                "ConfirmOrderReference",
                Outcome.FAILED,
                amazon_id=oro_id,
                message=str(exc),
                request_id=getattr(exc, "request_id", "") or "",
            )
        return order, ActionResult(Outcome.FAILED, f"Amazon Pay could not confirm the order: {exc}")
    with locked_payment(payment.pk) as locked:
        apply_order_reference(locked, oro, actor=CHECKOUT, operation="ConfirmOrderReference")
        _take_buyer_details(locked.order, oro)
    result = authorize(
        payment.pk,
        amount=total,
        actor=CHECKOUT,
        synchronous=settings.authorization_mode == "sync",
        capture_now=payment.mode == PaymentMode.AUTHORIZE_AND_CAPTURE,
    )
    order.refresh_from_db()
    return order, result


def _checkout_answer(payment: Payment) -> ActionResult | None:
    """What an earlier run of this checkout already got from Amazon, answered without asking
    Amazon again (a retry comes when Amazon is slow or unreachable); None when there is
    nothing to answer with - no authorization yet, or only failed or declined ones, so the
    checkout goes on (after a soft decline the buyer may have chosen another card)."""
    made = [
        t
        for t in payment.transactions.filter(kind=Kind.AUTHORIZATION.value)
        if t.state not in (FAILED, DECLINED)
    ]
    if not made:
        return None
    latest = made[-1]
    if latest.state == UNKNOWN:
        # Most likely the first copy of this checkout, still waiting for Amazon's answer.
        return ActionResult(
            Outcome.PENDING,
            "This checkout is already being processed; the order shows Amazon's answer shortly.",
            latest.pk,
        )
    return _describe(latest, "Authorize")


def _take_buyer_details(order: Order, oro: amazon.OrderReference) -> None:
    changed = []
    if oro.buyer is not None:
        if oro.buyer.name:
            order.customer_name = oro.buyer.name[:200]
            changed.append("customer_name")
        if oro.buyer.email:
            order.customer_email = oro.buyer.email.lower()[:254]
            changed.append("customer_email")
    destination = oro.destination
    if destination is not None:
        order.shipping_name = (destination.name or order.customer_name)[:200]
        city = ", ".join(p for p in (destination.city, destination.state_or_region) if p)
        parts = [
            destination.address_line1,
            destination.address_line2,
            destination.address_line3,
            " ".join(p for p in (city, destination.postal_code) if p),
            destination.country_code,
        ]
        order.shipping_address = "\n".join(p for p in parts if p)
        changed += ["shipping_name", "shipping_address"]
    if changed:
        order.save(update_fields=changed)


# --- one entry for every order action (the order page, the API, bulk) -------------------------


def run_action(
    action: rules.Action,
    payment_id: int,
    *,
    actor: Actor,
    target: str | None = None,
    amount: Money | None = None,
    idempotency_key: str | None = None,
) -> ActionResult:
    """Run one "Amazon Pay available order action" by name. `target` is the authorization
    (capture, void) or capture (refund) it acts on; `amount` where Amazon takes one."""
    if action == rules.Action.CAPTURE:
        return capture(
            payment_id, authorization_id=target, amount=amount, actor=actor, idempotency_key=idempotency_key
        )
    if action == rules.Action.VOID:
        return void(payment_id, authorization_id=target, actor=actor)
    if action == rules.Action.REFUND:
        return refund(
            payment_id, capture_id=target, amount=amount, actor=actor, idempotency_key=idempotency_key
        )
    if action in (rules.Action.AUTHORIZE, rules.Action.REAUTHORIZE):
        # One service call for both: authorize what is still owed (or `amount`).
        return authorize_more(payment_id, amount=amount, actor=actor, idempotency_key=idempotency_key)
    if action == rules.Action.CLOSE:
        return close_order_reference(payment_id, actor=actor)
    if action == rules.Action.CANCEL:
        return cancel_order_reference(payment_id, actor=actor)
    return refresh(payment_id, actor=actor)


# --- bulk: the same action on many orders -------------------------------------------------------

BULK_LIMIT = 100


def bulk(
    action: str, order_numbers: list[str], *, actor: Actor, batch_key: str
) -> list[tuple[str, ActionResult]]:
    """Capture (every open authorization of) or refresh each order, one by one, through the same
    functions as the order page. `batch_key` makes a resubmitted form replay, not repeat."""
    results: list[tuple[str, ActionResult]] = []
    for number in list(dict.fromkeys(order_numbers))[:BULK_LIMIT]:
        payment = Payment.objects.filter(order__number=number).first()
        if payment is None:
            results.append((number, ActionResult(Outcome.REFUSED, "Not paid with Amazon Pay.")))
        elif action == "refresh":
            results.append((number, refresh(payment.pk, actor=actor)))
        elif action == "capture":
            results += [
                (number, result) for result in _bulk_capture(payment, actor=actor, batch_key=batch_key)
            ]
        else:
            raise ValueError(f"no bulk action {action!r}")
    return results


def _bulk_capture(payment: Payment, *, actor: Actor, batch_key: str) -> list[ActionResult]:
    """Capture every open authorization of one order; a resubmitted batch replays its results."""
    capturable = {a.amazon_id for a in rules.capturable_authorizations(payment.view(), now=timezone.now())}
    results = []
    for authorization in payment.transactions.filter(kind=Kind.AUTHORIZATION.value).exclude(amazon_id=None):
        key = hashlib.sha256(f"{batch_key}:{authorization.amazon_id}".encode()).hexdigest()[:64]
        if authorization.amazon_id in capturable or Transaction.objects.filter(idempotency_key=key).exists():
            results.append(
                capture(
                    payment.pk, authorization_id=authorization.amazon_id, actor=actor, idempotency_key=key
                )
            )
    return results or [capture(payment.pk, actor=actor)]  # nothing to capture: says why
