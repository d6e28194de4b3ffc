"""The reconciler against the offline sandbox: it finds what needs Amazon's word, refreshes it
through the payment service, backs off, and never takes a payment twice."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from paydesk.amazonpay import reconcile, services
from paydesk.amazonpay.models import Outcome, Payment, PaymentEvent, Source

from .conftest import STAFF, place, unpaced_client


def status_of(order) -> str:
    order.refresh_from_db()
    return order.status


def test_a_capture_whose_reply_was_lost_is_found_and_recorded_by_the_reconciler(store, sandbox):
    order, _, payment = place(sandbox)
    impatient = unpaced_client(store, timeout=0.5)
    services.use_client_factory(lambda _settings: impatient)
    sandbox.arm_fault("Capture", "act_then_timeout", count=4, hold_seconds=2)
    assert services.capture(payment.pk, actor=STAFF).outcome == Outcome.UNKNOWN
    sandbox.clear_faults()
    capture = payment.transactions.get(kind="capture")
    payment.refresh_from_db()
    assert payment.check_reason == "unknown_outcome"
    assert payment.next_check_at == capture.requested_at + services.UNKNOWN_SETTLE_TIME

    early = reconcile.run_pass(now=capture.requested_at + timedelta(minutes=1))
    assert early.claimed == 0  # the request might still be on its way

    report = reconcile.run_pass(now=capture.requested_at + timedelta(minutes=4))
    assert (report.claimed, report.refreshed, report.failed) == (1, 1, 0)
    capture.refresh_from_db()
    assert capture.state == "Completed" and capture.amazon_id
    assert status_of(order) == "processed"
    auth_id = payment.transactions.get(kind="authorization").amazon_id
    assert sandbox.object_state(auth_id)["capture_ids"] == [capture.amazon_id]
    assert PaymentEvent.objects.filter(payment=payment, source=Source.RECONCILER).exists()


def with_reply_lost(store, sandbox, operation: str, action):
    """Run `action()` while Amazon performs `operation` but every reply to it times out."""
    impatient = unpaced_client(store, timeout=0.5)
    services.use_client_factory(lambda _settings: impatient)
    sandbox.arm_fault(operation, "act_then_timeout", count=4, hold_seconds=2)
    try:
        return action()
    finally:
        sandbox.clear_faults()


def test_a_void_whose_reply_was_lost_is_recorded_by_the_reconciler(store, sandbox):
    _order, _, payment = place(sandbox)
    authorization = payment.transactions.get(kind="authorization")
    result = with_reply_lost(
        store, sandbox, "CloseAuthorization", lambda: services.void(payment.pk, actor=STAFF)
    )
    assert result.outcome == Outcome.FAILED
    assert "asks Amazon where it stands within a few minutes" in result.message
    assert sandbox.object_state(authorization.amazon_id)["status"]["state"] == "Closed"
    authorization.refresh_from_db()
    assert authorization.state == "Open"  # Paydesk does not know yet
    sent = PaymentEvent.objects.get(
        payment=payment, operation="CloseAuthorization", message="Sent to Amazon."
    )
    payment.refresh_from_db()
    assert payment.check_reason == "requested"
    settled = sent.at + services.UNKNOWN_SETTLE_TIME
    assert settled <= payment.next_check_at < settled + timedelta(seconds=1)

    assert reconcile.run_pass(now=sent.at + timedelta(minutes=1)).claimed == 0
    report = reconcile.run_pass(now=sent.at + timedelta(minutes=4))

    assert (report.claimed, report.refreshed, report.failed) == (1, 1, 0)
    authorization.refresh_from_db()
    assert (authorization.state, authorization.reason_code) == ("Closed", "SellerClosed")
    payment.refresh_from_db()
    assert payment.check_reason != "requested"


def test_a_void_whose_reply_was_lost_is_checked_again_though_a_refresh_ran_meanwhile(store, sandbox):
    _order, _, payment = place(sandbox)
    impatient = unpaced_client(store, timeout=0.5)

    class RefreshWhileVoiding:
        """The client, but a refresh (a colleague's click, the reconciler) runs as the void goes
        out: it re-plans the payment's checks from what Amazon said before the void."""

        def close_authorization(self, *args, **kwargs):
            services.refresh(payment.pk, actor=services.RECONCILER)
            return impatient.close_authorization(*args, **kwargs)

        def __getattr__(self, name):
            return getattr(impatient, name)

    services.use_client_factory(lambda _settings: RefreshWhileVoiding())
    sandbox.arm_fault("CloseAuthorization", "act_then_timeout", count=4, hold_seconds=2)
    assert services.void(payment.pk, actor=STAFF).outcome == Outcome.FAILED
    sandbox.clear_faults()
    services.use_client_factory(lambda _settings: impatient)

    payment.refresh_from_db()
    assert payment.check_reason == "requested"
    assert payment.next_check_at <= timezone.now() + services.UNKNOWN_SETTLE_TIME
    reconcile.run_pass(now=payment.next_check_at)
    authorization = payment.transactions.get(kind="authorization")
    assert (authorization.state, authorization.reason_code) == ("Closed", "SellerClosed")


def test_a_closed_order_reference_whose_reply_was_lost_is_recorded_by_the_reconciler(store, sandbox):
    _order, _, payment = place(sandbox)
    result = with_reply_lost(
        store, sandbox, "CloseOrderReference", lambda: services.close_order_reference(payment.pk, actor=STAFF)
    )
    assert result.outcome == Outcome.FAILED
    payment.refresh_from_db()
    assert payment.order_reference_state == "Open" and payment.check_reason == "requested"

    reconcile.run_pass(now=payment.next_check_at)

    payment.refresh_from_db()
    assert payment.order_reference_state == "Closed"


def test_an_asynchronous_authorization_is_settled_without_an_ipn(store, sandbox):
    store.authorization_mode = "async"
    store.save()
    order, result, payment = place(sandbox)
    assert result.outcome == Outcome.PENDING
    payment.refresh_from_db()
    assert payment.check_reason == "pending_authorization"
    sandbox.advance_clock(timedelta(minutes=2))  # Amazon decides; no IPN is delivered
    report = reconcile.run_pass(now=payment.next_check_at)
    assert report.refreshed == 1
    assert status_of(order) == "authorized"


def test_a_pending_refund_is_asked_about_again_with_backoff_until_it_completes(store, sandbox):
    order, _, payment = place(sandbox)
    services.capture(payment.pk, actor=STAFF)
    assert services.refund(payment.pk, actor=STAFF).outcome == Outcome.PENDING
    payment.refresh_from_db()
    assert payment.check_reason == "pending_refund"
    first = payment.next_check_at

    assert reconcile.run_pass(now=first).refreshed == 1  # Amazon: still Pending
    payment.refresh_from_db()
    assert payment.check_reason == "pending_refund" and payment.checks == 1
    second = payment.next_check_at
    assert second > first

    reconcile.run_pass(now=second)
    payment.refresh_from_db()
    assert payment.checks == 2
    assert payment.next_check_at - second > second - first  # the interval doubled

    sandbox.advance_clock(timedelta(minutes=5))  # Amazon completes the refund
    reconcile.run_pass(now=payment.next_check_at)
    assert status_of(order) == "refunded"


def test_a_state_no_ipn_confirmed_is_checked_once_and_then_left_alone(store, sandbox):
    _order, _, payment = place(sandbox)
    services.capture(payment.pk, actor=STAFF)
    payment.refresh_from_db()
    assert payment.check_reason == "not_notified"
    assert reconcile.run_pass(now=payment.next_check_at).refreshed == 1
    payment.refresh_from_db()
    assert payment.next_check_at is None and payment.check_reason == ""
    assert reconcile.run_pass(now=timezone.now() + timedelta(days=400)).claimed == 0


def test_a_refresh_that_fails_is_retried_later_and_later(store, sandbox):
    _order, _, payment = place(sandbox)
    reconcile.request_checks([payment.pk])
    now = timezone.now()
    sandbox.arm_fault("GetOrderReferenceDetails", "500", count=100)
    report = reconcile.run_pass(now=now)
    assert (report.claimed, report.failed) == (1, 1)
    payment.refresh_from_db()
    first_retry = payment.next_check_at
    assert first_retry > now
    assert reconcile.run_pass(now=now).claimed == 0
    reconcile.run_pass(now=first_retry)
    payment.refresh_from_db()
    assert payment.next_check_at - first_retry > first_retry - now
    sandbox.clear_faults()
    assert reconcile.run_pass(now=payment.next_check_at).refreshed == 1


def test_a_payment_claimed_by_a_worker_that_died_is_claimed_again_after_its_lease(store, sandbox):
    _order, _, payment = place(sandbox)
    reconcile.request_checks([payment.pk])
    now = timezone.now()
    assert reconcile.claim(10, now=now) == [payment.pk]  # ...and the worker dies here
    assert reconcile.run_pass(now=now).claimed == 0
    payment.refresh_from_db()
    report = reconcile.run_pass(now=payment.next_check_at)
    assert (report.claimed, report.refreshed) == (1, 1)


def test_a_pass_stops_at_its_limit_and_takes_the_earliest_due_first(store, sandbox):
    payments = [place(sandbox)[2] for _ in range(3)]
    now = timezone.now()
    for minutes_ago, payment in zip((1, 3, 2), payments, strict=True):
        reconcile.request_checks([payment.pk], at=now - timedelta(minutes=minutes_ago))
    assert reconcile.claim(2, now=now) == [payments[1].pk, payments[2].pk]
    assert reconcile.run_pass(now=now, limit=5).claimed == 1


def test_the_reconciler_records_as_the_reconciler_and_reports_progress(store, sandbox):
    _order, _, payment = place(sandbox)
    reconcile.request_checks([payment.pk])
    seen = []
    report = reconcile.run_pass(progress=seen.append)
    assert [(r.claimed, r.refreshed) for r in seen] == [(1, 0), (1, 1)]
    assert (report.claimed, report.refreshed) == (1, 1)
    assert report.requests >= 2  # GetOrderReferenceDetails and GetAuthorizationDetails at least
    last = Payment.objects.get(pk=payment.pk).events.order_by("-id").first()
    assert last.source == Source.RECONCILER
