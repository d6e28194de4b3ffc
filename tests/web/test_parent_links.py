"""Captures and refunds Paydesk first hears of by IPN: an IPN does not say what an object was
made on, so Amazon's IdLists link it later - and until then nothing may be skipped or
refunded twice because a link is missing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from paydesk.amazonpay import services
from paydesk.amazonpay.models import Outcome, Payment, Transaction
from paydesk.payments import actions as rules

from .test_services import STAFF, place, status_of, usd


def as_ipn(payment, obj) -> None:
    """What the IPN inbox does with a notification of `obj`."""
    with services.locked_payment(payment.pk) as locked:
        services.apply_report(locked, obj, actor=services.IPN, operation="IPN")


def lose_the_reply(sandbox, operation: str) -> None:
    # Amazon acts, then the connection drops: every retry too, so the outcome stays unknown.
    sandbox.arm_fault(operation, "act_then_reset", count=5, hold_seconds=1)


def old_enough_to_settle(txn: Transaction) -> None:
    Transaction.objects.filter(pk=txn.pk).update(requested_at=txn.requested_at - timedelta(minutes=10))


def capture_now_learned_by_ipn(desk, sandbox, *, capture_first: bool):
    """An Authorize-and-capture order with asynchronous authorization: Amazon makes the
    capture itself, and Paydesk hears of it by IPN, in whichever order SNS delivers."""
    desk.authorization_mode = "async"
    desk.payment_mode = "authorize_and_capture"
    desk.save()
    order, result, payment = place(sandbox)
    assert result.outcome == Outcome.PENDING, result.message
    sandbox.advance_clock(timedelta(minutes=3))
    client = services.amazon_client()
    authorization = client.get_authorization_details(payment.transactions.get(kind="authorization").amazon_id)
    capture = client.get_capture_details(authorization.capture_ids[0])
    for obj in (capture, authorization) if capture_first else (authorization, capture):
        as_ipn(payment, obj)
    return order, payment, authorization, capture


def test_an_authorizations_ipn_links_the_capture_whose_ipn_came_first(desk, sandbox):
    _order, payment, authorization, capture = capture_now_learned_by_ipn(desk, sandbox, capture_first=True)
    row = payment.transactions.get(kind="capture")
    assert row.amazon_id == capture.amazon_capture_id
    assert row.parent_amazon_id == authorization.amazon_authorization_id
    assert Payment.objects.get(pk=payment.pk).check_reason != "unlinked"


def test_a_capture_heard_of_after_its_authorization_is_linked_by_the_next_refresh(desk, sandbox):
    _order, payment, authorization, _capture = capture_now_learned_by_ipn(desk, sandbox, capture_first=False)
    assert payment.transactions.get(kind="capture").parent_amazon_id == ""
    assert Payment.objects.get(pk=payment.pk).check_reason == "unlinked"
    services.refresh(payment.pk, actor=services.RECONCILER)
    assert payment.transactions.get(kind="capture").parent_amazon_id == authorization.amazon_authorization_id
    assert Payment.objects.get(pk=payment.pk).check_reason != "unlinked"


def test_a_lost_refund_reply_under_a_capture_learned_by_ipn_is_found_not_made_again(desk, sandbox):
    for capture_first in (True, False):
        sandbox.clear_faults()
        _order, payment, _authorization, capture = capture_now_learned_by_ipn(
            desk, sandbox, capture_first=capture_first
        )
        lose_the_reply(sandbox, "Refund")
        lost = services.refund(payment.pk, amount=usd("10.00"), actor=STAFF)
        sandbox.clear_faults()
        assert lost.outcome == Outcome.UNKNOWN, lost.message
        unknown = payment.transactions.get(kind="refund")
        old_enough_to_settle(unknown)

        services.refresh(payment.pk, actor=services.RECONCILER)

        unknown.refresh_from_db()
        assert unknown.state in ("Pending", "Completed"), (
            capture_first,
            unknown.state,
            unknown.error_message,
        )
        assert unknown.amazon_id is not None
        # Nothing was reopened: a Refund now counts the first one.
        again = services.refund(payment.pk, amount=usd("10.00"), actor=STAFF)
        assert again.outcome == Outcome.PENDING, again.message
        at_amazon = services.amazon_client().get_capture_details(capture.amazon_capture_id)
        assert len(at_amazon.refund_ids) == 2
        assert payment.transactions.filter(kind="refund").exclude(state="Failed").count() == 2


def test_a_refund_made_in_seller_central_counts_against_the_capture_before_it_is_linked(desk, sandbox):
    order, _, payment = place(sandbox)  # 52.95 USD
    assert services.capture(payment.pk, actor=STAFF).outcome == Outcome.DONE
    capture = payment.transactions.get(kind="capture")
    # Made outside Paydesk: Amazon tells Paydesk by IPN, and the IPN does not name the capture.
    elsewhere = services.amazon_client().refund(
        capture.amazon_id, refund_reference_id="seller-central-1", amount=usd("40.00")
    )
    as_ipn(payment, elsewhere)
    learned = payment.transactions.get(kind="refund")
    assert learned.parent_amazon_id == ""

    view = Payment.objects.get(pk=payment.pk).view()
    assert rules.left_to_refund(view, view.find(capture.amazon_id)) == usd("12.95")
    too_much = services.refund(payment.pk, amount=usd("21.00"), actor=STAFF)
    assert too_much.outcome == Outcome.REFUSED, too_much.message
    assert "20.89 USD is left to refund" in too_much.message  # 52.95 + 7.94 allowance - 40.00

    services.refresh(payment.pk, actor=services.RECONCILER)
    assert payment.transactions.get(kind="refund").parent_amazon_id == capture.amazon_id
    rest = services.refund(payment.pk, actor=STAFF)  # the default: what is left, 12.95
    assert rest.outcome == Outcome.PENDING, rest.message
    sandbox.advance_clock(timedelta(minutes=5))
    services.refresh(payment.pk, actor=STAFF)
    refunded = sum(t.amount for t in payment.transactions.filter(kind="refund", state="Completed"))
    assert refunded == Decimal("52.95")
    assert status_of(order) == "refunded"


def test_a_lost_tenth_refund_is_found_though_amazon_closed_its_capture(desk, sandbox):
    _order, _, payment = place(sandbox)
    assert services.capture(payment.pk, actor=STAFF).outcome == Outcome.DONE
    capture = payment.transactions.get(kind="capture")
    for _ in range(9):
        assert services.refund(payment.pk, amount=usd("1.00"), actor=STAFF).outcome == Outcome.PENDING
    sandbox.advance_clock(timedelta(minutes=5))
    services.refresh(payment.pk, actor=STAFF)
    lose_the_reply(sandbox, "Refund")
    assert services.refund(payment.pk, amount=usd("1.00"), actor=STAFF).outcome == Outcome.UNKNOWN
    sandbox.clear_faults()
    # The capture's IPN (Closed, MaxRefundsProcessed) arrives; the refund's own IPN is lost.
    closed = services.amazon_client().get_capture_details(capture.amazon_id)
    assert closed.status.state == "Closed"
    as_ipn(payment, closed)
    tenth = payment.transactions.get(kind="refund", state="Unknown")
    old_enough_to_settle(tenth)

    services.refresh(payment.pk, actor=services.RECONCILER)

    tenth.refresh_from_db()
    assert tenth.state in ("Pending", "Completed"), (tenth.state, tenth.error_message)
    assert payment.transactions.filter(kind="refund").exclude(state="Failed").count() == 10
