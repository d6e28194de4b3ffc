"""What Paydesk knows of one Amazon Pay payment, and the balances derived from it.

A payment is an Amazon order reference plus every authorization, capture and refund made on
it. Balances (authorized, captured, refunded, pending) are never stored: they are derived
here from the transactions, so history and totals cannot disagree.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from paydesk.payments.money import Money, total
from paydesk.payments.states import (
    CLOSED,
    COMPLETED,
    DECLINED,
    FAILED,
    OPEN,
    PENDING,
    UNKNOWN,
    Kind,
)


class PaymentMode(enum.StrEnum):
    """The store's payment action, as X-Cart names it; recorded on each payment at checkout."""

    AUTHORIZE_THEN_CAPTURE = "authorize_then_capture"
    AUTHORIZE_AND_CAPTURE = "authorize_and_capture"

    @property
    def label(self) -> str:
        return {
            PaymentMode.AUTHORIZE_THEN_CAPTURE: "Authorization then capture",
            PaymentMode.AUTHORIZE_AND_CAPTURE: "Authorize and capture",
        }[self]


IN_FLIGHT = frozenset({PENDING, UNKNOWN})
# Amazon's reason for closing an authorization once its one capture was made (§3.2).
CAPTURE_MADE = "MaxCapturesProcessed"
# States of transactions that moved no money and never will.
MOVED_NOTHING = frozenset({DECLINED, FAILED})


@dataclass(frozen=True)
class Transaction:
    """One authorization, capture or refund, as Amazon last reported it."""

    kind: Kind
    reference_id: str
    amount: Money
    state: str
    amazon_id: str | None = None
    # A capture's authorization id, a refund's capture id.
    parent_id: str | None = None
    reason_code: str | None = None
    reason_description: str | None = None
    last_updated: datetime | None = None
    requested_at: datetime | None = None
    expires_at: datetime | None = None
    # An IPN reported the state we hold; when False only our own call or a refresh did.
    notified: bool = False
    soft_decline: bool = False

    @property
    def in_flight(self) -> bool:
        return self.state in IN_FLIGHT

    @property
    def unlinked(self) -> bool:
        """A capture or refund whose authorization or capture Paydesk has not learned yet: an
        IPN, its first news of it, does not say; Amazon's IdLists do, on the next refresh."""
        return self.kind != Kind.AUTHORIZATION and self.parent_id is None


@dataclass(frozen=True)
class Payment:
    order_total: Money
    mode: PaymentMode
    order_reference_state: str
    # In the order they were requested.
    transactions: tuple[Transaction, ...] = field(default=())
    # The merchant shipped the goods (X-Cart's "Completed").
    fulfilled: bool = False
    # When a refresh last had Amazon's word on everything (the start of its walk): what it
    # found then needs no IPN to be trusted.
    confirmed_at: datetime | None = None
    # Someone asked for Amazon's word on this payment and no refresh has had it since (a void,
    # close or cancel whose reply was lost leaves no transaction to say so).
    check_requested: bool = False

    @property
    def currency(self) -> str:
        return self.order_total.currency

    def of_kind(self, kind: Kind) -> tuple[Transaction, ...]:
        return tuple(t for t in self.transactions if t.kind == kind)

    @property
    def authorizations(self) -> tuple[Transaction, ...]:
        return self.of_kind(Kind.AUTHORIZATION)

    @property
    def captures(self) -> tuple[Transaction, ...]:
        return self.of_kind(Kind.CAPTURE)

    @property
    def refunds(self) -> tuple[Transaction, ...]:
        return self.of_kind(Kind.REFUND)

    def children(self, parent: Transaction) -> tuple[Transaction, ...]:
        if parent.amazon_id is None:
            return ()
        return tuple(t for t in self.transactions if t.parent_id == parent.amazon_id)

    def find(self, amazon_id: str) -> Transaction | None:
        return next((t for t in self.transactions if t.amazon_id == amazon_id), None)

    def _sum(self, transactions: tuple[Transaction, ...] | list[Transaction]) -> Money:
        return total([t.amount for t in transactions], self.currency)

    # --- balances -------------------------------------------------------------------------
    @property
    def open_authorizations(self) -> tuple[Transaction, ...]:
        """Open authorizations with no capture made or under way (a declined capture leaves
        its authorization open for another try: Amazon's capture decline docs)."""
        return tuple(
            a
            for a in self.authorizations
            if a.state == OPEN and all(c.state in MOVED_NOTHING for c in self.children(a))
        )

    @property
    def captured(self) -> Money:
        # A closed capture was completed first (closed by refunds or by Amazon afterwards).
        return self._sum([c for c in self.captures if c.state in (COMPLETED, CLOSED)])

    @property
    def refunded(self) -> Money:
        return self._sum([r for r in self.refunds if r.state == COMPLETED])

    @property
    def in_flight(self) -> tuple[Transaction, ...]:
        return tuple(t for t in self.transactions if t.in_flight)

    @cached_property  # asked for by the status, the actions and the schedule of one view
    def captures_not_held(self) -> tuple[Transaction, ...]:
        """Authorizations Amazon closed because their capture was made (MaxCapturesProcessed),
        whose capture Paydesk does not hold: a CaptureNow capture whose IPN was lost or whose
        details could not be read yet. Money moved that Paydesk has not recorded."""
        return tuple(
            a
            for a in self.authorizations
            if a.state == CLOSED
            and a.reason_code == CAPTURE_MADE
            and not self.children(a)
            and not any(c.unlinked for c in self.captures)
        )

    def refunds_of(self, capture: Transaction) -> tuple[Transaction, ...]:
        """The refunds Amazon holds for a capture (a request it refused is not one).

        An unlinked refund (a refund made in Seller Central, heard of by IPN) counts against every
        capture meanwhile: a limit must never be passed because a link is missing."""
        if capture.amazon_id is None:
            return ()
        return tuple(
            r for r in self.refunds if r.state != FAILED and (r.parent_id == capture.amazon_id or r.unlinked)
        )

    def refund_claims(self, capture: Transaction) -> Money:
        """Refunds that count against a capture's ceiling: completed, pending and unknown."""
        return self._sum([r for r in self.refunds_of(capture) if r.state not in MOVED_NOTHING])

    @property
    def latest(self) -> Transaction | None:
        """The most recent transaction Amazon holds (`transactions` is in request order)."""
        made = [t for t in self.transactions if t.state != FAILED]
        return made[-1] if made else None
