"""A real Paydesk process killed with SIGKILL after Amazon captured (or refunded) and before
Paydesk recorded it: the reconciler finds the object by its reference id and records it once;
nothing is captured twice and nothing is lost. On SQLite and, in the PostgreSQL pass, there."""

from __future__ import annotations

import signal
from datetime import timedelta

import pytest

from paydesk.amazonpay import reconcile, services
from paydesk.amazonpay.models import Outcome

from . import processes
from .conftest import STAFF, place


def kill_after_amazon_acted(tmp_path, sandbox, action, payment, *, pause_after_reply, acted):
    """Run `action` on `payment` in another process and SIGKILL it once Amazon acted."""
    marker = tmp_path / "marker"
    args = ["tests/reconcile/crash_worker.py", action, str(payment.pk), str(marker)]
    if pause_after_reply:
        args.append("--pause-after-reply")
    log = tmp_path / "worker.log"
    worker = processes.start(args, log=log)
    try:
        processes.eventually(marker.exists, what="the worker calling Amazon", log=log)
        processes.eventually(acted, what="Amazon acting on the worker's request", log=log)
        assert worker.poll() is None, log.read_text()
        worker.send_signal(signal.SIGKILL)
        assert worker.wait(timeout=30) == -signal.SIGKILL
    finally:
        processes.stop(worker)


def reconcile_after_the_settle_time(transaction):
    settled = transaction.requested_at + services.UNKNOWN_SETTLE_TIME
    return reconcile.run_pass(now=settled + timedelta(minutes=1))


@pytest.mark.parametrize("pause_after_reply", [True, False], ids=["killed-holding-the-reply", "reply-lost"])
def test_a_capture_killed_before_it_was_recorded_is_recorded_once(
    transactional_db, store, sandbox, tmp_path, pause_after_reply
):
    order, _, payment = place(sandbox)
    auth_id = payment.transactions.get(kind="authorization").amazon_id
    if not pause_after_reply:
        sandbox.arm_fault("Capture", "act_then_timeout", count=1, hold_seconds=60)

    kill_after_amazon_acted(
        tmp_path,
        sandbox,
        "capture",
        payment,
        pause_after_reply=pause_after_reply,
        acted=lambda: sandbox.object_state(auth_id)["capture_ids"],
    )
    sandbox.clear_faults()

    capture = payment.transactions.get(kind="capture")
    assert capture.state == "Unknown"  # stored, with its reference id, before Amazon was called
    assert services.capture(payment.pk, actor=STAFF).outcome == Outcome.REFUSED  # never guessed
    report = reconcile_after_the_settle_time(capture)
    assert (report.claimed, report.refreshed, report.failed) == (1, 1, 0)

    capture.refresh_from_db()
    captured_at_amazon = sandbox.object_state(auth_id)["capture_ids"]
    assert captured_at_amazon == [capture.amazon_id]
    assert capture.state == "Completed"
    assert payment.transactions.filter(kind="capture").count() == 1
    order.refresh_from_db()
    assert order.status == "processed"
    assert services.capture(payment.pk, actor=STAFF).outcome == Outcome.REFUSED
    assert sandbox.object_state(auth_id)["capture_ids"] == captured_at_amazon


def test_a_refund_killed_before_it_was_recorded_is_recorded_once(transactional_db, store, sandbox, tmp_path):
    order, _, payment = place(sandbox)
    assert services.capture(payment.pk, actor=STAFF).outcome == Outcome.DONE
    capture_id = payment.transactions.get(kind="capture").amazon_id

    kill_after_amazon_acted(
        tmp_path,
        sandbox,
        "refund",
        payment,
        pause_after_reply=True,
        acted=lambda: sandbox.object_state(capture_id)["refund_ids"],
    )

    refund = payment.transactions.get(kind="refund")
    assert refund.state == "Unknown"
    assert reconcile_after_the_settle_time(refund).refreshed == 1
    refund.refresh_from_db()
    assert sandbox.object_state(capture_id)["refund_ids"] == [refund.amazon_id]
    assert refund.state == "Pending"  # Amazon's refunds start Pending
    sandbox.advance_clock(timedelta(minutes=5))
    payment.refresh_from_db()
    reconcile.run_pass(now=payment.next_check_at)
    refund.refresh_from_db()
    order.refresh_from_db()
    assert refund.state == "Completed" and order.status == "refunded"
    assert payment.transactions.filter(kind="refund").count() == 1
