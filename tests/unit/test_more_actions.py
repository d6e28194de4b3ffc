"""Beyond X-Cart: authorize what is left (split shipments), reauthorize, close and cancel."""

from dataclasses import replace
from datetime import timedelta

import pytest

from paydesk.payments.actions import (
    Action,
    ActionRefused,
    available_actions,
    check_authorize,
    check_cancel,
    check_close,
    committed,
    left_to_collect,
    reauthorize_amount,
)
from paydesk.payments.payment import PaymentMode

from .builders import NOW, auth, capture, payment, refund, usd


def extras(p):
    return tuple(
        a
        for a in available_actions(p, now=NOW)
        if a not in (Action.CAPTURE, Action.VOID, Action.REFUND, Action.REFRESH)
    )


def test_an_authorized_order_can_be_closed_or_canceled_but_needs_no_more_authorization():
    assert extras(payment(auth("Open"))) == (Action.CLOSE, Action.CANCEL)


def test_after_a_partial_capture_the_rest_can_be_authorized_for_the_next_shipment():
    p = payment(auth("Closed", amount="60.00", reason="MaxCapturesProcessed"), capture(amount="60.00"))
    assert left_to_collect(p, now=NOW) == usd("40.00")
    assert extras(p) == (Action.AUTHORIZE, Action.CLOSE)  # captured: no cancel any more
    check_authorize(p, usd("40.00"), now=NOW)
    check_authorize(p, usd("55.00"), now=NOW)  # within the 15 % allowance over the 100.00 total
    with pytest.raises(ActionRefused, match=r"at most 55\.00 USD can be authorized"):
        check_authorize(p, usd("55.01"), now=NOW)


def test_authorizations_and_captures_under_way_count_as_held():
    p = payment(
        auth("Pending", amount="30.00"),
        auth("Open", amount="20.00", n=2),
        capture("Pending", "10.00", n=1, auth_n=3),
    )
    assert committed(p, now=NOW) == usd("60.00")


def test_an_expired_or_declined_authorization_is_reauthorized_for_its_amount():
    expired = payment(auth("Closed", amount="80.00", reason="ExpiredUnused"), total="100.00")
    assert extras(expired) == (Action.REAUTHORIZE, Action.CLOSE, Action.CANCEL)
    assert reauthorize_amount(expired, now=NOW) == usd("80.00")
    timed_out = payment(auth("Declined", reason="TransactionTimedOut"))
    assert Action.REAUTHORIZE in extras(timed_out)
    still_open_but_past_expiry = payment(auth("Open", expires_in_days=-1))
    assert Action.REAUTHORIZE in extras(still_open_but_past_expiry)


def test_a_suspended_order_reference_waits_for_the_buyer_before_reauthorizing():
    p = payment(auth("Declined", reason="InvalidPaymentMethod", soft_decline=True), oro_state="Suspended")
    assert Action.REAUTHORIZE not in extras(p)
    with pytest.raises(ActionRefused, match="only an open one can be authorized"):
        check_authorize(p, usd("10.00"), now=NOW)
    reopened = payment(auth("Declined", reason="InvalidPaymentMethod"), oro_state="Open")
    assert Action.REAUTHORIZE in extras(reopened)


def test_authorize_and_capture_orders_are_charged_again_only_when_their_charge_holds_nothing():
    charged = payment(
        auth("Closed", reason="MaxCapturesProcessed"), capture(), mode=PaymentMode.AUTHORIZE_AND_CAPTURE
    )
    assert not {Action.AUTHORIZE, Action.REAUTHORIZE} & set(extras(charged))
    failed = payment(auth("Failed"), mode=PaymentMode.AUTHORIZE_AND_CAPTURE)
    assert Action.AUTHORIZE in extras(failed)  # Amazon never got the checkout's charge
    check_authorize(failed, usd("100.00"), now=NOW, capture_now=True)
    with pytest.raises(ActionRefused, match="charged at checkout"):
        check_authorize(charged, usd("10.00"), now=NOW, capture_now=True)


def test_no_authorizing_on_a_closed_order_reference():
    closed = payment(
        auth("Closed", amount="60.00", reason="MaxCapturesProcessed"),
        capture(amount="60.00"),
        oro_state="Closed",
    )
    assert extras(closed) == ()


def test_at_most_25_authorizations_on_an_order_reference():
    declined = [auth("Declined", amount="1.00", n=i, reason="TransactionTimedOut") for i in range(1, 26)]
    p = payment(*declined)
    assert Action.REAUTHORIZE not in extras(p)
    with pytest.raises(ActionRefused, match="at most 25 authorizations"):
        check_authorize(p, usd("1.00"), now=NOW)


def test_no_eleventh_authorization_once_ten_were_captured():
    # Amazon closes the order reference (MaxAuthorizationsCaptured); Paydesk does not wait for
    # that IPN to stop offering, or accepting, another authorization.
    ten = []
    for i in range(1, 11):
        ten += [
            auth("Closed", amount="5.00", n=i, reason="MaxCapturesProcessed"),
            capture(amount="5.00", n=i, auth_n=i),
        ]
    p = payment(*ten, total="100.00")
    assert Action.AUTHORIZE not in extras(p)
    with pytest.raises(ActionRefused, match="once 10 of its authorizations were captured; this one has 10"):
        check_authorize(p, usd("5.00"), now=NOW)
    nine = payment(*ten[:18], total="100.00")
    check_authorize(nine, usd("5.00"), now=NOW)
    # A capture learned by IPN whose authorization is not known yet still counts.
    tenth_unlinked = replace(ten[19], parent_id=None)
    with pytest.raises(ActionRefused, match="this one has 10"):
        check_authorize(payment(*ten[:18], ten[18], tenth_unlinked, total="100.00"), usd("5.00"), now=NOW)


def test_cancel_is_refused_once_money_was_captured():
    check_cancel(payment(auth("Open")))
    with pytest.raises(ActionRefused, match="once money was captured"):
        check_cancel(payment(auth("Closed"), capture("Completed")))
    with pytest.raises(ActionRefused, match="once money was captured"):
        check_cancel(payment(auth("Closed"), capture("Pending")))
    check_cancel(payment(auth("Open"), capture("Declined")))


def test_close_needs_an_open_or_suspended_order_reference():
    check_close(payment(auth("Closed"), capture(), refund()))
    check_close(payment(oro_state="Suspended"))
    with pytest.raises(ActionRefused, match="canceled and cannot be closed"):
        check_close(payment(oro_state="Canceled"))


def test_nothing_moves_while_an_outcome_is_unknown():
    p = payment(auth("Closed", amount="60.00"), capture("Unknown", amount="60.00"))
    assert extras(p) == ()
    with pytest.raises(ActionRefused, match="Refresh status first"):
        check_authorize(p, usd("1.00"), now=NOW)


def test_a_time_based_expiry_uses_the_clock_given():
    p = payment(auth("Open", expires_in_days=1))
    assert Action.REAUTHORIZE not in extras(p)
    assert Action.REAUTHORIZE in tuple(available_actions(p, now=NOW + timedelta(days=2)))
