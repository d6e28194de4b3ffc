"""Amazon's rules: the state machines, limits and timers of order references, authorizations,
captures and refunds. No HTTP and no XML here: callers pass typed values and get snapshots back.

Every operation reads the current objects, decides, and then commits all the new versions at once
(or nothing, when it raises an `AmazonError`). Committing persists them, schedules their timers and
tells the listeners (IPN delivery) which objects changed.

Sources for the rules are docs/amazon-pay-v1.md §2-§4 and the Amazon pages cited inline.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from paydesk.sandbox import ids
from paydesk.sandbox.amounts import Amount, ceiling, max_single_refund
from paydesk.sandbox.clock import SandboxClock
from paydesk.sandbox.config import Timings
from paydesk.sandbox.errors import AmazonError
from paydesk.sandbox.model import (
    CANCELED,
    CLOSED,
    COMPLETED,
    DECLINED,
    DRAFT,
    OPEN,
    PAYMENT_DECLINED,
    PAYMENT_VALID,
    PENDING,
    SANDBOX,
    SUSPENDED,
    Address,
    AmazonObject,
    Authorization,
    Buyer,
    Capture,
    OrderReference,
    Origin,
    Outcome,
    Refund,
    Status,
)

# Order reference lifetime: 180 days from creation, then Closed/Expired; a Draft not confirmed
# within 3 hours becomes Canceled/Stale (order-reference-states-and-reason-codes.html).
ORDER_REFERENCE_LIFETIME = timedelta(days=180)
DRAFT_LIFETIME = timedelta(hours=3)
# ExpirationTimestamp of an authorization: creation + 30 days (SDK fixtures, §2.9), on both paths
# (the fixtures' S01- ids are sandbox ones). Live, an unused authorization closes then too.
AUTHORIZATION_LIFETIME = timedelta(days=30)
# Amazon's sandbox closes an unused authorization after two days, long before its
# ExpirationTimestamp: "Moves to a Closed state in two days" and captures only "Within 2 days"
# (developer.amazon.com/docs/eu/amazon-pay-onetime/differences-between-environments.html;
# capture-states-and-reason-codes.html: "within 30 days (two days for the Sandbox environment)").
SANDBOX_AUTHORIZATION_LIFETIME = timedelta(days=2)
# "When you capture within seven days after the authorization" the capture is processed at once;
# later captures come back Pending (pay.amazon.com .../lpwa/201953080 "Step 7: Request a capture").
HONOR_PERIOD = timedelta(days=7)
# "up to 25 authorizations on an order reference" (current US and EU terminology.html; an older
# edition and the integration guide lpwa/201952140 said 10 - Amazon raised it; docs/amazon-pay-v1.md
# §3.5). UNCONFIRMED: the reply to the 26th (we say TransactionCountExceeded) and whether declined
# ones count (we count every authorization).
MAX_AUTHORIZATIONS = 25
# "a maximum of 10 Refunds per Capture" (refund.html); the 10th closes the capture as
# MaxRefundsProcessed (capture-states-and-reason-codes.html).
MAX_REFUNDS = 10
# Ten captured authorizations close the order reference as MaxAuthorizationsCaptured.
MAX_CAPTURED_AUTHORIZATIONS = 10
# Amazon echoes the soft descriptor as the processor sees it: "AMZ*<descriptor>" (capture fixtures).
SOFT_DESCRIPTOR_PREFIX = "AMZ*"
# Authorize's TransactionTimeout: minutes, 0 = synchronous, default and maximum 1440 (authorize.html).
MAX_TRANSACTION_TIMEOUT = 1440

_T = TypeVar("_T", OrderReference, Authorization, Capture, Refund)

_CONSTRAINT_TEXT = {
    "ShippingAddressNotSet": "The buyer has not selected a shipping address.",
    "PaymentPlanNotSet": "The buyer has not selected a payment method for this order reference.",
    "AmountNotSet": "The seller has not set the amount of this order reference.",
    "PaymentMethodNotAllowed": "The buyer's payment method is not allowed for this order reference.",
}


class Listener(Protocol):
    def __call__(self, changes: Sequence[Change], /) -> None: ...


class Persistence(Protocol):
    def save(self, objects: Sequence[AmazonObject]) -> None: ...

    def load(self) -> Iterable[AmazonObject]: ...


@dataclass(frozen=True, slots=True)
class Change:
    """One object's new version; `before` is None when the object was just created."""

    before: AmazonObject | None
    after: AmazonObject

    @property
    def moved(self) -> bool:
        """True when Amazon would notify: a new object, or a new State / ReasonCode."""
        if self.before is None:
            return True
        old, new = self.before.status, self.after.status
        return (old.state, old.reason_code) != (new.state, new.reason_code)


