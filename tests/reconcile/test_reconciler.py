"""The reconciler against the offline sandbox: it finds what needs Amazon's word, refreshes it
through the payment service, backs off, and never takes a payment twice."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

from django.utils import timezone

from paydesk.amazonpay import reconcile, services
from paydesk.amazonpay.models import Outcome, Payment, PaymentEvent, Source

from .conftest import STAFF, place, unpaced_client, usd


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


def test_a_refund_sent_during_a_slow_walk_is_not_settled_as_lost(store, sandbox):
    """The walk reads a capture's refund list; a colleague then refunds and the reply is lost;
    the rest of the walk takes minutes (quota waits). The refund is missing from the list the
    walk read, but it was sent after the walk began: it must stay Unknown, not become Failed
    (which would offer the same refund again)."""
    _order, _, payment = place(sandbox)
    assert services.capture(payment.pk, actor=STAFF).ok
    capture = payment.transactions.get(kind="capture")
    fast, impatient = unpaced_client(store), unpaced_client(store, timeout=0.5)
    real_now = timezone.now
    late = {"by": timedelta(0)}

    class SlowWalk:
        def get_capture_details(self, capture_id):
            details = fast.get_capture_details(capture_id)  # no refund in its IdList yet
            services.use_client_factory(lambda _settings: impatient)
            sandbox.arm_fault("Refund", "act_then_timeout", count=4, hold_seconds=1)
            try:
                assert (
                    services.refund(payment.pk, amount=usd("10.00"), actor=STAFF).outcome == Outcome.UNKNOWN
                )
            finally:
                sandbox.clear_faults()
            late["by"] = timedelta(minutes=4)
            return details

        def __getattr__(self, name):
            return getattr(fast, name)

    services.use_client_factory(lambda _settings: SlowWalk())
    with mock.patch("django.utils.timezone.now", lambda: real_now() + late["by"]):
        assert services.refresh(payment.pk, actor=services.RECONCILER).outcome == Outcome.DONE
    assert len(sandbox.object_state(capture.amazon_id)["refund_ids"]) == 1  # Amazon made it
    refund = payment.transactions.get(kind="refund")
    assert refund.state == "Unknown"
    services.use_client_factory(lambda _settings: fast)
    again = services.refund(payment.pk, amount=usd("10.00"), actor=STAFF)
    assert again.outcome == Outcome.REFUSED
    assert len(sandbox.object_state(capture.amazon_id)["refund_ids"]) == 1
    # The next walk finds it by its reference id.
    assert services.refresh(payment.pk, actor=services.RECONCILER).outcome == Outcome.DONE
    refund.refresh_from_db()
    assert refund.state in ("Pending", "Completed") and refund.amazon_id


def assert_void_recorded(payment, authorization) -> None:
    """Amazon's word on the void is in: the authorization is closed by the seller, and the
    check the lost reply asked for is done."""
    authorization.refresh_from_db()
    assert (authorization.state, authorization.reason_code) == ("Closed", "SellerClosed")
    payment.refresh_from_db()
    assert payment.check_reason != "requested"


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
    assert_void_recorded(payment, authorization)


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


def test_refresh_status_goes_away_once_a_refresh_has_had_amazons_word(store, sandbox):
    from paydesk.payments.actions import Action, available_actions

    def offered():
        payment.refresh_from_db()
        return available_actions(payment.view(), now=timezone.now())

    _order, _, payment = place(sandbox)  # this sandbox sends no IPNs
    assert services.capture(payment.pk, actor=STAFF).ok
    assert Action.REFRESH in offered()
    assert services.refresh(payment.pk, actor=STAFF).outcome == Outcome.DONE
    assert Action.REFRESH not in offered() and Action.REFUND in offered()
    assert services.refund(payment.pk, amount=usd("5.00"), actor=STAFF).ok  # a change since
    assert Action.REFRESH in offered()


def test_a_void_amazon_accepted_is_done_though_reading_it_back_failed(store, sandbox):
    """CloseAuthorization succeeds, GetAuthorizationDetails fails: the void happened, so it is
    reported done (not refused), the order reference is still canceled, and the reconciler
    records the authorization's new state."""
    order, _, payment = place(sandbox)
    authorization = payment.transactions.get(kind="authorization")
    services.use_client_factory(lambda _settings: unpaced_client(store))
    sandbox.arm_fault("GetAuthorizationDetails", "500", count=4)
    result = services.void(payment.pk, actor=STAFF)
    sandbox.clear_faults()
    assert result.outcome == Outcome.DONE and "Amazon accepted the void" in result.message
    assert sandbox.object_state(authorization.amazon_id)["status"]["state"] == "Closed"
    assert sandbox.object_state(payment.amazon_order_reference_id)["status"]["state"] == "Canceled"
    payment.refresh_from_db()
    assert payment.order_reference_state == "Canceled"
    reconcile.run_pass(now=payment.next_check_at)
    authorization.refresh_from_db()
    assert (authorization.state, authorization.reason_code) == ("Closed", "SellerClosed")
    assert status_of(order) == "canceled"


