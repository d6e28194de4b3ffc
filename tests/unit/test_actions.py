"""The "Amazon Pay available order actions" and the rules behind each button."""

from dataclasses import replace
from datetime import timedelta

import pytest

from paydesk.payments.actions import (
    SEED_ACTIONS,
    Action,
    ActionRefused,
    authorized,
    available_actions,
    cancel_after_void,
    check_capture,
    check_refund,
    check_void,
    left_to_refund,
    refund_room,
)
from paydesk.payments.payment import PaymentMode

from .builders import NOW, ORO, auth, capture, payment, refund, usd

A1, C1 = f"{ORO}-A000001", f"{ORO}-C000001"


def actions(p, **kw):
    """The seeds' four buttons among the available actions."""
    return tuple(a for a in available_actions(p, now=NOW, **kw) if a in SEED_ACTIONS)


def test_an_authorized_order_in_authorization_then_capture_mode_offers_capture_and_void():
    assert actions(payment(auth("Open"))) == (Action.CAPTURE, Action.VOID)


def test_authorize_and_capture_mode_never_offers_capture_or_void():
    assert actions(payment(auth("Open"), mode=PaymentMode.AUTHORIZE_AND_CAPTURE)) == ()


def test_capture_void_and_a_later_authorization_are_refused_on_authorize_and_capture_orders():
    # What the page does not offer, a hand-made request or the API may not do either.
    from paydesk.payments.actions import check_authorize

    p = payment(auth("Open"), mode=PaymentMode.AUTHORIZE_AND_CAPTURE, total="200.00")
    with pytest.raises(ActionRefused, match=r"“Authorize and capture” mode.*no separate capture"):
        check_capture(p, A1, usd("10.00"), now=NOW)
    with pytest.raises(ActionRefused, match="no separate authorization to void"):
        check_void(p, A1)
    with pytest.raises(ActionRefused, match="no separate authorization to capture later"):
        check_authorize(p, usd("10.00"), now=NOW)
    check_authorize(payment(mode=PaymentMode.AUTHORIZE_AND_CAPTURE), usd("100.00"), now=NOW, capture_now=True)


def test_an_expired_authorization_cannot_be_captured():
    assert Action.CAPTURE not in actions(payment(auth("Open", expires_in_days=-1)))


def test_a_captured_order_offers_refund_only():
    assert actions(payment(auth("Closed"), capture("Completed"))) == (Action.REFUND,)


def test_a_fully_refunded_order_offers_nothing():
    assert actions(payment(auth("Closed"), capture(), refund(amount="100.00"))) == ()
    # While that refund is pending, Amazon's allowance may still be refunded (an amount typed).
    assert Action.REFUND in actions(payment(auth("Closed"), capture(), refund("Pending", amount="100.00")))


def test_refresh_shows_when_the_latest_transactions_ipn_did_not_arrive():
    assert actions(payment(auth("Open", notified=False))) == (Action.CAPTURE, Action.VOID, Action.REFRESH)
    assert actions(payment(auth("Closed"), capture(notified=False))) == (Action.REFUND, Action.REFRESH)


def test_a_refresh_after_the_latest_change_confirms_it_like_an_ipn():
    """X-Cart's Refresh status is for when the IPN did not arrive: once a refresh has had
    Amazon's word, the button goes until something changes again."""
    unconfirmed = payment(auth("Closed"), capture(notified=False))
    changed = unconfirmed.latest.last_updated or unconfirmed.latest.requested_at
    assert Action.REFRESH not in actions(replace(unconfirmed, confirmed_at=changed + timedelta(seconds=1)))
    assert Action.REFRESH in actions(replace(unconfirmed, confirmed_at=changed - timedelta(seconds=1)))
    # A refresh does not make an unknown outcome known, nor an old pending state settled.
    unknown = payment(auth("Closed"), capture("Unknown", notified=False))
    assert Action.REFRESH in actions(replace(unknown, confirmed_at=NOW))


def test_a_capture_amazon_made_that_paydesk_does_not_hold_is_pending_not_failed():
    """CaptureNow: Amazon closes the authorization as MaxCapturesProcessed; until Paydesk holds
    the capture (its IPN lost, or reading it failed) the order is paid-pending, and Refresh
    status is offered."""
    from paydesk.payments.status import OrderStatus, order_status

    p = payment(auth("Closed", reason="MaxCapturesProcessed"), mode=PaymentMode.AUTHORIZE_AND_CAPTURE)
    assert order_status(p) == OrderStatus.QUEUED
    assert Action.REFRESH in available_actions(p, now=NOW)
    held = payment(
        auth("Closed", reason="MaxCapturesProcessed"), capture(), mode=PaymentMode.AUTHORIZE_AND_CAPTURE
    )
    assert order_status(held) == OrderStatus.PROCESSED and not held.captures_not_held
    expired = payment(auth("Closed", reason="ExpiredUnused"))
    assert order_status(expired) == OrderStatus.FAILED
    # The money it captured counts: nothing is offered to authorize it again.
    not_held = payment(auth("Closed", reason="MaxCapturesProcessed"))
    assert Action.AUTHORIZE not in available_actions(not_held, now=NOW)
    assert Action.AUTHORIZE in available_actions(expired, now=NOW) or Action.REAUTHORIZE in available_actions(
        expired, now=NOW
    )


