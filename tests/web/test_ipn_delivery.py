"""End to end: the sandbox delivers signed IPNs to a running Paydesk over HTTP, and orders
change state with no staff action."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from paydesk.amazonpay import services
from paydesk.amazonpay.models import Notification, Payment, Verdict

from .test_services import STAFF, place


@pytest.fixture
def delivering(transactional_db, live_server, sandbox, desk):
    sandbox.configure_ipn(enabled=True, paused=False, urls=[f"{live_server.url}/amazonpay/ipn/"])
    yield sandbox
    sandbox.wait_for_ipn_idle(timeout=10)
    sandbox.configure_ipn(enabled=False, urls=[])


def eventually(check, *, timeout=20.0, what="the change"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} did not happen within {timeout} s")


def status(order) -> str:
    order.refresh_from_db()
    return order.status


def test_an_asynchronous_authorization_settles_by_ipn(delivering, desk):
    desk.authorization_mode = "async"
    desk.save()
    order, _, payment = place(delivering)
    assert status(order) == "queued"
    delivering.advance_clock(timedelta(minutes=2))  # Amazon decides
    eventually(lambda: status(order) == "authorized", what="the order becoming Authorized")
    auth = payment.transactions.get()
    assert auth.state == "Open" and auth.notified


def test_a_pending_capture_completes_by_ipn(delivering):
    order, _, payment = place(delivering)
    result = services.capture(
        payment.pk, actor=STAFF, seller_note='{"SandboxSimulation": {"State":"Pending"}}'
    )
    assert result.outcome == "pending"
    assert status(order) == "queued"
    delivering.advance_clock(timedelta(minutes=5))
    eventually(lambda: status(order) == "processed", what="the capture completing")
    assert payment.transactions.get(kind="capture").notified


def test_a_refund_completes_by_ipn(delivering):
    order, _, payment = place(delivering)
    services.capture(payment.pk, actor=STAFF)
    assert services.refund(payment.pk, actor=STAFF).outcome == "pending"
    delivering.advance_clock(timedelta(minutes=5))
    eventually(lambda: status(order) == "refunded", what="the refund completing")
    refund = payment.transactions.get(kind="refund")
    assert refund.state == "Completed" and refund.notified


def test_duplicated_notifications_are_applied_once(delivering):
    delivering.wait_for_ipn_idle()
    delivering.arm_ipn_fault("duplicate", count=20)
    order, _, payment = place(delivering)
    services.capture(payment.pk, actor=STAFF)
    delivering.wait_for_ipn_idle()
    eventually(lambda: Notification.objects.filter(verdict=Verdict.DUPLICATE).exists(), what="a duplicate")
    applied = Notification.objects.filter(applied=True, payment=payment)
    assert applied.count() == applied.values("message_id").distinct().count()
    assert status(order) == "processed"
    assert payment.transactions.filter(kind="capture").count() == 1


def test_reordered_notifications_never_move_an_order_backwards(delivering, desk):
    desk.authorization_mode = "async"
    desk.save()
    delivering.wait_for_ipn_idle()
    delivering.arm_ipn_fault("reorder", count=4)
    order, _, payment = place(delivering)
    delivering.advance_clock(timedelta(minutes=2))
    services.refresh(payment.pk, actor=STAFF)
    assert status(order) == "authorized"
    services.capture(payment.pk, actor=STAFF)
    delivering.wait_for_ipn_idle()
    eventually(
        lambda: Notification.objects.filter(payment=payment, applied=True).count() >= 3, what="deliveries"
    )
    assert status(order) == "processed"
    payment = Payment.objects.get(pk=payment.pk)
    assert payment.transactions.get(kind="authorization").state == "Closed"


def test_a_dropped_notification_leaves_refresh_status_on_offer(delivering):
    delivering.wait_for_ipn_idle()
    delivering.configure_ipn(enabled=False)
    _order, _, payment = place(delivering)
    delivering.configure_ipn(enabled=True)
    auth = payment.transactions.get()
    assert not auth.notified
    from django.utils import timezone

    from paydesk.payments.actions import Action, available_actions

    assert Action.REFRESH in available_actions(Payment.objects.get(pk=payment.pk).view(), now=timezone.now())
