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
    return Transaction.objects.filter(condition)


def expiring(now: datetime) -> QuerySet[Transaction]:
    return Transaction.objects.filter(
        kind="authorization", state=OPEN, expires_at__gt=now, expires_at__lte=now + EXPIRY_WARNING
    )


def declined(now: datetime) -> QuerySet[Transaction]:
    return Transaction.objects.filter(state=DECLINED, requested_at__gte=now - RECENT)


def transactions(kind: str, now: datetime) -> QuerySet[Transaction]:
    return {"late": late, "expiring": expiring, "declined": declined}[kind](now)