def test_refresh_shows_while_a_refund_heard_of_by_ipn_is_not_linked_to_its_capture():
    unlinked = replace(refund("Completed", "10.00", n=2), parent_id=None)
    assert Action.REFRESH in actions(payment(auth("Closed"), capture(), unlinked))
    assert Action.REFRESH not in actions(
        payment(auth("Closed"), capture(), refund("Completed", "10.00", n=2))
    )


def test_refresh_shows_while_something_is_pending_past_the_grace_period():
    p = payment(auth("Closed"), capture(), refund("Pending"))
    assert Action.REFRESH in actions(p)
    assert Action.REFRESH not in actions(p, pending_grace=timedelta(hours=1))


def test_an_unknown_outcome_offers_only_refresh():
    p = payment(auth("Closed"), capture("Unknown", notified=False))
    assert actions(p) == (Action.REFRESH,)
    with pytest.raises(ActionRefused, match="Refresh status first"):
        check_refund(payment(auth("Closed"), capture(), refund("Unknown")), C1, usd("1.00"))


def test_declined_and_canceled_orders_offer_no_money_movement():
    assert actions(payment(auth("Declined", reason="AmazonRejected"), oro_state="Closed")) == ()
    assert actions(payment(auth("Closed", reason="SellerClosed"))) == ()


def test_capture_up_to_the_authorized_amount():
    p = payment(auth("Open", amount="100.00"))
    check_capture(p, A1, usd("100.00"), now=NOW)
    check_capture(p, A1, usd("40.00"), now=NOW)
    with pytest.raises(ActionRefused, match=r"at most the authorized amount, 100\.00 USD"):
        check_capture(p, A1, usd("100.01"), now=NOW)


def test_capture_refuses_a_closed_authorization_and_foreign_ids_and_currencies():
    with pytest.raises(ActionRefused, match="closed"):
        check_capture(payment(auth("Closed", reason="SellerClosed")), A1, usd("1.00"), now=NOW)
    with pytest.raises(ActionRefused, match="no authorization"):
        check_capture(payment(auth("Open")), "S01-0000000-0000000-A999999", usd("1.00"), now=NOW)
    from decimal import Decimal

    from paydesk.payments.money import Money

    with pytest.raises(ActionRefused, match="paid in USD"):
        check_capture(payment(auth("Open")), A1, Money(Decimal(1), "EUR"), now=NOW)
    with pytest.raises(ActionRefused, match="greater than zero"):
        check_capture(payment(auth("Open")), A1, usd("0.00"), now=NOW)


def test_capture_refuses_past_the_order_total_plus_allowance():
    # 100.00 order, 115.00 ceiling: 60 captured on one authorization, a second one of 60 open.
    p = payment(auth("Closed", amount="60.00"), capture(amount="60.00"), auth("Open", amount="60.00", n=2))
    check_capture(p, f"{ORO}-A000002", usd("55.00"), now=NOW)
    with pytest.raises(ActionRefused, match=r"at most 115\.00 USD on this order"):
        check_capture(p, f"{ORO}-A000002", usd("55.01"), now=NOW)


def test_a_void_cancels_the_order_reference_only_when_nothing_else_holds_or_moves_money():
    assert cancel_after_void(payment(auth("Closed")))
    assert not cancel_after_void(payment(auth("Closed"), auth("Open", n=2)))
    assert not cancel_after_void(payment(auth("Closed"), auth("Pending", n=2)))
    assert not cancel_after_void(payment(auth("Closed"), auth("Unknown", n=2)))
    assert not cancel_after_void(payment(auth("Closed"), capture("Completed")))
    assert not cancel_after_void(payment(auth("Closed"), capture("Pending")))
    assert cancel_after_void(payment(auth("Closed"), capture("Declined"), auth("Declined", n=2)))


def test_void_needs_an_open_authorization():
    check_void(payment(auth("Open")), A1)
    with pytest.raises(ActionRefused, match="cannot be voided"):
        check_void(payment(auth("Closed"), capture()), A1)


