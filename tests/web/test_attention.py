"""The order list's "Needs attention" filters: which payments each one finds, at the edges of
Amazon's usual times (paydesk.payments.timing)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from paydesk.amazonpay import attention

from .conftest import add_txn, make_order

pytestmark = pytest.mark.django_db
MINUTE = timedelta(minutes=1)


def order_with(number: str, kind: str, state: str, **txn) -> str:
    _, payment = make_order(number, oro=f"S01-1111111-{number.zfill(7)}")
    add_txn(payment, kind, state, f"S01-1111111-{number.zfill(7)}-X1", f"ref-{number}", **txn)
    return number


def listed(client, kind: str) -> set[str]:
    return {order.number for order in client.get(f"/orders/?attention={kind}").context["page"].orders}


def found(client, viewer, kind: str) -> tuple[set[str], set[str]]:
    """The orders `kind` finds: by its query, and on the order list a member of staff sees."""
    by_query = {t.payment.order.number for t in attention.transactions(kind, timezone.now())}
    client.force_login(viewer)
    return by_query, listed(client, kind)


def test_late_means_pending_past_amazons_usual_time_for_its_kind(client, viewer):
    now = timezone.now()
    late = {
        order_with("1", "authorization", "Pending", requested_at=now - timedelta(hours=1) - MINUTE),
        order_with("2", "capture", "Pending", requested_at=now - timedelta(hours=2)),
        order_with("3", "refund", "Pending", requested_at=now - timedelta(hours=24) - MINUTE),
        order_with("4", "capture", "Unknown", requested_at=now - timedelta(minutes=4)),
    }
    order_with("5", "authorization", "Pending", requested_at=now - timedelta(minutes=50))
    order_with("6", "refund", "Pending", requested_at=now - timedelta(hours=23))  # refunds take a day
    order_with("7", "capture", "Unknown", requested_at=now - timedelta(minutes=2))  # may still be answered
    order_with("8", "authorization", "Open", requested_at=now - timedelta(days=3))
    order_with("9", "capture", "Completed", requested_at=now - timedelta(days=3))

    assert found(client, viewer, "late") == (late, late)


def test_expiring_means_an_open_authorization_in_its_last_seven_days(client, viewer):
    now = timezone.now()
    expiring = {
        order_with("1", "authorization", "Open", expires_at=now + timedelta(days=6)),
        order_with("2", "authorization", "Open", expires_at=now + timedelta(hours=1)),
    }
    order_with("3", "authorization", "Open", expires_at=now + timedelta(days=8))
    order_with("4", "authorization", "Open", expires_at=now - timedelta(hours=1))  # expired already
    order_with("5", "authorization", "Closed", expires_at=now + timedelta(days=2))
    order_with("6", "authorization", "Pending", expires_at=now + timedelta(days=2))

    assert found(client, viewer, "expiring") == (expiring, expiring)


def test_declined_means_declined_in_the_last_seven_days(client, viewer):
    now = timezone.now()
    recent = {
        order_with("1", "authorization", "Declined", requested_at=now - timedelta(days=6)),
        order_with("2", "capture", "Declined", requested_at=now - timedelta(hours=1)),
    }
    order_with("3", "authorization", "Declined", requested_at=now - timedelta(days=8))
    order_with("4", "authorization", "Open", requested_at=now - timedelta(hours=1))

    client.force_login(viewer)
    assert listed(client, "declined") == recent


def test_an_unknown_filter_is_ignored(client, viewer):
    order_with("1", "authorization", "Open")
    client.force_login(viewer)
    assert listed(client, "nonsense") == {"1"}