def order_constraints(order: OrderReference) -> tuple[str, ...]:
    """What keeps a Draft order reference from being confirmed (order-reference constraints)."""
    constraints = []
    if order.destination is None:
        constraints.append("ShippingAddressNotSet")
    if order.payment_method is None:
        constraints.append("PaymentPlanNotSet")
    if order.order_total is None:
        constraints.append("AmountNotSet")
    if order.simulated_constraint:
        constraints.append(order.simulated_constraint)
    return tuple(constraints)


def constraint_description(constraint: str) -> str:
    return _CONSTRAINT_TEXT.get(constraint, constraint)


def _sum(amounts: Iterable[Amount], currency: str) -> Amount:
    total = Amount.zero(currency)
    for amount in amounts:
        total += amount
    return total


def committed_on_order(order: OrderReference, authorizations: Sequence[Authorization]) -> Amount:
    """Money the order reference has promised: open or pending authorizations plus what was
    captured. Closed-unused and declined authorizations promise nothing."""
    assert order.order_total is not None
    currency = order.order_total.currency
    held = _sum((a.amount for a in authorizations if a.status.state in (PENDING, OPEN)), currency)
    return held + _sum((a.captured for a in authorizations), currency)


def with_prefix(soft_descriptor: str | None) -> str | None:
    return f"{SOFT_DESCRIPTOR_PREFIX}{soft_descriptor}" if soft_descriptor else None