def test_refunds_up_to_captured_plus_allowance_counting_pending_ones():
    p = payment(
        auth("Closed"),
        capture(amount="100.00"),
        refund("Completed", "60.00"),
        refund("Pending", "40.00", n=2),
    )
    assert refund_room(p, p.captures[0]) == usd("15.00")
    assert left_to_refund(p, p.captures[0]) == usd("0.00")
    check_refund(p, C1, usd("15.00"))
    with pytest.raises(ActionRefused, match=r"15\.00 USD is left to refund"):
        check_refund(p, C1, usd("15.01"))


def test_a_refund_not_yet_linked_to_its_capture_counts_against_every_capture():
    # Its IPN was the first news of it (made in Seller Central): which capture it returned money
    # from is learned on the next refresh; until then no capture's limit may be passed for it.
    unlinked = replace(refund("Completed", "30.00", n=3), parent_id=None)
    p = payment(
        auth("Closed"),
        capture(amount="50.00"),
        auth("Closed", n=2),
        capture(amount="50.00", n=2, auth_n=2),
        unlinked,
        total="100.00",
    )
    first, second = p.captures
    assert p.refunds_of(first) == p.refunds_of(second) == (unlinked,)
    assert left_to_refund(p, first) == left_to_refund(p, second) == usd("20.00")
    assert refund_room(p, first) == usd("27.50")  # 50.00 + 7.50 allowance - 30.00
    linked = replace(unlinked, parent_id=C1)
    q = payment(*p.transactions[:4], linked, total="100.00")
    assert q.refunds_of(q.captures[1]) == ()
    assert left_to_refund(q, q.captures[1]) == usd("50.00")


def test_at_most_ten_refunds_per_capture():
    nine = [refund("Completed", "1.00", n=i) for i in range(1, 10)]
    check_refund(payment(auth("Closed"), capture(), *nine), C1, usd("1.00"))
    ten = [*nine, refund("Declined", "1.00", n=10)]
    with pytest.raises(ActionRefused, match="at most 10 refunds per capture"):
        check_refund(payment(auth("Closed"), capture(), *ten), C1, usd("1.00"))


def test_only_a_completed_capture_is_refunded():
    split = payment(
        auth("Closed", amount="50.00"),
        capture(amount="50.00"),
        auth("Closed", amount="50.00", n=2),
        capture("Pending", amount="50.00", n=2, auth_n=2),
    )
    with pytest.raises(ActionRefused, match="only a completed capture"):
        check_refund(split, f"{ORO}-C000002", usd("1.00"))


def test_requests_amazon_refused_count_toward_no_limit():
    nine = [refund("Completed", "1.00", n=i) for i in range(1, 10)]
    p = payment(auth("Closed"), capture(), *nine, refund("Failed", "50.00", n=10))
    check_refund(p, C1, usd("1.00"))
    assert refund_room(p, p.captures[0]) == usd("106.00")


def test_a_failed_request_is_not_the_latest_transaction_for_refresh():
    p = payment(auth("Open"), capture("Failed", notified=False))
    assert actions(p) == (Action.CAPTURE, Action.VOID)


def test_the_largest_single_refund_depends_on_the_currency():
    from decimal import Decimal

    from paydesk.payments.money import Money
    from paydesk.payments.payment import Payment, PaymentMode, Transaction
    from paydesk.payments.states import Kind

    def yen(n):
        return Money(Decimal(n), "JPY")

    p = Payment(
        order_total=yen(20_000_000),
        mode=PaymentMode.AUTHORIZE_THEN_CAPTURE,
        order_reference_state="Open",
        transactions=(
            Transaction(
                Kind.CAPTURE, "c1", yen(20_000_000), "Completed", amazon_id="S03-1-1-C1", parent_id="A1"
            ),
        ),
    )
    check_refund(p, "S03-1-1-C1", yen(10_000_000))  # 150,000 is the USD/GBP/EUR figure, not JPY's
    with pytest.raises(ActionRefused, match="over 10000000 JPY in one go"):
        check_refund(p, "S03-1-1-C1", yen(10_000_001))


def test_an_authorization_or_capture_over_amazons_largest_single_amount_is_refused_first_by_paydesk():
    from paydesk.payments.actions import check_authorize

    big = payment(auth("Open", amount="150000.00"), total="160000.00")
    check_capture(big, A1, usd("150000.00"), now=NOW)
    check_authorize(payment(total="160000.00"), usd("150000.00"), now=NOW)
    with pytest.raises(ActionRefused, match=r"Amazon refuses authorizations over 150000 USD in one go"):
        check_authorize(payment(total="160000.00"), usd("150000.01"), now=NOW)
    with pytest.raises(ActionRefused, match=r"Amazon refuses captures over 150000 USD in one go"):
        check_capture(
            payment(auth("Open", amount="160000.00"), total="160000.00"), A1, usd("150000.01"), now=NOW
        )