def test_a_requested_check_that_fails_part_way_is_made_again_soon(store, sandbox):
    """The order reference is read (and its record replans the payment), then Amazon fails the
    authorization's read: the check satisfied nothing, so the lost void's check stays due
    soon instead of waiting for the authorization's expiry weeks later."""
    _order, _, payment = place(sandbox)
    authorization = payment.transactions.get(kind="authorization")
    with_reply_lost(store, sandbox, "CloseAuthorization", lambda: services.void(payment.pk, actor=STAFF))
    sent = PaymentEvent.objects.get(
        payment=payment, operation="CloseAuthorization", message="Sent to Amazon."
    )

    sandbox.arm_fault("GetAuthorizationDetails", "503", count=4)
    # A backlog: the pass runs 11 minutes later, after the one-shot "not notified" time too.
    late = sent.at + timedelta(minutes=11)
    report = reconcile.run_pass(now=late)
    sandbox.clear_faults()
    assert (report.claimed, report.failed) == (1, 1)
    payment.refresh_from_db()
    assert payment.check_reason == "requested"
    assert payment.next_check_at <= late + timedelta(minutes=2)  # not weeks later

    reconcile.run_pass(now=payment.next_check_at)
    assert_void_recorded(payment, authorization)


def test_a_requested_check_stands_whatever_else_is_recorded_before_it(store, sandbox):
    _order, _, payment = place(sandbox)
    with_reply_lost(store, sandbox, "CloseAuthorization", lambda: services.void(payment.pk, actor=STAFF))
    payment.refresh_from_db()
    requested = payment.next_check_at
    assert payment.check_reason == "requested"
    services.mark_fulfilled(payment.pk, actor=STAFF)  # any recorded change: a click, an IPN
    payment.refresh_from_db()
    assert (payment.check_reason, payment.next_check_at) == ("requested", requested)


def test_a_payment_taken_late_in_a_long_pass_gets_a_lease_from_then(store, sandbox):
    _order, _, payment = place(sandbox)
    reconcile.request_checks([payment.pk], at=timezone.now() - timedelta(minutes=10))
    assert reconcile.claim(1, now=timezone.now() - timedelta(minutes=5)) == [payment.pk]
    assert reconcile.claim(1) == []  # another worker's pass, started now
    payment.refresh_from_db()
    assert payment.claimed_until >= timezone.now() + reconcile.SHORTEST_LEASE - timedelta(seconds=30)


def _offered(payment):
    from paydesk.payments.actions import available_actions

    payment.refresh_from_db()
    return available_actions(payment.view(), now=timezone.now())


def test_a_lease_is_not_a_check_whatever_is_recorded_while_it_lasts(store, sandbox):
    """A worker takes a payment and dies before asking Amazon (or a colleague's click replans
    it meanwhile): the lease keeps other workers off, but it confirms nothing and satisfies
    nothing - Refresh status stays offered, and the check is still there when the lease ends."""
    from paydesk.payments.actions import Action

    _order, _, payment = place(sandbox)  # no IPNs from this sandbox
    assert services.capture(payment.pk, actor=STAFF).ok
    payment.refresh_from_db()
    due_at = payment.next_check_at
    assert payment.check_reason == "not_notified" and Action.REFRESH in _offered(payment)
    assert reconcile.claim(1, now=due_at) == [payment.pk]  # ...and the worker dies here
    services.mark_fulfilled(payment.pk, actor=STAFF)  # replans the payment during the lease
    assert Action.REFRESH in _offered(payment)
    assert payment.next_check_at is not None and payment.check_reason == "not_notified"
    assert reconcile.claim(1, now=due_at + timedelta(minutes=2)) == []  # the lease holds
    report = reconcile.run_pass(now=payment.claimed_until)
    assert report.refreshed == 1
    assert Action.REFRESH not in _offered(payment)


def test_a_requested_check_taken_by_a_worker_that_died_is_still_requested(store, sandbox):
    _order, _, payment = place(sandbox)
    reconcile.request_checks([payment.pk])
    assert reconcile.claim(1) == [payment.pk]  # ...and the worker dies here
    services.mark_fulfilled(payment.pk, actor=STAFF)
    payment.refresh_from_db()
    assert payment.check_reason == "requested" and payment.next_check_at <= timezone.now()


def test_refresh_status_is_offered_while_a_lost_voids_check_is_pending(store, sandbox):
    from paydesk.payments.actions import Action

    _order, _, payment = place(sandbox)
    assert services.refresh(payment.pk, actor=STAFF).ok  # everything confirmed
    assert Action.REFRESH not in _offered(payment)
    with_reply_lost(store, sandbox, "CloseAuthorization", lambda: services.void(payment.pk, actor=STAFF))
    assert Action.REFRESH in _offered(payment)


def test_the_background_reconciler_outlives_a_database_error(store, sandbox, monkeypatch):
    """`paydesk serve` runs it in a thread no one watches: a PostgreSQL restart between
    passes must not end it for good."""
    import threading

    from django.db import OperationalError

    stop = threading.Event()
    calls = []

    def take_once_broken(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        stop.set()  # a second pass ran: enough
        return []

    monkeypatch.setattr(reconcile, "take", take_once_broken)
    monkeypatch.setattr(reconcile, "_close_connections", lambda: None)  # the test's connection
    reconcile.run_forever(stop, idle=timedelta(seconds=5))  # returns once stop is set
    assert len(calls) == 2


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
    report = reconcile.run_pass(now=payment.claimed_until)
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
