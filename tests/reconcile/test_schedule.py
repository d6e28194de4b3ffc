"""The reconciler's timetable as pure rules: when a payment next needs Amazon's word, and why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from paydesk.amazonpay.schedule import LIVE, SANDBOX, CheckReason, next_check
from paydesk.payments.money import Money
from paydesk.payments.payment import Payment, PaymentMode, Transaction
from paydesk.payments.states import Kind

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SETTLE = timedelta(minutes=3)
USD = Money(Decimal("50.00"), "USD")


def txn(kind, state, *, ref="r", amazon_id=None, parent=None, at=T0, notified=True, expires=None):
    return Transaction(
        kind=kind,
        reference_id=ref,
        amount=USD,
        state=state,
        amazon_id=amazon_id,
        parent_id=parent,
        requested_at=at,
        expires_at=expires,
        notified=notified,
    )


def payment(*transactions):
    return Payment(
        order_total=USD,
        mode=PaymentMode.AUTHORIZE_THEN_CAPTURE,
        order_reference_state="Open",
        transactions=tuple(transactions),
    )


def plan(p, *, checked_at=None, checked_for="", checks=0, timing=SANDBOX):
    return next_check(
        p, checked_at=checked_at, checked_for=checked_for, checks=checks, unknown_settle=SETTLE, timing=timing
    )


AUTH = txn(Kind.AUTHORIZATION, "Open", ref="a1", amazon_id="A", expires=T0 + timedelta(days=30))
CAPTURED = txn(Kind.AUTHORIZATION, "Closed", ref="a1", amazon_id="A")
CAPTURE = txn(Kind.CAPTURE, "Completed", ref="c1", amazon_id="C", parent="A")


def test_a_settled_and_notified_payment_needs_no_check():
    assert plan(payment(CAPTURED, CAPTURE)) is None


def test_a_requested_check_stands_beside_the_rules_and_the_earliest_wins():
    settled = payment(CAPTURED, CAPTURE)
    asked = T0 + timedelta(minutes=3)
    check = next_check(settled, checked_at=T0, requested=asked, unknown_settle=SETTLE, timing=SANDBOX)
    assert (check.due, check.reason) == (asked, CheckReason.REQUESTED)
    unknown = txn(Kind.CAPTURE, "Unknown", ref="c1", parent="A", notified=False)
    later = T0 + timedelta(hours=1)
    check = next_check(
        payment(AUTH, unknown), checked_at=None, requested=later, unknown_settle=SETTLE, timing=SANDBOX
    )
    assert (check.due, check.reason) == (T0 + SETTLE, CheckReason.UNKNOWN_OUTCOME)


def test_a_capture_amazon_made_but_paydesk_does_not_hold_is_checked_until_it_is_held():
    closed = txn(Kind.AUTHORIZATION, "Closed", ref="a1", amazon_id="A")
    closed = Transaction(**{**closed.__dict__, "reason_code": "MaxCapturesProcessed"})
    check = plan(payment(closed))
    assert check.reason == CheckReason.CAPTURE_NOT_HELD and check.due == T0 + SETTLE
    assert CheckReason.CAPTURE_NOT_HELD.recurring
    assert plan(payment(closed, CAPTURE)) is None


def test_an_unknown_outcome_is_checked_once_the_request_cannot_still_be_on_its_way():
    unknown = txn(Kind.CAPTURE, "Unknown", ref="c1", parent="A", notified=False)
    check = plan(payment(AUTH, unknown))
    assert check.reason == CheckReason.UNKNOWN_OUTCOME
    assert check.due == T0 + SETTLE


@pytest.mark.parametrize(
    ("kind", "sandbox_after", "live_after"),
    [
        (Kind.AUTHORIZATION, timedelta(minutes=2), timedelta(minutes=2)),
        (Kind.CAPTURE, timedelta(minutes=2), timedelta(hours=1)),
        (Kind.REFUND, timedelta(minutes=1), timedelta(hours=1)),
    ],
)
def test_a_pending_object_is_checked_after_the_time_amazon_usually_takes(kind, sandbox_after, live_after):
    pending = payment(txn(kind, "Pending", parent=None if kind == Kind.AUTHORIZATION else "A"))
    assert plan(pending).due == T0 + sandbox_after
    assert plan(pending, timing=LIVE).due == T0 + live_after
    assert plan(pending).reason.value == f"pending_{kind.value}"


def test_a_refund_first_heard_of_by_ipn_is_checked_at_once_so_a_refresh_links_it_to_its_capture():
    learned = txn(Kind.REFUND, "Completed", ref="sc-1", amazon_id="R", at=T0 + timedelta(hours=2))
    check = plan(payment(CAPTURED, CAPTURE, learned))
    assert check.reason == CheckReason.UNLINKED
    assert check.due == T0 + timedelta(hours=2)
    linked = txn(Kind.REFUND, "Completed", ref="sc-1", amazon_id="R", parent="C", at=T0 + timedelta(hours=2))
    assert plan(payment(CAPTURED, CAPTURE, linked)) is None
    # A walk that could not link it (throttled, failed), or an IPN that arrived after the last
    # check: asked about again, backing off, until it is linked.
    later = T0 + timedelta(hours=3)
    again = plan(payment(CAPTURED, CAPTURE, learned), checked_at=later, checked_for="unlinked", checks=1)
    assert again.reason == CheckReason.UNLINKED and again.due == later + SANDBOX.shortest_interval
    third = plan(payment(CAPTURED, CAPTURE, learned), checked_at=later, checked_for="unlinked", checks=3)
    assert third.due == later + 4 * SANDBOX.shortest_interval


def test_repeated_checks_of_something_still_pending_back_off_to_an_hour():
    pending = payment(txn(Kind.REFUND, "Pending", parent="C"))
    reason = CheckReason.PENDING_REFUND
    checked = T0 + timedelta(minutes=1)
    dues = [plan(pending, checked_at=checked, checked_for=reason, checks=n).due for n in range(1, 10)]
    gaps = [due - checked for due in dues]
    assert gaps[:4] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert gaps == sorted(gaps) and gaps[-1] == timedelta(hours=1)


def test_a_new_reason_starts_its_backoff_afresh():
    pending = payment(txn(Kind.REFUND, "Pending", parent="C"))
    checked = T0 + timedelta(minutes=30)
    after_many_unknown_checks = plan(pending, checked_at=checked, checked_for="unknown_outcome", checks=9)
    assert after_many_unknown_checks.due == checked + timedelta(minutes=1)


def test_a_state_no_ipn_confirmed_gets_one_check_after_a_grace():
    unconfirmed = txn(Kind.CAPTURE, "Completed", ref="c1", amazon_id="C", parent="A", notified=False)
    p = payment(CAPTURED, unconfirmed)
    check = plan(p)
    assert check.reason == CheckReason.NOT_NOTIFIED and check.due == T0 + timedelta(minutes=10)
    assert plan(p, checked_at=check.due + timedelta(seconds=1), checked_for=check.reason, checks=1) is None
    # A check made before the grace ended does not count.
    assert plan(p, checked_at=T0, checked_for="requested", checks=1) == check


def test_an_open_authorization_is_checked_before_it_expires_and_once_after():
    check = plan(payment(AUTH))
    assert check.reason == CheckReason.AUTHORIZATION_EXPIRING
    assert check.due == T0 + timedelta(days=27)  # three days ahead of a 30-day authorization
    after_warning = plan(payment(AUTH), checked_at=check.due, checked_for=check.reason, checks=1)
    assert after_warning.reason == CheckReason.AUTHORIZATION_EXPIRED
    assert after_warning.due == T0 + timedelta(days=30, minutes=5)


def test_a_short_lived_authorization_is_warned_about_within_its_life():
    # Amazon's sandbox closes unused authorizations after two days.
    short = txn(Kind.AUTHORIZATION, "Open", ref="a1", amazon_id="A", expires=T0 + timedelta(days=2))
    assert plan(payment(short)).due == T0 + timedelta(days=2) * 0.9


def test_the_earliest_reason_wins():
    unknown_refund = txn(Kind.REFUND, "Unknown", ref="r2", parent="C", at=T0 + timedelta(hours=2))
    pending_refund = txn(Kind.REFUND, "Pending", ref="r1", amazon_id="R", parent="C")
    check = plan(payment(CAPTURED, CAPTURE, pending_refund, unknown_refund))
    assert check.reason == CheckReason.PENDING_REFUND and check.due == T0 + timedelta(minutes=1)