class _Batch:
    """The new versions one operation (or one timer) produces; committed together or not at all."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self.pending: dict[str, AmazonObject] = {}

    def get(self, object_id: str) -> AmazonObject:
        found = self.pending.get(object_id) or self._engine.find(object_id)
        if found is None:
            raise KeyError(object_id)
        return found

    def order(self, object_id: str) -> OrderReference:
        found = self.get(object_id)
        assert isinstance(found, OrderReference)
        return found

    def authorization(self, object_id: str) -> Authorization:
        found = self.get(object_id)
        assert isinstance(found, Authorization)
        return found

    def capture(self, object_id: str) -> Capture:
        found = self.get(object_id)
        assert isinstance(found, Capture)
        return found

    def put(self, obj: AmazonObject) -> None:
        self.pending[obj.id] = obj

    def taken(self, object_id: str) -> bool:
        return object_id in self.pending or self._engine.find(object_id) is not None


class Engine:
    """All of the sandbox's Amazon-side state, behind one lock. Thread-safe."""

    def __init__(self, clock: SandboxClock, timings: Timings, store: Persistence | None = None) -> None:
        self._clock = clock
        self._timings = timings
        self._store = store
        self._lock = threading.RLock()
        self._objects: dict[str, AmazonObject] = {}
        self._references: dict[tuple[str, str], str] = {}  # (seller, reference id) -> object id
        self._timers: list[tuple[datetime, int, str]] = []
        self._sequence = itertools.count()
        self._listeners: list[Listener] = []
        if store is not None:
            for obj in store.load():
                self._install(obj)

    # -- reading --------------------------------------------------------------------------------

    def find(self, object_id: str) -> AmazonObject | None:
        with self._lock:
            return self._objects.get(object_id)

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def object_count(self) -> int:
        with self._lock:
            return len(self._objects)

    def _owned(self, seller_id: str, object_id: str, kind: type[_T], code: str, label: str) -> _T:
        """The object, if it exists and belongs to this seller; another seller's is "invalid"."""
        found = self._objects.get(object_id)
        if not isinstance(found, kind) or found.seller_id != seller_id:
            raise AmazonError(code, f"The {label} {object_id} is invalid.")
        return found

    def _order(self, seller_id: str, object_id: str) -> OrderReference:
        return self._owned(
            seller_id, object_id, OrderReference, "InvalidOrderReferenceId", "OrderReferenceId"
        )

    def get_order_reference(self, seller_id: str, order_reference_id: str) -> OrderReference:
        with self._lock:
            return self._order(seller_id, order_reference_id)

    def get_authorization(self, seller_id: str, authorization_id: str) -> Authorization:
        with self._lock:
            return self._owned(
                seller_id, authorization_id, Authorization, "InvalidTransactionId", "AuthorizationId"
            )

    def get_capture(self, seller_id: str, capture_id: str) -> Capture:
        with self._lock:
            return self._owned(seller_id, capture_id, Capture, "InvalidTransactionId", "CaptureId")

    def get_refund(self, seller_id: str, refund_id: str) -> Refund:
        with self._lock:
            return self._owned(seller_id, refund_id, Refund, "InvalidTransactionId", "RefundId")

    # -- the buyer's side (what Amazon's widgets do) ------------------------------------------

    def create_order_reference(
        self,
        *,
        seller_id: str,
        order_total: Amount | None,
        buyer: Buyer,
        destination: Address | None,
        payment_method: str | None,
    ) -> OrderReference:
        with self._lock:
            now = self._clock.now()
            batch = _Batch(self)
            order = OrderReference(
                id=ids.new_order_reference_id(batch.taken),
                seller_id=seller_id,
                environment=SANDBOX,
                status=Status(DRAFT),
                created=now,
                expires=now + ORDER_REFERENCE_LIFETIME,
                buyer=buyer,
                destination=destination,
                payment_method=payment_method,
                order_total=order_total,
            )
            batch.put(order)
            self._commit(batch)
            return order

    def change_payment_method(self, order_reference_id: str, payment_method: str) -> OrderReference:
        """The buyer picks another card in the wallet; a Suspended order reference reopens."""
        with self._lock:
            order = self._objects.get(order_reference_id)
            if not isinstance(order, OrderReference):
                raise KeyError(order_reference_id)
            batch = _Batch(self)
            updated = replace(order, payment_method=payment_method)
            if order.status.state == SUSPENDED and payment_method == PAYMENT_VALID:
                updated = replace(updated, status=Status(OPEN, self._clock.now()), reopen_at=None)
            batch.put(updated)
            self._commit(batch)
            return updated

    # -- order reference operations -----------------------------------------------------------

    def set_order_reference_details(
        self,
        seller_id: str,
        order_reference_id: str,
        *,
        order_total: Amount,
        simulated_constraint: str | None,
        attributes: dict[str, str | None],
    ) -> OrderReference:
        """Only a Draft may be changed (setorderreferencedetails.html). `attributes` holds only
        what the request sent: a SellerNote that is sent replaces the old one and with it any
        simulated constraint; one left out changes neither. Amazon: "In order to remove the
        constraint again, you must explicitly overwrite the simulation string in the SellerNote
        by means of an additional SetOrderReferenceDetails call" (amazon-pay-onetime/
        sandbox-simulations.html)."""
        with self._lock:
            order = self._order(seller_id, order_reference_id)
            if order.status.state != DRAFT:
                raise AmazonError(
                    "OrderReferenceNotModifiable",
                    f"OrderReference {order.id} is not in draft state and cannot be modified "
                    "with the request submitted by you.",
                )
            batch = _Batch(self)
            changes: dict[str, object] = {"order_total": order_total, **attributes}
            if "seller_note" in attributes:
                changes["simulated_constraint"] = simulated_constraint
            updated = replace(order, **changes)  # type: ignore[arg-type]
            batch.put(updated)
            self._commit(batch)
            return updated

    def set_order_attributes(
        self,
        seller_id: str,
        order_reference_id: str,
        *,
        order_total: Amount | None,
        simulated_constraint: str | None,
        attributes: dict[str, object],
    ) -> OrderReference:
        """Before confirmation anything may change. After it, the amount is fixed and the seller
        attributes may only be *added*, never changed (setorderattributes.html; the error code for
        a refused change is UNCONFIRMED - we answer OrderReferenceNotModifiable)."""
        with self._lock:
            order = self._order(seller_id, order_reference_id)
            state = order.status.state
            refuse = AmazonError(
                "OrderReferenceNotModifiable",
                f"OrderReference {order.id} is in state {state} and these attributes cannot be changed.",
            )
            if state in (CANCELED, CLOSED):
                raise refuse
            if state != DRAFT:
                if order_total is not None and order_total != order.order_total:
                    raise refuse
                for name, value in attributes.items():
                    current = getattr(order, name)
                    if current not in (None, (), value):
                        raise refuse
            batch = _Batch(self)
            changes: dict[str, object] = dict(attributes)
            if order_total is not None:
                changes["order_total"] = order_total
            if "seller_note" in attributes and state == DRAFT:
                changes["simulated_constraint"] = simulated_constraint
            updated = replace(order, **changes)  # type: ignore[arg-type]
            batch.put(updated)
            self._commit(batch)
            return updated

    def confirm_order_reference(self, seller_id: str, order_reference_id: str) -> OrderReference:
        """Draft -> Open. Confirming an Open one again is a repeat of a call that succeeded, and
        Amazon answers a repeat with "the result of the initial call"; "for order reference
        requests, the unique (idempotency) reference ID is the AmazonOrderReferenceId"
        (pay.amazon.com/us/developer/documentation/lpwa/201954950, "Handling errors from Amazon
        Pay API calls"). So it succeeds, changes nothing and notifies nobody. UNCONFIRMED: a
        Suspended, Canceled or Closed one has moved on since, so its confirm is refused."""
        with self._lock:
            order = self._order(seller_id, order_reference_id)
            if order.status.state == OPEN:
                return order
            if order.status.state != DRAFT:
                raise AmazonError(
                    "InvalidOrderReferenceStatus",
                    f"OrderReference {order.id} is in state {order.status.state} and cannot be confirmed.",
                )
            constraints = order_constraints(order)
            if constraints:
                raise AmazonError(
                    "ConstraintsExist",
                    f"OrderReference {order.id} has constraints {', '.join(constraints)} "
                    "and cannot be confirmed.",
                )
            batch = _Batch(self)
            updated = replace(order, status=Status(OPEN, self._clock.now()))
            batch.put(updated)
            self._commit(batch)
            return updated

    def cancel_order_reference(
        self, seller_id: str, order_reference_id: str, reason: str | None
    ) -> OrderReference:
        """Allowed "only if there are no Completed, Closed, or Pending captures against it"; all
        its authorizations close (cancelorderreference.html). UNCONFIRMED: Amazon documents it
        for "a previously confirmed order reference", so a Draft is refused; the error code for
        both refusals is our choice, InvalidOrderReferenceStatus (docs/amazon-pay-v1.md §2.7).
        Canceling one the seller already canceled repeats a call that succeeded: it returns the
        result of the initial call (same page and rule as for confirming), changing nothing, not
        even the reason. One canceled by Amazon (Stale, AmazonCanceled) stays refused."""
        with self._lock:
            order = self._order(seller_id, order_reference_id)
            if order.status.state == CANCELED and order.status.reason_code == "SellerCanceled":
                return order
            now = self._clock.now()
            if order.status.state not in (OPEN, SUSPENDED):
                raise AmazonError(
                    "InvalidOrderReferenceStatus",
                    f"OrderReference {order.id} is in state {order.status.state} and cannot be canceled.",
                )
            batch = _Batch(self)
            authorizations = [batch.authorization(a) for a in order.authorization_ids]
            for authorization in authorizations:
                for capture_id in authorization.capture_ids:
                    if batch.capture(capture_id).status.state != DECLINED:
                        raise AmazonError(
                            "InvalidOrderReferenceStatus",
                            f"OrderReference {order.id} has captures and cannot be canceled; "
                            "close it and refund instead.",
                        )
            for authorization in authorizations:
                if authorization.status.state in (PENDING, OPEN):
                    batch.put(replace(authorization, status=Status(CLOSED, now, "OrderReferenceCanceled")))
            batch.put(replace(order, status=Status(CANCELED, now, "SellerCanceled", reason), reopen_at=None))
            self._commit(batch)
            return batch.order(order.id)

    def close_order_reference(
        self, seller_id: str, order_reference_id: str, reason: str | None, simulated: Outcome | None
    ) -> OrderReference:
        """Open/Suspended -> Closed/SellerClosed; open authorizations stay capturable
        (closeorderreference.html). UNCONFIRMED: closing an already Closed one succeeds and changes
        nothing, so a retried close is harmless."""
        with self._lock:
            order = self._order(seller_id, order_reference_id)
            if order.status.state == CLOSED:
                return order
            if order.status.state not in (OPEN, SUSPENDED):
                raise AmazonError(
                    "InvalidOrderReferenceStatus",
                    f"OrderReference {order.id} is in state {order.status.state} and cannot be closed.",
                )
            now = self._clock.now()
            status = (
                Status(CLOSED, now, simulated.reason_code)
                if simulated is not None
                else Status(CLOSED, now, "SellerClosed", reason)
            )
            batch = _Batch(self)
            batch.put(replace(order, status=status, reopen_at=None))
            self._commit(batch)
            return batch.order(order.id)

    # -- authorizations -------------------------------------------------------------------------

    def _replay(self, seller_id: str, origin: Origin) -> AmazonObject | None:
        """Amazon's idempotency: the same reference id with the same parameters gives the same
        object back; with other parameters it is DuplicateRequest; used by another operation it
        is DuplicateReferenceId (authorize.html, refund.html, error-codes.html)."""
        object_id = self._references.get((seller_id, origin.reference_id))
        if object_id is None:
            return None
        existing = self._objects[object_id]
        assert not isinstance(existing, OrderReference)
        if existing.origin.action != origin.action:
            raise AmazonError(
                "DuplicateReferenceId",
                f"The reference id {origin.reference_id} was already used "
                f"in a {existing.origin.action} request.",
            )
        if existing.origin.fingerprint != origin.fingerprint:
            raise AmazonError(
                "DuplicateRequest",
                f"A request with reference id {origin.reference_id} was already processed "
                "with different parameters.",
            )
        return existing

    def authorize(
        self,
        seller_id: str,
        order_reference_id: str,
        *,
        origin: Origin,
        amount: Amount,
        note: str | None,
        transaction_timeout_minutes: int,
        capture_now: bool,
        soft_descriptor: str | None,
        simulated: Outcome | None,
        sandbox_path: bool,
    ) -> tuple[Authorization, bool]:
        """The authorization, and True when this call created it (False: a replay of an earlier
        request with the same reference id). `sandbox_path`: it came through
        /OffAmazonPayments_Sandbox/, where unused authorizations close sooner."""
        with self._lock:
            order = self._order(seller_id, order_reference_id)
            replayed = self._replay(seller_id, origin)
            if replayed is not None:
                assert isinstance(replayed, Authorization)
                return replayed, False
            if order.status.state != OPEN:
                raise AmazonError(
                    "InvalidOrderReferenceStatus",
                    f"OrderReference {order.id} is not in Open state; it is {order.status.state}.",
                )
            assert order.order_total is not None  # an Open order reference always has one
            if amount.currency != order.order_total.currency:
                raise AmazonError(
                    "CurrencyMismatch",
                    f"AuthorizationAmount is in {amount.currency} but the OrderTotal is in "
                    f"{order.order_total.currency}.",
                )
            batch = _Batch(self)
            authorizations = [batch.authorization(a) for a in order.authorization_ids]
            if len(authorizations) >= MAX_AUTHORIZATIONS:
                raise AmazonError(
                    "TransactionCountExceeded",
                    f"OrderReference {order.id} already has {MAX_AUTHORIZATIONS} authorizations.",
                )
            limit = ceiling(order.order_total)
            held = committed_on_order(order, authorizations)
            if limit < held + amount:
                # Amazon's own wording (a live reply, docs/amazon-pay-v1.md §4).
                raise AmazonError(
                    "TransactionAmountExceeded",
                    f"OrderReference {order.id} has already been authorized for amount {held.wire()} "
                    f"{held.currency}. A new Authorization with amount {amount.wire()} {amount.currency} "
                    f"cannot be accepted as the total Authorization amount cannot exceed {limit.wire()} "
                    f"{limit.currency}.",
                )
            now = self._clock.now()
            authorization = Authorization(
                id=ids.new_child_id(order.id, "A", batch.taken),
                order_reference_id=order.id,
                seller_id=seller_id,
                origin=origin,
                amount=amount,
                captured=Amount.zero(amount.currency),
                fee=Amount.zero(amount.currency),
                status=Status(PENDING, now),
                created=now,
                expires=now + AUTHORIZATION_LIFETIME,
                expire_at=now + self._unused_authorization_lifetime(sandbox_path),
                transaction_timeout_minutes=transaction_timeout_minutes,
                capture_now=capture_now,
                note=note,
                soft_descriptor=with_prefix(soft_descriptor),
            )
            outcome = simulated or self._natural_authorization_outcome(order)
            batch.put(replace(order, authorization_ids=(*order.authorization_ids, authorization.id)))
            if transaction_timeout_minutes == 0:
                # Synchronous mode: the reply already carries Open / Declined, never Pending
                # (authorization-states-and-reason-codes.html).
                self._settle_authorization(batch, authorization, outcome, now)
            else:
                settle_at = now + self._timings.authorization_settle
                if settle_at - now > timedelta(minutes=transaction_timeout_minutes):
                    outcome = Outcome(DECLINED, "TransactionTimedOut")
                batch.put(replace(authorization, settle_at=settle_at, planned=outcome))
            self._commit(batch)
            return batch.authorization(authorization.id), True

    def _unused_authorization_lifetime(self, sandbox_path: bool) -> timedelta:
        if self._timings.authorization_expiry is not None:
            return self._timings.authorization_expiry
        return SANDBOX_AUTHORIZATION_LIFETIME if sandbox_path else AUTHORIZATION_LIFETIME

    @staticmethod
    def _natural_authorization_outcome(order: OrderReference) -> Outcome:
        if order.payment_method == PAYMENT_DECLINED:
            # Like Amazon's sandbox test instruments marked for InvalidPaymentMethod (§6).
            return Outcome(DECLINED, "InvalidPaymentMethod")
        return Outcome(OPEN)

    def _settle_authorization(
        self, batch: _Batch, authorization: Authorization, outcome: Outcome, at: datetime
    ) -> None:
        """Apply Amazon's decision on an authorization, including its effect on the order
        reference (handle-decline.html: InvalidPaymentMethod suspends it, AmazonRejected closes
        it, TransactionTimedOut and ProcessingFailure leave it Open)."""
        settled = replace(authorization, settle_at=None, planned=None)
        order = batch.order(authorization.order_reference_id)
        if outcome.state == OPEN and authorization.capture_now:
            capture = Capture(
                id=ids.sibling_id(authorization.id, "C"),
                authorization_id=authorization.id,
                order_reference_id=order.id,
                seller_id=authorization.seller_id,
                # UNCONFIRMED: Amazon's CaptureNow capture carries the authorization's reference id.
                origin=Origin("Authorize", authorization.origin.reference_id, ""),
                amount=authorization.amount,
                refunded=Amount.zero(authorization.amount.currency),
                fee=Amount.zero(authorization.amount.currency),
                status=Status(COMPLETED, at),
                created=at,
                soft_descriptor=authorization.soft_descriptor,
            )
            batch.put(capture)
            settled = replace(
                settled,
                status=Status(CLOSED, at, "MaxCapturesProcessed"),
                captured=authorization.amount,
                capture_ids=(capture.id,),
            )
            batch.put(settled)
            self._close_order_at_limits(batch, order.id, at)
            return
        if outcome.state == OPEN:
            settled = replace(settled, status=Status(OPEN, at))
        elif outcome.state == CLOSED and outcome.reason_code == "ExpiredUnused":
            assert outcome.expiration_minutes is not None
            settled = replace(
                settled, status=Status(OPEN, at), expire_at=at + timedelta(minutes=outcome.expiration_minutes)
            )
        elif outcome.state == CLOSED:
            settled = replace(settled, status=Status(CLOSED, at, outcome.reason_code))
        else:
            settled = replace(
                settled, status=Status(DECLINED, at, outcome.reason_code), soft_decline=outcome.soft_decline
            )
            self._order_after_decline(batch, order, outcome, at)
        batch.put(settled)

    @staticmethod
    def _order_after_decline(batch: _Batch, order: OrderReference, outcome: Outcome, at: datetime) -> None:
        if order.status.state not in (OPEN, SUSPENDED):
            return
        if outcome.reason_code == "InvalidPaymentMethod":
            reopen_at = (
                at + timedelta(minutes=outcome.payment_method_update_minutes)
                if outcome.payment_method_update_minutes
                else None
            )
            batch.put(
                replace(order, status=Status(SUSPENDED, at, "InvalidPaymentMethod"), reopen_at=reopen_at)
            )
        elif outcome.reason_code == "AmazonRejected":
            # "The order reference will be automatically Closed" (authorization states page).
            # UNCONFIRMED: the ReasonCode it closes with; AmazonClosed is the closest documented one.
            batch.put(replace(order, status=Status(CLOSED, at, "AmazonClosed"), reopen_at=None))

    def close_authorization(self, seller_id: str, authorization_id: str, reason: str | None) -> Authorization:
        """Open or Pending -> Closed/SellerClosed (closeauthorization.html; Pending allowed per
        Amazon's authorization states table, docs/amazon-pay-v1.md §2.11) - a closed Pending one
        never settles. UNCONFIRMED: closing a Closed one is a harmless repeat here."""
        with self._lock:
            authorization = self._owned(
                seller_id, authorization_id, Authorization, "InvalidTransactionId", "AuthorizationId"
            )
            if authorization.status.state == CLOSED:
                return authorization
            if authorization.status.state not in (OPEN, PENDING):
                raise AmazonError(
                    "InvalidAuthorizationStatus",
                    f"Authorization {authorization.id} is in state {authorization.status.state} "
                    "and cannot be closed.",
                )
            batch = _Batch(self)
            batch.put(
                replace(
                    authorization,
                    status=Status(CLOSED, self._clock.now(), "SellerClosed", reason),
                    settle_at=None,
                    planned=None,
                )
            )
            self._commit(batch)
            return batch.authorization(authorization.id)

    # -- captures -------------------------------------------------------------------------------

    def capture(
        self,
        seller_id: str,
        authorization_id: str,
        *,
        origin: Origin,
        amount: Amount,
        note: str | None,
        soft_descriptor: str | None,
        simulated: Outcome | None,
    ) -> Capture:
        """One capture per authorization, at most the authorized amount; a capture closes the
        authorization as MaxCapturesProcessed (capture.html; docs/amazon-pay-v1.md §2.12).
        UNCONFIRMED: a *declined* capture leaves the authorization Open - Amazon's advice to
        "retry only if the authorization is still Open" implies it can be."""
        with self._lock:
            authorization = self._owned(
                seller_id, authorization_id, Authorization, "InvalidTransactionId", "AuthorizationId"
            )
            replayed = self._replay(seller_id, origin)
            if replayed is not None:
                assert isinstance(replayed, Capture)
                return replayed
            if authorization.status.state != OPEN:
                raise AmazonError(
                    "InvalidAuthorizationStatus",
                    f"Authorization {authorization.id} is in state {authorization.status.state} "
                    f"({authorization.status.reason_code}) and cannot be captured.",
                )
            if amount.currency != authorization.amount.currency:
                raise AmazonError(
                    "CurrencyMismatch",
                    f"CaptureAmount is in {amount.currency} "
                    f"but the OrderTotal is in {authorization.amount.currency}.",
                )
            if authorization.amount < amount:
                raise AmazonError(
                    "TransactionAmountExceeded",
                    f"CaptureAmount {amount.wire()} exceeds the authorized amount "
                    f"{authorization.amount.wire()}.",
                )
            now = self._clock.now()
            batch = _Batch(self)
            capture = Capture(
                id=ids.new_child_id(authorization.order_reference_id, "C", batch.taken),
                authorization_id=authorization.id,
                order_reference_id=authorization.order_reference_id,
                seller_id=seller_id,
                origin=origin,
                amount=amount,
                refunded=Amount.zero(amount.currency),
                fee=Amount.zero(amount.currency),
                status=Status(COMPLETED, now),
                created=now,
                note=note,
                soft_descriptor=with_prefix(soft_descriptor),
            )
            late = now - authorization.created > HONOR_PERIOD
            if simulated is not None and simulated.state != PENDING:
                capture = replace(capture, status=Status(simulated.state, now, simulated.reason_code))
            elif late or simulated is not None:
                capture = replace(
                    capture,
                    status=Status(PENDING, now),
                    settle_at=now + self._timings.capture_settle,
                    planned=Outcome(COMPLETED),
                )
            batch.put(capture)
            if capture.status.state == DECLINED:
                batch.put(replace(authorization, capture_ids=(*authorization.capture_ids, capture.id)))
            else:
                batch.put(
                    replace(
                        authorization,
                        status=Status(CLOSED, now, "MaxCapturesProcessed"),
                        captured=amount,
                        capture_ids=(*authorization.capture_ids, capture.id),
                    )
                )
                self._close_order_at_limits(batch, authorization.order_reference_id, now)
            self._commit(batch)
            return batch.capture(capture.id)

    @staticmethod
    def _close_order_at_limits(batch: _Batch, order_reference_id: str, at: datetime) -> None:
        """Captured up to OrderTotal plus allowance -> Closed/MaxAmountCharged; ten captured
        authorizations -> Closed/MaxAuthorizationsCaptured (order reference states page)."""
        order = batch.order(order_reference_id)
        if order.status.state not in (OPEN, SUSPENDED) or order.order_total is None:
            return
        authorizations = [batch.authorization(a) for a in order.authorization_ids]
        captured = _sum((a.captured for a in authorizations), order.order_total.currency)
        if ceiling(order.order_total) <= captured:
            batch.put(replace(order, status=Status(CLOSED, at, "MaxAmountCharged"), reopen_at=None))
        elif sum(1 for a in authorizations if a.captured.value > 0) >= MAX_CAPTURED_AUTHORIZATIONS:
            batch.put(replace(order, status=Status(CLOSED, at, "MaxAuthorizationsCaptured"), reopen_at=None))

    # -- refunds --------------------------------------------------------------------------------

    def refund(
        self,
        seller_id: str,
        capture_id: str,
        *,
        origin: Origin,
        amount: Amount,
        note: str | None,
        soft_descriptor: str | None,
        simulated: Outcome | None,
    ) -> Refund:
        """Refunds are always Pending first (refunddetails.html); together they may exceed the
        captured amount by Amazon's allowance; the 10th closes the capture (refund.html).
        UNCONFIRMED: pending refunds count against the ceiling (else one could overdraw it while
        they wait) but not in the capture's RefundedAmount, which shows completed ones."""
        with self._lock:
            capture = self._owned(seller_id, capture_id, Capture, "InvalidTransactionId", "CaptureId")
            replayed = self._replay(seller_id, origin)
            if replayed is not None:
                assert isinstance(replayed, Refund)
                return replayed
            if capture.status.state != COMPLETED:
                raise AmazonError(
                    "CaptureNotRefundable",
                    f"Capture {capture.id} is in state {capture.status.state} "
                    f"({capture.status.reason_code}) and cannot be refunded.",
                )
            if amount.currency != capture.amount.currency:
                raise AmazonError(
                    "CurrencyMismatch",
                    f"RefundAmount is in {amount.currency} "
                    f"but the OrderTotal is in {capture.amount.currency}.",
                )
            if max_single_refund(amount.currency) < amount:
                raise AmazonError(
                    "TransactionAmountExceeded",
                    f"A single refund may not exceed "
                    f"{max_single_refund(amount.currency).wire()} {amount.currency}.",
                )
            batch = _Batch(self)
            earlier = [batch.get(r) for r in capture.refund_ids]
            asked = _sum((r.amount for r in earlier if r.status.state != DECLINED), amount.currency)
            limit = ceiling(capture.amount)
            if limit < asked + amount:
                raise AmazonError(
                    "TransactionAmountExceeded",
                    f"Refunds on {capture.id} would total {(asked + amount).wire()}, more than the captured "
                    f"amount plus Amazon's allowance ({limit.wire()} {limit.currency}).",
                )
            now = self._clock.now()
            refund = Refund(
                id=ids.new_child_id(capture.order_reference_id, "R", batch.taken),
                capture_id=capture.id,
                order_reference_id=capture.order_reference_id,
                seller_id=seller_id,
                origin=origin,
                amount=amount,
                fee_refunded=Amount.zero(amount.currency),
                status=Status(PENDING, now),
                created=now,
                note=note,
                soft_descriptor=with_prefix(soft_descriptor),
                settle_at=now + self._timings.refund_settle,
                planned=simulated or Outcome(COMPLETED),
            )
            batch.put(refund)
            refund_ids = (*capture.refund_ids, refund.id)
            updated_capture = replace(capture, refund_ids=refund_ids)
            if len(refund_ids) >= MAX_REFUNDS:
                updated_capture = replace(updated_capture, status=Status(CLOSED, now, "MaxRefundsProcessed"))
            batch.put(updated_capture)
            self._commit(batch)
            return refund

    # -- time -----------------------------------------------------------------------------------

    def advance_to(self, now: datetime) -> int:
        """Fire every timer due at or before `now`, oldest first. Returns how many fired."""
        fired = 0
        with self._lock:
            while self._timers and self._timers[0][0] <= now:
                _, _, object_id = heapq.heappop(self._timers)
                obj = self._objects[object_id]
                due = _next_timer(obj)
                if due is None or due[0] > now:
                    continue  # an outdated entry: the object moved on since it was scheduled
                when, what = due
                batch = _Batch(self)
                self._fire(batch, obj, what, when)
                self._commit(batch)
                fired += 1
        return fired

    def next_due(self) -> datetime | None:
        with self._lock:
            return self._timers[0][0] if self._timers else None

    def _fire(self, batch: _Batch, obj: AmazonObject, what: str, at: datetime) -> None:
        if isinstance(obj, OrderReference):
            if what == "stale":
                batch.put(replace(obj, status=Status(CANCELED, at, "Stale")))
            elif what == "expire":
                batch.put(replace(obj, status=Status(CLOSED, at, "Expired"), reopen_at=None))
            else:  # "reopen": the simulated buyer chose another payment method
                batch.put(replace(obj, status=Status(OPEN, at), reopen_at=None))
        elif isinstance(obj, Authorization):
            if what == "settle":
                assert obj.planned is not None
                self._settle_authorization(batch, obj, obj.planned, at)
            else:
                batch.put(replace(obj, status=Status(CLOSED, at, "ExpiredUnused")))
        elif isinstance(obj, Capture):
            batch.put(replace(obj, status=Status(COMPLETED, at), settle_at=None, planned=None))
        else:
            self._settle_refund(batch, obj, at)

    @staticmethod
    def _settle_refund(batch: _Batch, refund: Refund, at: datetime) -> None:
        outcome = refund.planned or Outcome(COMPLETED)
        batch.put(
            replace(
                refund, status=Status(outcome.state, at, outcome.reason_code), settle_at=None, planned=None
            )
        )
        if outcome.state != COMPLETED:
            return
        capture = batch.capture(refund.capture_id)
        refunded = capture.refunded + refund.amount
        updated = replace(capture, refunded=refunded)
        if capture.status.state == COMPLETED and ceiling(capture.amount) <= refunded:
            updated = replace(updated, status=Status(CLOSED, at, "MaxAmountRefunded"))
        batch.put(updated)

    # -- committing -----------------------------------------------------------------------------

    def _install(self, obj: AmazonObject) -> None:
        self._objects[obj.id] = obj
        if not isinstance(obj, OrderReference) and obj.origin.fingerprint:
            self._references.setdefault((obj.seller_id, obj.origin.reference_id), obj.id)
        due = _next_timer(obj)
        if due is not None:
            heapq.heappush(self._timers, (due[0], next(self._sequence), obj.id))

    def _commit(self, batch: _Batch) -> list[Change]:
        changes = [Change(self._objects.get(obj.id), obj) for obj in batch.pending.values()]
        for obj in batch.pending.values():
            self._install(obj)
        if self._store is not None:
            self._store.save(list(batch.pending.values()))
        for listener in self._listeners:
            listener(changes)
        return changes


def _next_timer(obj: AmazonObject) -> tuple[datetime, str] | None:
    """The earliest thing Amazon will do to this object by itself, if any."""
    state = obj.status.state
    candidates: list[tuple[datetime, str]] = []
    if isinstance(obj, OrderReference):
        if state == DRAFT:
            candidates.append((obj.created + DRAFT_LIFETIME, "stale"))
        if state in (OPEN, SUSPENDED):
            candidates.append((obj.expires, "expire"))
        if state == SUSPENDED and obj.reopen_at is not None:
            candidates.append((obj.reopen_at, "reopen"))
    elif isinstance(obj, Authorization):
        if state == PENDING and obj.settle_at is not None:
            candidates.append((obj.settle_at, "settle"))
        if state == OPEN:
            candidates.append((obj.expire_at, "expire"))
    elif state == PENDING and obj.settle_at is not None:
        candidates.append((obj.settle_at, "settle"))
    return min(candidates) if candidates else None
