"""Partial and split captures, partial and multiple refunds, reauthorize, close and cancel —
walked against the offline sandbox; each limit refused first by Paydesk, and by Amazon too."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from paydesk.amazonpay import services
from paydesk.amazonpay.errors import AmountExceeded, InvalidState, LimitExceeded
from paydesk.amazonpay.models import Outcome, Payment

from .test_services import STAFF, place, status_of, usd


def fresh(payment) -> Payment:
    return Payment.objects.get(pk=payment.pk)


def auth_of(payment, state="Open"):
    return payment.transactions.filter(kind="authorization", state=state).latest("requested_at")


def test_a_split_shipment_captures_part_then_authorizes_and_captures_the_rest(desk, sandbox):
    order, _, payment = place(sandbox)  # 52.95 USD
    first = services.capture(payment.pk, amount=usd("20.00"), actor=STAFF)
    assert first.outcome == Outcome.DONE, first.message
    assert status_of(order) == "partially_captured"
    second = services.authorize_more(payment.pk, actor=STAFF)  # the rest: 32.95
    assert second.outcome == Outcome.DONE, second.message
    assert auth_of(payment).amount == Decimal("32.95")
    third = services.capture(payment.pk, actor=STAFF)
    assert third.outcome == Outcome.DONE, third.message
    assert status_of(order) == "processed"
    assert fresh(payment).view().captured == usd("52.95")


def test_authorizing_the_rest_twice_with_one_request_key_authorizes_once_and_repeats_the_result(
    desk, sandbox
):
    _order, _, payment = place(sandbox)  # 52.95 USD
    services.capture(payment.pk, amount=usd("50.00"), actor=STAFF)
    first = services.authorize_more(payment.pk, actor=STAFF, idempotency_key="rest-1")
    again = services.authorize_more(payment.pk, actor=STAFF, idempotency_key="rest-1")
    assert first.outcome == again.outcome == Outcome.DONE, (first.message, again.message)
    assert again.transaction_id == first.transaction_id
    second_authorization = auth_of(payment)
    assert second_authorization.amount == Decimal("2.95")
    oro = sandbox.object_state(payment.amazon_order_reference_id)
    assert len(oro["authorization_ids"]) == 2  # checkout's and the one for the rest
    other_key = services.authorize_more(payment.pk, actor=STAFF, idempotency_key="rest-2")
    assert other_key.outcome == Outcome.REFUSED
    assert other_key.message == "Nothing is left to authorize on this order."
    assert payment.events.filter(outcome=Outcome.REFUSED, operation="Authorize").count() == 1


def test_what_is_still_owed_is_worked_out_under_the_lock_so_a_second_tab_cannot_authorize_it_again(
    desk, sandbox, monkeypatch
):
    _order, _, payment = place(sandbox)  # 52.95 USD: Amazon's allowance would let 2.95 through twice
    services.capture(payment.pk, amount=usd("50.00"), actor=STAFF)
    take_the_lock = services.locked_payment
    first_tab = []

    def another_tab_gets_there_first(payment_id):
        # The second tab's request is about to take the payment's lock when the first tab's
        # "Authorize the rest" runs from start to end.
        monkeypatch.setattr(services, "locked_payment", take_the_lock)
        first_tab.append(services.authorize_more(payment.pk, actor=STAFF, idempotency_key="tab-1"))
        return take_the_lock(payment_id)

    monkeypatch.setattr(services, "locked_payment", another_tab_gets_there_first)
    second_tab = services.authorize_more(payment.pk, actor=STAFF, idempotency_key="tab-2")

    assert first_tab[0].outcome == Outcome.DONE, first_tab[0].message
    assert second_tab.outcome == Outcome.REFUSED, second_tab.message
    assert second_tab.message == "Nothing is left to authorize on this order."
    oro = sandbox.object_state(payment.amazon_order_reference_id)
    assert len(oro["authorization_ids"]) == 2  # checkout's, and one for the 2.95 still owed


def test_more_than_amazon_takes_in_one_authorization_is_refused_before_anything_is_stored(desk, sandbox):
    reference = sandbox.create_order_reference(amount="160000.00", currency="USD")
    order, result = services.checkout(
        reference,
        lines=[services.CartLine("PIANO-1", "Grand piano", 1, usd("160000.00"))],
        shipping=usd("0.00"),
    )
    assert result.outcome == Outcome.REFUSED
    assert result.message == "Amazon refuses authorizations over 150000 USD in one go."
    payment = Payment.objects.get(order=order)
    assert not payment.transactions.exists()
    again = services.authorize_more(payment.pk, actor=STAFF)
    assert again.outcome == Outcome.REFUSED and "over 150000 USD" in again.message
    assert not payment.transactions.exists()
    assert sandbox.object_state(reference)["authorization_ids"] == []


def test_a_request_the_client_refuses_to_send_fails_plainly_and_blocks_nothing(desk, sandbox):
    _order, _, payment = place(sandbox)
    too_long = "x" * 256  # SellerCaptureNote: at most 255 characters
    result = services.capture(payment.pk, actor=STAFF, seller_note=too_long)
    assert result.outcome == Outcome.FAILED
    assert "SellerCaptureNote" in result.message and "No money moved" in result.message
    attempt = payment.transactions.get(kind="capture")
    assert attempt.state == "Failed" and attempt.error_code == "InvalidRequest"
    assert services.capture(payment.pk, actor=STAFF).outcome == Outcome.DONE


def test_authorizing_beyond_the_order_total_plus_allowance_is_refused_by_paydesk_and_by_amazon(desk, sandbox):
    _order, _, payment = place(sandbox)  # 52.95: ceiling 52.95 + 7.94 = 60.89
    services.capture(payment.pk, amount=usd("50.00"), actor=STAFF)
    refused = services.authorize_more(payment.pk, amount=usd("10.90"), actor=STAFF)
    assert refused.outcome == Outcome.REFUSED and "at most 10.89 USD can be authorized" in refused.message
    assert services.authorize_more(payment.pk, amount=usd("10.89"), actor=STAFF).outcome == Outcome.DONE
    with pytest.raises((AmountExceeded, LimitExceeded)):
        services.amazon_client().authorize(
            payment.amazon_order_reference_id,
            authorization_reference_id="direct-too-much",
            amount=usd("1.00"),
        )


def test_partial_refunds_up_to_the_captured_amount_plus_allowance(desk, sandbox):
    order, _, payment = place(sandbox)  # 52.95 captured: refunds up to 60.89
    services.capture(payment.pk, actor=STAFF)
    for amount in ("20.00", "20.00"):
        assert services.refund(payment.pk, amount=usd(amount), actor=STAFF).outcome == Outcome.PENDING
    sandbox.advance_clock(timedelta(minutes=5))
    services.refresh(payment.pk, actor=STAFF)
    assert status_of(order) == "partially_refunded"
    refused = services.refund(payment.pk, amount=usd("20.90"), actor=STAFF)
    assert refused.outcome == Outcome.REFUSED and "20.89 USD is left to refund" in refused.message
    assert services.refund(payment.pk, amount=usd("20.89"), actor=STAFF).outcome == Outcome.PENDING
    sandbox.advance_clock(timedelta(minutes=5))
    services.refresh(payment.pk, actor=STAFF)
    assert status_of(order) == "refunded"
    capture_id = payment.transactions.get(kind="capture").amazon_id
    # Amazon closed the capture (MaxAmountRefunded) when its ceiling was reached.
    with pytest.raises((AmountExceeded, InvalidState)):
        services.amazon_client().refund(capture_id, refund_reference_id="direct-over", amount=usd("0.01"))


def test_at_most_ten_refunds_per_capture(desk, sandbox):
    _order, _, payment = place(sandbox)
    services.capture(payment.pk, actor=STAFF)
    for _ in range(10):
        assert services.refund(payment.pk, amount=usd("1.00"), actor=STAFF).outcome == Outcome.PENDING
    refused = services.refund(payment.pk, amount=usd("1.00"), actor=STAFF)
    assert refused.outcome == Outcome.REFUSED and "at most 10 refunds per capture" in refused.message
    capture_id = payment.transactions.get(kind="capture").amazon_id
    with pytest.raises((LimitExceeded, InvalidState)):
        services.amazon_client().refund(capture_id, refund_reference_id="direct-eleventh", amount=usd("1.00"))


def test_an_expired_authorization_is_reauthorized(desk, sandbox):
    order, _, payment = place(sandbox)
    sandbox.advance_clock(timedelta(days=31))  # Amazon closes it ExpiredUnused
    services.refresh(payment.pk, actor=STAFF)
    assert status_of(order) == "failed"
    assert payment.transactions.get().reason_code == "ExpiredUnused"
    result = services.authorize_more(payment.pk, actor=STAFF)
    assert result.outcome == Outcome.DONE, result.message
    assert status_of(order) == "authorized"
    assert auth_of(payment).amount == Decimal("52.95")


def test_after_a_soft_decline_the_buyer_updates_the_card_and_the_order_is_reauthorized(desk, sandbox):
    order, result, payment = place(sandbox, payment_method="declined")
    assert result.outcome == Outcome.DECLINED and status_of(order) == "declined"
    assert fresh(payment).order_reference_state == "Suspended"
    refused = services.authorize_more(payment.pk, actor=STAFF)
    assert refused.outcome == Outcome.REFUSED and "suspended" in refused.message
    sandbox.change_payment_method(payment.amazon_order_reference_id, "valid")
    services.refresh(payment.pk, actor=STAFF)
    assert fresh(payment).order_reference_state == "Open"
    assert services.authorize_more(payment.pk, actor=STAFF).outcome == Outcome.DONE
    assert status_of(order) == "authorized"


def test_closing_the_order_reference_still_lets_the_open_authorization_be_captured(desk, sandbox):
    order, _, payment = place(sandbox)
    result = services.close_order_reference(payment.pk, actor=STAFF)
    assert result.outcome == Outcome.DONE, result.message
    assert fresh(payment).order_reference_state == "Closed"
    assert services.capture(payment.pk, actor=STAFF).outcome == Outcome.DONE
    assert status_of(order) == "processed"
    again = services.close_order_reference(payment.pk, actor=STAFF)
    assert again.outcome == Outcome.REFUSED and "cannot be closed" in again.message


def test_canceling_the_order_reference_releases_the_authorization(desk, sandbox):
    order, _, payment = place(sandbox)
    result = services.cancel_order_reference(payment.pk, actor=STAFF)
    assert result.outcome == Outcome.DONE, result.message
    assert status_of(order) == "canceled"
    auth = payment.transactions.get()
    assert auth.state == "Closed" and auth.reason_code == "OrderReferenceCanceled"


def test_cancel_after_a_capture_is_refused_by_paydesk_and_by_amazon(desk, sandbox):
    _order, _, payment = place(sandbox)
    services.capture(payment.pk, amount=usd("10.00"), actor=STAFF)
    refused = services.cancel_order_reference(payment.pk, actor=STAFF)
    assert refused.outcome == Outcome.REFUSED and "refund instead" in refused.message
    with pytest.raises(InvalidState):
        services.amazon_client().cancel_order_reference(payment.amazon_order_reference_id)


def test_bulk_capture_and_refresh_report_each_order(client, operator, desk, sandbox):
    made = [place(sandbox) for _ in range(3)]
    declined = place(sandbox, payment_method="declined")
    numbers = [order.number for order, _, _ in made] + [declined[0].number, "no-such-order"]
    client.force_login(operator)
    form = {"action": "capture", "order": numbers, "key": "bulk-1"}
    page = client.post("/amazonpay/orders/bulk/", form)
    results = page.context["results"]
    assert [number for number, _ in results] == numbers
    assert [r.outcome for _, r in results] == ["done", "done", "done", "refused", "refused"]
    assert all(status_of(order) == "processed" for order, _, _ in made)
    again = client.post("/amazonpay/orders/bulk/", form).context["results"]  # the same form sent twice
    assert [r.outcome for _, r in again][:3] == ["done", "done", "done"]
    for _, _, payment in made:
        assert payment.transactions.filter(kind="capture").count() == 1
    refreshed = client.post("/amazonpay/orders/bulk/", {"action": "refresh", "order": numbers[:3]})
    assert [r.outcome for _, r in refreshed.context["results"]] == ["done"] * 3


def test_bulk_actions_need_the_operate_permission(client, viewer, desk):
    client.force_login(viewer)
    assert client.post("/amazonpay/orders/bulk/", {"action": "capture", "order": ["1"]}).status_code == 403


def test_the_dashboard_counts_links_and_charts(client, operator, desk, sandbox):
    place(sandbox)
    place(sandbox, payment_method="declined")
    client.force_login(operator)
    page = client.get("/dashboard/").content.decode()
    assert "<svg" in page and "Authorized" in page
    assert "/orders/?attention=declined" in page and "/orders/?status=authorized" in page
    assert "InvalidPaymentMethod" in page  # the recent decline and Amazon's reason
    listed = client.get("/orders/?attention=declined").context["page"].orders
    assert [o.status for o in listed] == ["declined"]


def test_refusals_name_what_was_asked_for(desk, sandbox):
    _order, _, payment = place(sandbox)
    wrong = services.capture(payment.pk, authorization_id="S01-0000000-0000000-A000000", actor=STAFF)
    assert (
        wrong.outcome == Outcome.REFUSED and "no authorization S01-0000000-0000000-A000000" in wrong.message
    )
    services.capture(payment.pk, actor=STAFF)
    services.refund(payment.pk, actor=STAFF)  # all of it
    nothing_left = services.refund(payment.pk, actor=STAFF)
    assert nothing_left.outcome == Outcome.REFUSED
    assert "Nothing is left to refund" in nothing_left.message and "give the amount" in nothing_left.message


def test_marking_a_paid_order_shipped_makes_it_completed_and_refund_stays_on_offer(
    client, operator, desk, sandbox
):
    order, _, payment = place(sandbox)
    services.capture(payment.pk, actor=STAFF)
    client.force_login(operator)
    page = client.post(f"/orders/{order.number}/fulfilled/", follow=True).content.decode()
    assert "Order marked fulfilled" in page
    assert status_of(order) == "completed"
    assert 'data-action="refund"' in page  # the seeds: Refund shows for Processed or Completed
    assert 'data-action="fulfilled"' not in page
