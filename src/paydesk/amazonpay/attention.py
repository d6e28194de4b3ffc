"""Payments a merchant should look at: pending past Amazon's usual time, authorizations about
to expire, recent declines. The dashboard counts them; the order list filters by them."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Q, QuerySet

from paydesk.amazonpay.models import Transaction
from paydesk.payments.states import DECLINED, OPEN, PENDING, UNKNOWN
from paydesk.payments.timing import EXPECTED_DECISION, EXPIRY_WARNING, UNKNOWN_SETTLES_WITHIN

RECENT = timedelta(days=7)
KINDS = {
    "late": "Pending past Amazon's usual time",
    "expiring": "Authorizations expiring within 7 days",
    "declined": "Declined in the last 7 days",
}


def late(now: datetime) -> QuerySet[Transaction]:
    condition = Q(state=UNKNOWN, requested_at__lt=now - UNKNOWN_SETTLES_WITHIN)
    for kind, expected in EXPECTED_DECISION.items():
        condition |= Q(kind=kind.value, state=PENDING, requested_at__lt=now - expected)
    # The first filter says nothing the OR does not, on purpose: it is one range of txn_state_idx.
    # Given only the OR, PostgreSQL planned each branch alone and, for the refund one, intersected
    # with every refund in the table (bench/order_pages.py --explain: 7 of 14 ms).
    soonest = min([UNKNOWN_SETTLES_WITHIN, *EXPECTED_DECISION.values()])
    return Transaction.objects.filter(state__in=[PENDING, UNKNOWN], requested_at__lt=now - soonest).filter(
        condition
    )


def expiring(now: datetime) -> QuerySet[Transaction]:
    # Served by the partial index txn_expiring_idx (open authorizations by expiry).
    return Transaction.objects.filter(
        kind="authorization", state=OPEN, expires_at__gt=now, expires_at__lte=now + EXPIRY_WARNING
    )


def declined(now: datetime) -> QuerySet[Transaction]:
    return Transaction.objects.filter(state=DECLINED, requested_at__gte=now - RECENT)


def transactions(kind: str, now: datetime) -> QuerySet[Transaction]:
    return {"late": late, "expiring": expiring, "declined": declined}[kind](now)
