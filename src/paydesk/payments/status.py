"""Order statuses as a merchant knows them (X-Cart's words), and the one mapping from
Amazon's states to them.

Everything that shows or filters an order's status asks `order_status()`; nothing else
decides it.
"""

from __future__ import annotations

import enum

from paydesk.payments.payment import Payment
from paydesk.payments.states import CANCELED, CLOSED, DECLINED, DRAFT, FAILED


class OrderStatus(enum.StrEnum):
    NOT_FINISHED = "not_finished"
    QUEUED = "queued"
    AUTHORIZED = "authorized"
    PARTIALLY_CAPTURED = "partially_captured"
    PROCESSED = "processed"
    COMPLETED = "completed"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    DECLINED = "declined"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def meaning(self) -> str:
        return _MEANINGS[self]


_LABELS = {
    OrderStatus.NOT_FINISHED: "Not finished",
    OrderStatus.QUEUED: "Queued",
    OrderStatus.AUTHORIZED: "Authorized",
    OrderStatus.PARTIALLY_CAPTURED: "Partially captured",
    OrderStatus.PROCESSED: "Processed",
    OrderStatus.COMPLETED: "Completed",
    OrderStatus.PARTIALLY_REFUNDED: "Partially refunded",
    OrderStatus.REFUNDED: "Refunded",
    OrderStatus.DECLINED: "Declined",
    OrderStatus.FAILED: "Failed",
    OrderStatus.CANCELED: "Canceled",
}
_MEANINGS = {
    OrderStatus.NOT_FINISHED: "The buyer has not finished the Amazon Pay checkout.",
    OrderStatus.QUEUED: "Payment pending: Amazon has not decided yet.",
    OrderStatus.AUTHORIZED: "Amazon authorized the payment; capture it when you ship.",
    OrderStatus.PARTIALLY_CAPTURED: "Part of the order total was collected.",
    OrderStatus.PROCESSED: "Paid: the funds were captured.",
    OrderStatus.COMPLETED: "Paid and fulfilled.",
    OrderStatus.PARTIALLY_REFUNDED: "Part of the captured amount was refunded.",
    OrderStatus.REFUNDED: "The captured amount was refunded in full.",
    OrderStatus.DECLINED: "Amazon declined the payment.",
    OrderStatus.FAILED: "The payment could not be collected.",
    OrderStatus.CANCELED: "The payment was voided or the order canceled.",
}

# Authorization reason codes that mean the seller (or the order's cancelation) ended it.
_VOIDED = frozenset({"SellerClosed", "OrderReferenceCanceled"})


def order_status(payment: Payment) -> OrderStatus:
    """The order status that Amazon's states for this payment amount to."""
    captured = payment.captured
    if captured.is_positive:
        refunded = payment.refunded
        if refunded.is_positive:
            return OrderStatus.REFUNDED if refunded >= captured else OrderStatus.PARTIALLY_REFUNDED
        if payment.fulfilled:
            return OrderStatus.COMPLETED
        return OrderStatus.PROCESSED if captured >= payment.order_total else OrderStatus.PARTIALLY_CAPTURED

    if any(t.in_flight for t in payment.authorizations + payment.captures):
        return OrderStatus.QUEUED
    if payment.open_authorizations:
        return OrderStatus.AUTHORIZED
    if payment.order_reference_state == CANCELED:
        return OrderStatus.CANCELED

    made = [a for a in payment.authorizations if a.state != FAILED]
    latest = made[-1] if made else None
    if latest is None:
        if payment.order_reference_state == DRAFT:
            return OrderStatus.NOT_FINISHED
        # Every authorization asked for failed (refused or never reached Amazon): nothing is
        # pending, so "Queued" would have the merchant wait for a decision that never comes.
        return OrderStatus.FAILED if payment.authorizations else OrderStatus.QUEUED
    if latest.state == DECLINED:
        return OrderStatus.DECLINED
    if latest.state == CLOSED and latest.reason_code in _VOIDED:
        return OrderStatus.CANCELED
    if payment.captures_not_held:
        # Amazon made the capture (CaptureNow), Paydesk has not read it yet: paid, not failed.
        return OrderStatus.QUEUED
    # Closed without a completed capture: expired unused, closed by Amazon, or its capture
    # was declined. The merchant must reauthorize or cancel.
    return OrderStatus.FAILED