def test_a_capture_plan_picks_the_open_authorization_and_its_full_amount():
    from paydesk.payments.actions import plan_capture

    p = payment(
        auth("Closed", amount="30.00", reason="MaxCapturesProcessed"),
        capture(amount="30.00"),
        auth("Open", amount="70.00", n=2),
    )
    chosen, amount = plan_capture(p, None, None, now=NOW)
    assert chosen.amazon_id == f"{ORO}-A000002" and amount == usd("70.00")
    assert plan_capture(p, None, usd("20.00"), now=NOW)[1] == usd("20.00")
    with pytest.raises(ActionRefused, match="no authorization S01-9"):
        plan_capture(p, "S01-9999999-9999999-A000001", None, now=NOW)
    with pytest.raises(ActionRefused, match="closed"):  # the one asked for is captured already
        plan_capture(p, A1, None, now=NOW)
    expired = payment(auth("Open", expires_in_days=-1))
    with pytest.raises(ActionRefused, match="expired"):  # no capturable one: the latest says why
        plan_capture(expired, None, None, now=NOW)


def test_a_refund_plan_refunds_what_is_left_or_says_how_to_use_the_allowance():
    from paydesk.payments.actions import plan_refund

    p = payment(auth("Closed"), capture(amount="100.00"), refund("Completed", "40.00"))
    chosen, amount = plan_refund(p, None, None)
    assert chosen.amazon_id == C1 and amount == usd("60.00")
    full = payment(auth("Closed"), capture(amount="100.00"), refund("Pending", "100.00"))
    with pytest.raises(ActionRefused, match=r"Nothing is left to refund.*up to 15\.00 USD"):
        plan_refund(full, None, None)
    assert plan_refund(full, None, usd("15.00"))[1] == usd("15.00")
    with pytest.raises(ActionRefused, match="no completed capture"):
        plan_refund(payment(auth("Open")), None, None)


@pytest.mark.parametrize(
    "transactions",
    [
        (auth("Closed"), capture(), refund(amount="40.00")),
        (auth("Closed"), capture(), refund(amount="100.00")),  # the whole capture given back
        (auth("Closed"), capture(), refund("Pending", amount="100.00")),  # on its way back
        (auth("Closed"), capture(), refund("Pending", amount="115.00")),  # with the allowance
        # A split shipment: the first capture refunded with its allowance (115 of 110 captured,
        # so the order counts as Refunded), the second not touched yet.
        (
            auth("Closed", "100.00", n=1),
            auth("Closed", "10.00", n=2),
            capture(amount="100.00", n=1, auth_n=1),
            capture(amount="10.00", n=2, auth_n=2),
            refund("Completed", "100.00", n=1, capture_n=1),
            refund("Completed", "15.00", n=2, capture_n=1),
        ),
    ],
)
def test_refund_is_offered_exactly_when_the_rules_allow_one(transactions):
    p = payment(*transactions, total="110.00")
    offered = Action.REFUND in actions(p)
    allowed = []
    for c in p.captures:
        try:
            check_refund(p, c.amazon_id, usd("0.01"))
            allowed.append(c.amazon_id)
        except ActionRefused:
            pass
    assert offered == bool(allowed)
    if len(p.captures) == 2:
        assert allowed == [f"{ORO}-C000002"]  # the untouched capture stays refundable


def test_an_expired_authorization_is_not_money_the_merchant_can_collect():
    expired = payment(auth("Open", expires_in_days=-1))
    assert authorized(expired, now=NOW) == usd("0.00")
    assert Action.REAUTHORIZE in available_actions(expired, now=NOW)
    assert authorized(payment(auth("Open")), now=NOW) == usd("100.00")


def _split(*refunds):
    return payment(
        auth("Closed", "100.00", n=1),
        auth("Closed", "100.00", n=2),
        capture(amount="100.00", n=1, auth_n=1),
        capture(amount="100.00", n=2, auth_n=2),
        *refunds,
        total="200.00",
    )


def test_a_refund_not_linked_to_its_capture_yet_closes_no_other_capture():
    # Made in Seller Central and heard of by IPN without its capture: it counts against every
    # capture's limit until linked, but it did not give every capture back.
    unlinked = replace(refund("Completed", "100.00", n=1, capture_n=1), parent_id=None)
    p = _split(unlinked)
    check_refund(p, f"{ORO}-C000002", usd("10.00"))
    assert Action.REFUND in actions(p)


def test_a_refund_without_an_amount_takes_the_first_capture_with_something_left():
    from paydesk.payments.actions import plan_refund

    p = _split(refund("Pending", "100.00", n=1, capture_n=1))  # the first is on its way back
    chosen, amount = plan_refund(p, None, None)
    assert chosen.amazon_id == f"{ORO}-C000002" and amount == usd("100.00")
