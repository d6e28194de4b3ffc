"""When a payment next needs Amazon's word, and why: the reconciler's timetable, as pure rules.

The payment service calls `next_check` every time it records something (through
`Payment.plan_next_check`), and stores the answer in the payment's indexed `next_check_at`, so
the reconciler finds its work with an index range scan (`next_check_at <= now`) however large the
table grows. Stored rather than computed in a query because the rules below depend on the
history of every transaction, on how often Amazon was already asked, and on the environment -
things a single index cannot serve.

A payment needs Amazon's word when:
- someone asked for a check (a void, close or cancel whose reply was lost, `paydesk reconcile`);
- a call's outcome is unknown (Paydesk's "Unknown" state): once the client can no longer be
  retrying it, a refresh finds the object by its reference id or settles it as Failed;
- something is Pending past the time Amazon usually takes;
- no IPN confirmed the latest transaction, a while after it was recorded (IPNs get lost);
- an open authorization nears its expiry, or is past it and still shows Open;
- a capture or refund was first heard of by IPN, which does not say what it was made on: the
  refresh's walk down Amazon's IdLists links it to its authorization or capture;
- Amazon closed an authorization because its capture was made (CaptureNow), and Paydesk does
  not hold that capture: its IPN was lost, or reading it after the Authorize failed.

Recurring reasons (unknown, pending, expired-but-open, unlinked) are asked about again with a doubling
interval capped at an hour, Amazon's own suggestion for polling (see `LIVE`). One-shot reasons
are satisfied by any reconciler check made after they fell due.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from paydesk.payments.payment import Payment
from paydesk.payments.states import PENDING, UNKNOWN, Kind


class CheckReason(enum.StrEnum):
    UNKNOWN_OUTCOME = "unknown_outcome"
    PENDING_AUTHORIZATION = "pending_authorization"
    PENDING_CAPTURE = "pending_capture"
    PENDING_REFUND = "pending_refund"
    NOT_NOTIFIED = "not_notified"
    AUTHORIZATION_EXPIRING = "authorization_expiring"
    AUTHORIZATION_EXPIRED = "authorization_expired"
    UNLINKED = "unlinked"
    CAPTURE_NOT_HELD = "capture_not_held"
    # Someone asked for a check (the data migration, `paydesk reconcile`, a benchmark).
    REQUESTED = "requested"

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def recurring(self) -> bool:
        return self in _RECURRING


_LABELS = {
    CheckReason.UNKNOWN_OUTCOME: "outcome of a call unknown",
    CheckReason.PENDING_AUTHORIZATION: "authorization pending",
    CheckReason.PENDING_CAPTURE: "capture pending",
    CheckReason.PENDING_REFUND: "refund pending",
    CheckReason.NOT_NOTIFIED: "no IPN for the latest transaction",
    CheckReason.AUTHORIZATION_EXPIRING: "authorization near expiry",
    CheckReason.AUTHORIZATION_EXPIRED: "authorization past expiry",
    CheckReason.UNLINKED: "capture or refund not linked to its parent",
    CheckReason.CAPTURE_NOT_HELD: "capture made at Amazon, not recorded yet",
    CheckReason.REQUESTED: "check requested",
}
_RECURRING = frozenset(
    {
        # Until the walk has linked it: a throttled or failed walk, or an IPN delivered after the
        # last check, must not leave a refund counting against every capture for good.
        CheckReason.UNLINKED,
        # Until the capture is recorded: the order's money moved.
        CheckReason.CAPTURE_NOT_HELD,
        CheckReason.UNKNOWN_OUTCOME,
        CheckReason.PENDING_AUTHORIZATION,
        CheckReason.PENDING_CAPTURE,
        CheckReason.PENDING_REFUND,
        CheckReason.AUTHORIZATION_EXPIRED,
    }
)
_PENDING_REASON = {
    Kind.AUTHORIZATION: CheckReason.PENDING_AUTHORIZATION,
    Kind.CAPTURE: CheckReason.PENDING_CAPTURE,
    Kind.REFUND: CheckReason.PENDING_REFUND,
}


@dataclass(frozen=True)
class Timing:
    """How long Amazon usually takes, per environment, and how patiently we ask again."""

    # First check of a Pending object, after its request.
    pending: dict[Kind, timedelta]
    # An unconfirmed state gets one check this long after it was recorded.
    notification_grace: timedelta = timedelta(minutes=10)
    # Check an open authorization this long before it expires (at most this share of its life).
    expiry_warning: timedelta = timedelta(days=3)
    expiry_warning_share: float = 0.1
    # Check once more this long after the expiry, so Closed/ExpiredUnused gets recorded.
    after_expiry: timedelta = timedelta(minutes=5)
    # Repeated checks: the reason's first interval, doubling, never more than this.
    longest_interval: timedelta = timedelta(hours=1)
    shortest_interval: timedelta = timedelta(minutes=1)

    def interval(self, reason: CheckReason, checks: int) -> timedelta:
        """How long after a check of this reason the next may happen (`checks` made so far)."""
        base = {
            CheckReason.PENDING_AUTHORIZATION: self.pending[Kind.AUTHORIZATION],
            CheckReason.PENDING_CAPTURE: self.pending[Kind.CAPTURE],
            CheckReason.PENDING_REFUND: self.pending[Kind.REFUND],
            CheckReason.NOT_NOTIFIED: self.notification_grace,
        }.get(reason, self.shortest_interval)
        base = max(base, self.shortest_interval)
        doubled = base * 2 ** min(max(checks - 1, 0), 16)
        return min(doubled, max(self.longest_interval, base))


# Amazon: an asynchronous authorization takes "a minute or more", up to its TransactionTimeout
# (24 h by default) (docs/amazon-pay-v1.md §3.2); a capture made more than 7 days after its
# authorization is Pending until processed (§3.3); a refund's "processing time varies and can be
# several hours" (developer.amazon.com/docs/amazon-pay-api/refunddetails.html), about 30 s in
# Amazon's sandbox (§2.14 fixtures). For polling Amazon suggests "a request once every hour"
# (developer.amazon.com/docs/amazon-pay-checkout/v1-asynchronous-processing.html - a Checkout v2
# page; UNCONFIRMED that it is Amazon's advice for v1 too, but it is the only cadence Amazon
# publishes), hence the one-hour cap on repeated checks.
# UNCONFIRMED: how long a live Pending capture takes; we ask after an hour, like a refund.
LIVE = Timing(
    pending={
        Kind.AUTHORIZATION: timedelta(minutes=2),
        Kind.CAPTURE: timedelta(hours=1),
        Kind.REFUND: timedelta(hours=1),
    }
)
SANDBOX = Timing(
    pending={
        Kind.AUTHORIZATION: timedelta(minutes=2),
        Kind.CAPTURE: timedelta(minutes=2),
        Kind.REFUND: timedelta(minutes=1),
    }
)


@dataclass(frozen=True)
class Check:
    due: datetime
    reason: CheckReason


def _rules(payment: Payment, *, unknown_settle: timedelta, timing: Timing) -> list[Check]:
    """Every reason this payment needs Amazon's word, with when it falls due (no backoff yet)."""
    checks: list[Check] = []
    for txn in payment.transactions:
        since = txn.requested_at
        if since is None:
            continue
        if txn.state == UNKNOWN:
            # Before the settle time the request may still be on its way (the client's retries
            # are bounded well below it), and a refresh would leave it Unknown anyway.
            checks.append(Check(since + unknown_settle, CheckReason.UNKNOWN_OUTCOME))
        elif txn.state == PENDING:
            checks.append(Check(since + timing.pending[txn.kind], _PENDING_REASON[txn.kind]))
        if txn.unlinked:
            checks.append(Check(since, CheckReason.UNLINKED))
    for authorization in payment.captures_not_held:
        # Its capture's IPN usually follows within seconds; give it the settle time first.
        since = authorization.requested_at or authorization.last_updated
        if since is not None:
            checks.append(Check(since + unknown_settle, CheckReason.CAPTURE_NOT_HELD))
    for authorization in payment.open_authorizations:
        expires = authorization.expires_at
        if expires is None:
            continue
        life = expires - (authorization.requested_at or expires)
        warning = min(timing.expiry_warning, life * timing.expiry_warning_share)
        checks.append(Check(expires - warning, CheckReason.AUTHORIZATION_EXPIRING))
        checks.append(Check(expires + timing.after_expiry, CheckReason.AUTHORIZATION_EXPIRED))
    latest = payment.latest
    if latest is not None and not latest.notified and not latest.in_flight and latest.requested_at:
        checks.append(Check(latest.requested_at + timing.notification_grace, CheckReason.NOT_NOTIFIED))
    return checks


def next_check(
    payment: Payment,
    *,
    checked_at: datetime | None,
    checked_for: str = "",
    checks: int = 0,
    requested: datetime | None = None,
    unknown_settle: timedelta,
    timing: Timing,
) -> Check | None:
    """When the reconciler should next refresh this payment, and why; None when it need not.

    `checked_at` is the reconciler's last check of the payment, made for the reason
    `checked_for`, and `checks` how many it made in a row for that reason: repeated checks
    back off; one-shot reasons that fell due before `checked_at` are satisfied by it.
    `requested`: when a check someone asked for (a void whose reply was lost, say) is due; it
    stands until the reconciler takes it, whatever else is recorded meanwhile.
    """
    candidates = [Check(requested, CheckReason.REQUESTED)] if requested is not None else []
    for check in _rules(payment, unknown_settle=unknown_settle, timing=timing):
        if checked_at is None:
            candidates.append(check)
        elif check.reason.recurring:
            made = checks if check.reason == checked_for else 0
            spaced = checked_at + timing.interval(check.reason, made)
            candidates.append(Check(max(check.due, spaced), check.reason))
        elif check.due > checked_at:
            candidates.append(check)
    if not candidates:
        return None
    return min(candidates, key=lambda c: (c.due, c.reason.value))
