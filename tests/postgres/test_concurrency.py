"""Races on PostgreSQL, each thread on a database connection of its own as separate web
processes would be: concurrent captures of one order, an IPN racing staff and the reconciler,
reconcile workers claiming from one queue, and workers sharing the seller's Amazon quota."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from paydesk.amazonpay import connection as amazon_connection
from paydesk.amazonpay import quota, reconcile, services
from paydesk.amazonpay.models import Outcome, Payment, Transaction
from paydesk.amazonpay.quota import PostgresBuckets, SharedQuota
from tests.reconcile.conftest import FAST_RETRY, STAFF, place
from tests.reconcile.processes import eventually


def at_once(count: int, work: Callable[[int], object]) -> list[object]:
    """Run `work(i)` in `count` threads released together; each thread has its own connection."""
    results: list[object] = [None] * count
    errors: list[BaseException] = []
    start = threading.Barrier(count)

    def run(i: int) -> None:
        try:
            start.wait()
            results[i] = work(i)
        except Exception as exc:  # noqa: BLE001 - raised again in the test's own thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    if errors:
        raise errors[0]
    return results


def test_twenty_concurrent_captures_of_one_order_capture_once(transactional_db, store, sandbox):
    order, _, payment = place(sandbox)
    auth_id = payment.transactions.get(kind="authorization").amazon_id

    results = at_once(20, lambda i: services.capture(payment.pk, actor=STAFF))

    outcomes = Counter(r.outcome for r in results)
    assert outcomes == {Outcome.DONE: 1, Outcome.REFUSED: 19}, results
    assert len(sandbox.object_state(auth_id)["capture_ids"]) == 1
    capture = payment.transactions.get(kind="capture")
    assert capture.state == "Completed"
    assert sandbox.object_state(auth_id)["capture_ids"] == [capture.amazon_id]
    order.refresh_from_db()
    assert order.status == "processed"


@pytest.fixture
def delivering(transactional_db, live_server, sandbox, store):
    sandbox.configure_ipn(enabled=True, paused=False, urls=[f"{live_server.url}/amazonpay/ipn/"])
    yield sandbox
    sandbox.wait_for_ipn_idle(timeout=30)
    sandbox.configure_ipn(enabled=False, urls=[])


def test_an_ipn_staff_refreshes_and_the_reconciler_racing_on_one_payment_agree(delivering):
    sandbox = delivering
    order, _, payment = place(sandbox)
    pending = services.capture(
        payment.pk, actor=STAFF, seller_note='{"SandboxSimulation": {"State":"Pending"}}'
    )
    assert pending.outcome == Outcome.PENDING
    sandbox.wait_for_ipn_idle(timeout=30)
    later = timezone.now() + timedelta(hours=2)

    def race(i: int):
        if i == 0:
            return sandbox.advance_clock(timedelta(minutes=5))  # Amazon completes it: an IPN goes out
        if i == 1:
            return reconcile.run_pass(now=later)
        return services.refresh(payment.pk, actor=STAFF)

    at_once(8, race)
    sandbox.wait_for_ipn_idle(timeout=30)
    order.refresh_from_db()
    eventually(lambda: Payment.objects.get(pk=payment.pk).order.status == "processed", what="Processed")

    captures = Transaction.objects.filter(payment=payment, kind="capture")
    assert [c.state for c in captures] == ["Completed"]
    assert Transaction.objects.get(payment=payment, kind="authorization").state == "Closed"
    eventually(lambda: captures.get().notified, what="the capture's IPN being applied")
    auth_id = Transaction.objects.get(payment=payment, kind="authorization").amazon_id
    assert sandbox.object_state(auth_id)["capture_ids"] == [captures.get().amazon_id]


def test_a_staff_capture_racing_the_ipns_of_its_own_checkout_ends_consistent(delivering):
    sandbox = delivering
    order, _, payment = place(sandbox)  # its IPNs are on their way while staff captures

    results = at_once(3, lambda i: services.capture(payment.pk, actor=STAFF))

    assert sorted(r.outcome for r in results) == sorted([Outcome.DONE, Outcome.REFUSED, Outcome.REFUSED])
    sandbox.wait_for_ipn_idle(timeout=30)
    auth = Transaction.objects.get(payment=payment, kind="authorization")
    capture = Transaction.objects.get(payment=payment, kind="capture")
    eventually(lambda: Transaction.objects.get(pk=capture.pk).notified, what="the capture's IPN")
    auth.refresh_from_db()
    order.refresh_from_db()
    assert (auth.state, auth.reason_code) == ("Closed", "MaxCapturesProcessed")
    assert order.status == "processed"


def test_reconcile_workers_never_claim_the_same_payment(transactional_db, store, sandbox):
    payments = [place(sandbox)[2] for _ in range(6)]
    ids = [p.pk for p in payments]
    # Many more claims than payments: four workers, in batches of two, at the same instant.
    reconcile.request_checks(ids)
    now = timezone.now()
    claims = at_once(4, lambda i: [reconcile.claim(2, now=now) for _ in range(3)])
    claimed = [pk for worker in claims for batch in worker for pk in batch]
    assert sorted(claimed) == sorted(ids)


def test_workers_in_several_processes_share_the_sellers_quota_and_nothing_surfaces(
    transactional_db, store, sandbox
):
    payments = [place(sandbox)[2] for _ in range(8)]
    reconcile.request_checks([p.pk for p in payments])
    sandbox.set_throttling(True)  # the sandbox's quotas, enforced as Amazon does
    stores: list[PostgresBuckets] = []
    per_thread = threading.local()

    def client_of_this_process(settings):
        # Each worker thread stands for a separate process: its own client and quota limiter,
        # sharing only the database's bucket rows.
        if not hasattr(per_thread, "client"):
            buckets = PostgresBuckets(amazon_connection.quota_account(settings))
            stores.append(buckets)
            per_thread.client = amazon_connection.build_client(
                settings, retry=FAST_RETRY, rate_limiter=SharedQuota.for_amazon(buckets, sandbox=True)
            )
        return per_thread.client

    services.use_client_factory(client_of_this_process)
    try:
        report = reconcile.run_pass(workers=3, batch=1)
    finally:
        for buckets in stores:
            buckets.close()
    assert (report.claimed, report.refreshed, report.failed) == (8, 8, 0)
    assert report.throttled_surfaced == 0
    assert report.requests >= 16
    assert quota.METER.per_operation("paced")  # every request went through the shared buckets


def test_an_ipn_for_a_payment_held_by_another_request_answers_503_instead_of_waiting(
    transactional_db, store, sandbox
):
    """A staff capture holds the payment while it waits for Amazon; an IPN for that payment
    waits at most a few seconds (SNS gives up on slow answers), then answers 503 so Amazon
    delivers it again."""
    import time

    import psycopg

    from paydesk.amazonpay import inbox
    from paydesk.amazonpay.models import Notification, Verdict

    _order, _, payment = place(sandbox)
    auth_id = payment.transactions.get(kind="authorization").amazon_id
    report = services.amazon_client().get_authorization_details(auth_id)
    row = Notification.objects.create(body="{}", claimed_message_id="m-locked")
    params = connection.get_connection_params()
    with psycopg.connect(**params) as holder:
        holder.execute("SELECT id FROM amazonpay_payment WHERE id = %s FOR UPDATE", [payment.pk])
        started = time.monotonic()
        answer = inbox._claim_and_apply(row, "m-locked", report)
        waited = time.monotonic() - started
        holder.rollback()
    assert answer.status == 503 and waited < 60
    row.refresh_from_db()
    assert row.verdict == Verdict.RETRY and row.reason == "locked" and row.message_id is None
    # Delivered again once the payment is free, it is applied.
    again = Notification.objects.create(body="{}", claimed_message_id="m-locked")
    assert inbox._claim_and_apply(again, "m-locked", report).status == 200
