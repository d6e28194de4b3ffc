"""The payment service against the offline sandbox over real HTTP: every status the seeds name,
and what happens on each Amazon error."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from paydesk.amazonpay import services
from paydesk.amazonpay.models import Outcome, Payment, PaymentEvent, Transaction
from paydesk.payments.actions import SEED_ACTIONS, Action, available_actions
from paydesk.payments.money import Money
from paydesk.shop.catalog import PRODUCTS

STAFF = services.Actor(services.Source.STAFF, "olga")


def usd(text: str) -> Money:
    return Money(Decimal(text), "USD")


def place(sandbox, *, payment_method="valid", quantity=2):
    """A checkout as the demo shop does it: the buyer's widget, then the store's calls."""
    product = PRODUCTS[1]
    total = usd(str(product.price * quantity + Decimal("4.95")))
    reference = sandbox.create_order_reference(
        amount=total.to_amazon(), currency="USD", payment_method=payment_method
    )
    order, result = services.checkout(
        reference,
        lines=[services.CartLine(product.sku, product.name, quantity, usd(str(product.price)))],
        shipping=usd("4.95"),
    )
    return order, result, Payment.objects.get(order=order)


def actions_of(payment):
    from django.utils import timezone

    payment.refresh_from_db()
    return tuple(a for a in available_actions(payment.view(), now=timezone.now()) if a in SEED_ACTIONS)


def status_of(order):
    order.refresh_from_db()
    return order.status


def test_checkout_authorizes_and_the_order_offers_capture_and_void(desk, sandbox):
    order, result, payment = place(sandbox)
    assert result.outcome == Outcome.DONE
    assert status_of(order) == "authorized"
    assert actions_of(payment)[:2] == (Action.CAPTURE, Action.VOID)
    assert order.customer_name == "Jane Buyer" or order.customer_name  # from Amazon's buyer
    auth = payment.transactions.get()
    assert auth.state == "Open" and auth.amazon_id.startswith(payment.amazon_order_reference_id + "-A")
    assert sandbox.object_state(auth.amazon_id)["status"]["state"] == "Open"


def test_capture_then_refund_in_full(desk, sandbox):
    order, _, payment = place(sandbox)
    captured = services.capture(payment.pk, actor=STAFF)
    assert captured.outcome == Outcome.DONE, captured.message
    assert status_of(order) == "processed"
    assert Action.REFUND in actions_of(payment)
    refunded = services.refund(payment.pk, actor=STAFF)
    assert refunded.outcome == Outcome.PENDING  # Amazon's refunds always start Pending
    assert status_of(order) == "processed"
    sandbox.advance_clock(timedelta(minutes=5))
    assert services.refresh(payment.pk, actor=STAFF).outcome == Outcome.DONE
    assert status_of(order) == "refunded"
    refund = payment.transactions.get(kind="refund")
    assert refund.state == "Completed" and refund.amount == order.total
    assert actions_of(payment) == (Action.REFRESH,)  # no IPN arrived: IPN delivery is off


def test_void_closes_the_authorization_and_cancels_the_order(desk, sandbox):
    order, _, payment = place(sandbox)
    result = services.void(payment.pk, actor=STAFF)
    assert result.outcome == Outcome.DONE, result.message
    assert status_of(order) == "canceled"
    auth = payment.transactions.get()
    assert auth.state == "Closed" and auth.reason_code == "SellerClosed"
    payment.refresh_from_db()
    assert payment.order_reference_state == "Canceled"
    assert sandbox.object_state(payment.amazon_order_reference_id)["status"]["state"] == "Canceled"


def test_voiding_one_of_two_open_authorizations_keeps_the_order_and_the_other(desk, sandbox):
    order, _, payment = place(sandbox)
    main = payment.transactions.get(kind="authorization")
    extra = services.authorize_more(payment.pk, amount=usd("5.00"), actor=STAFF)  # an add-on
    assert extra.outcome == Outcome.DONE, extra.message
    add_on = payment.transactions.get(pk=extra.transaction_id)

    result = services.void(payment.pk, authorization_id=add_on.amazon_id, actor=STAFF)

    assert result.outcome == Outcome.DONE, result.message
    add_on.refresh_from_db()
    assert add_on.state == "Closed" and add_on.reason_code == "SellerClosed"
    assert sandbox.object_state(payment.amazon_order_reference_id)["status"]["state"] == "Open"
    assert sandbox.object_state(main.amazon_id)["status"]["state"] == "Open"
    assert status_of(order) == "authorized"
    captured = services.capture(payment.pk, authorization_id=main.amazon_id, actor=STAFF)
    assert captured.outcome == Outcome.DONE, captured.message
    assert status_of(order) == "processed"


def test_a_request_key_used_for_one_authorization_is_refused_for_another(desk, sandbox):
    _order, _, payment = place(sandbox)
    main = payment.transactions.get(kind="authorization")
    add_on = services.authorize_more(payment.pk, amount=usd("5.00"), actor=STAFF)
    add_on_id = payment.transactions.get(pk=add_on.transaction_id).amazon_id
    first = services.capture(payment.pk, authorization_id=add_on_id, actor=STAFF, idempotency_key="k-1")
    assert first.outcome == Outcome.DONE, first.message

    other = services.capture(payment.pk, authorization_id=main.amazon_id, actor=STAFF, idempotency_key="k-1")

    assert other.outcome == Outcome.REFUSED
    assert other.message == "This request key was already used for a different action; nothing was done."
    assert sandbox.object_state(main.amazon_id)["capture_ids"] == []
    retry = services.capture(payment.pk, authorization_id=add_on_id, actor=STAFF, idempotency_key="k-1")
    assert (retry.outcome, retry.transaction_id) == (Outcome.DONE, first.transaction_id)


def test_a_request_key_used_for_one_captures_refund_is_refused_for_another_capture(desk, sandbox):
    _order, _, payment = place(sandbox)  # 52.95 USD, shipped in two parts
    assert services.capture(payment.pk, amount=usd("20.00"), actor=STAFF).outcome == Outcome.DONE
    assert services.authorize_more(payment.pk, actor=STAFF).outcome == Outcome.DONE
    assert services.capture(payment.pk, actor=STAFF).outcome == Outcome.DONE
    first, second = payment.transactions.filter(kind="capture").order_by("requested_at")
    done = services.refund(
        payment.pk, capture_id=first.amazon_id, amount=usd("5.00"), actor=STAFF, idempotency_key="r-1"
    )
    assert done.outcome == Outcome.PENDING, done.message

    other = services.refund(
        payment.pk, capture_id=second.amazon_id, amount=usd("5.00"), actor=STAFF, idempotency_key="r-1"
    )

    assert other.outcome == Outcome.REFUSED
    assert "already used for a different action" in other.message
    assert sandbox.object_state(second.amazon_id)["refund_ids"] == []


def test_a_declined_payment_method_declines_the_authorization_with_amazons_reason(desk, sandbox):
    order, result, payment = place(sandbox, payment_method="declined")
    assert result.outcome == Outcome.DECLINED
    assert "InvalidPaymentMethod" in result.message
    assert status_of(order) == "declined"
    assert Action.CAPTURE not in actions_of(payment)


def test_asynchronous_authorization_is_queued_until_amazon_decides(desk, sandbox):
    desk.authorization_mode = "async"
    desk.save()
    order, result, payment = place(sandbox)
    assert result.outcome == Outcome.PENDING
    assert status_of(order) == "queued"
    assert actions_of(payment) == (Action.REFRESH,)
    sandbox.advance_clock(timedelta(minutes=2))
    services.refresh(payment.pk, actor=STAFF)
    assert status_of(order) == "authorized"


def test_authorize_and_capture_mode_captures_at_checkout(desk, sandbox):
    desk.payment_mode = "authorize_and_capture"
    desk.save()
    order, result, payment = place(sandbox)
    assert result.outcome == Outcome.DONE, result.message
    assert status_of(order) == "processed"
    capture = payment.transactions.get(kind="capture")
    assert capture.state == "Completed" and capture.amount == order.total
    assert Action.CAPTURE not in actions_of(payment)


def test_a_capture_now_checkout_whose_capture_cannot_be_read_yet_shows_paid_pending(desk, sandbox):
    """Amazon authorized and captured; reading the capture back fails. The checkout must not
    fail (the buyer was charged), nor the order show Failed: it is pending until the
    reconciler (or Refresh status) reads the capture."""
    from paydesk.amazonpay import reconcile

    desk.payment_mode = "authorize_and_capture"
    desk.save()
    sandbox.arm_fault("GetAuthorizationDetails", "500", count=4)  # the client's retries, all
    order, result, payment = place(sandbox)
    sandbox.clear_faults()
    assert result.outcome == Outcome.DONE, result.message
    assert not payment.transactions.filter(kind="capture").exists()
    assert status_of(order) == "queued"
    assert Action.REFRESH in actions_of(payment)
    payment.refresh_from_db()
    assert payment.check_reason == "capture_not_held"
    reconcile.run_pass(now=payment.next_check_at)
    capture = payment.transactions.get(kind="capture")
    assert capture.state == "Completed" and capture.amount == order.total
    assert status_of(order) == "processed"


def _checkout_again(reference, *, quantity=2):
    product = PRODUCTS[1]
    return services.checkout(
        reference,
        lines=[services.CartLine(product.sku, product.name, quantity, usd(str(product.price)))],
        shipping=usd("4.95"),
    )


def test_a_checkout_retried_after_amazon_failed_to_confirm_finishes_the_same_order(desk, sandbox):
    product = PRODUCTS[1]
    total = usd(str(product.price * 2 + Decimal("4.95")))
    reference = sandbox.create_order_reference(amount=total.to_amazon(), currency="USD")
    sandbox.arm_fault("ConfirmOrderReference", "503", count=4)
    order, first = _checkout_again(reference)
    sandbox.clear_faults()
    assert first.outcome == Outcome.FAILED and status_of(order) == "not_finished"
    again_order, again = _checkout_again(reference, quantity=5)  # a changed cart changes nothing
    assert again_order.pk == order.pk and again.outcome == Outcome.DONE, again.message
    assert status_of(order) == "authorized"
    authorization = Payment.objects.get(order=order).transactions.get(kind="authorization")
    assert authorization.amount == total.amount
    assert Payment.objects.count() == 1


def test_placing_the_same_checkout_twice_answers_with_the_first_authorization(desk, sandbox):
    order, first, payment = place(sandbox)
    again_order, again = _checkout_again(payment.amazon_order_reference_id)
    assert again_order.pk == order.pk
    assert (again.outcome, again.transaction_id) == (first.outcome, first.transaction_id)
    assert payment.transactions.filter(kind="authorization").count() == 1
    assert len(sandbox.object_state(payment.amazon_order_reference_id)["authorization_ids"]) == 1


def test_a_checkout_retried_after_a_decline_and_a_new_card_authorizes_again(desk, sandbox):
    order, first, payment = place(sandbox, payment_method="declined")
    assert first.outcome == Outcome.DECLINED
    sandbox.change_payment_method(payment.amazon_order_reference_id, "valid")  # the buyer's new card
    _order, again = _checkout_again(payment.amazon_order_reference_id)
    assert again.outcome == Outcome.DONE, again.message
    assert status_of(order) == "authorized"
    assert payment.transactions.filter(kind="authorization", state="Open").count() == 1


def test_a_checkout_retried_while_amazon_is_unreachable_answers_from_what_it_holds(desk, sandbox):
    order, first, payment = place(sandbox)
    sandbox.arm_fault("GetOrderReferenceDetails", "503", count=100)
    try:
        _order, again = _checkout_again(payment.amazon_order_reference_id)
    finally:
        sandbox.clear_faults()
    assert (again.outcome, again.transaction_id) == (first.outcome, first.transaction_id)
    assert status_of(order) == "authorized"
    assert not PaymentEvent.objects.filter(payment=payment, outcome=Outcome.FAILED).exists()


def test_a_checkout_whose_only_authorization_failed_is_failed_not_queued(desk, sandbox):
    sandbox.arm_fault("Authorize", "503", count=4)  # Amazon unavailable: nothing authorized
    order, result, _payment = place(sandbox)
    sandbox.clear_faults()
    assert result.outcome == Outcome.FAILED
    assert status_of(order) == "failed"


def offered(payment):
    """Every action the order page offers (the seeds' four and the rest)."""
    from django.utils import timezone

    payment.refresh_from_db()
    return available_actions(payment.view(), now=timezone.now())


def test_an_authorize_and_capture_order_whose_charge_failed_can_be_charged_by_staff(desk, sandbox):
    desk.payment_mode = "authorize_and_capture"
    desk.save()
    sandbox.arm_fault("Authorize", "503", count=4)  # Amazon unavailable at checkout
    order, result, payment = place(sandbox)
    sandbox.clear_faults()
    assert result.outcome == Outcome.FAILED and status_of(order) == "failed"
    assert Action.AUTHORIZE in offered(payment)
    charged = services.run_action(Action.AUTHORIZE, payment.pk, actor=STAFF)
    assert charged.outcome == Outcome.DONE, charged.message
    assert status_of(order) == "processed"
    capture = payment.transactions.get(kind="capture")
    assert capture.state == "Completed" and capture.amount == order.total
    assert Action.AUTHORIZE not in offered(payment)  # charged: nothing to charge again


def test_a_second_capture_never_moves_money_twice(desk, sandbox):
    _order, _, payment = place(sandbox)
    first = services.capture(payment.pk, actor=STAFF, idempotency_key="click-1")
    again = services.capture(payment.pk, actor=STAFF, idempotency_key="click-1")
    other_tab = services.capture(payment.pk, actor=STAFF, idempotency_key="click-2")
    assert first.outcome == Outcome.DONE and again.outcome == Outcome.DONE
    assert again.transaction_id == first.transaction_id
    assert other_tab.outcome == Outcome.REFUSED
    assert payment.transactions.filter(kind="capture").count() == 1
    auth_id = payment.transactions.get(kind="authorization").amazon_id
    assert len(sandbox.object_state(auth_id)["capture_ids"]) == 1


def test_capture_declined_by_amazon_shows_the_reason_and_leaves_the_order_authorized(desk, sandbox):
    _order, _, payment = place(sandbox)
    note = '{"SandboxSimulation": {"State":"Declined", "ReasonCode":"AmazonRejected"}}'
    result = services.capture(payment.pk, actor=STAFF, seller_note=note)
    assert result.outcome == Outcome.DECLINED and "AmazonRejected" in result.message
    assert payment.transactions.get(kind="capture").state == "Declined"


def test_an_amazon_error_is_recorded_as_failed_with_amazons_message(desk, sandbox):
    order, _, payment = place(sandbox)
    auth = payment.transactions.get()
    # The authorization is closed at Amazon behind Paydesk's back: Paydesk still thinks it open.
    services.amazon_client().close_authorization(auth.amazon_id)
    result = services.capture(payment.pk, actor=STAFF)
    assert result.outcome == Outcome.FAILED
    assert "InvalidAuthorizationStatus" in result.message
    capture = payment.transactions.get(kind="capture")
    assert capture.state == "Failed" and capture.error_code == "InvalidAuthorizationStatus"
    assert status_of(order) == "authorized"  # until a refresh tells otherwise
    services.refresh(payment.pk, actor=STAFF)
    assert status_of(order) == "canceled"


@pytest.mark.parametrize("fault", ["503", "500"])
def test_amazon_trouble_is_retried_transparently(desk, sandbox, fault):
    _order, _, payment = place(sandbox)
    sandbox.arm_fault("Capture", fault, count=1)
    result = services.capture(payment.pk, actor=STAFF)
    assert result.outcome == Outcome.DONE, result.message
    assert payment.transactions.filter(kind="capture", state="Completed").count() == 1


def test_throttling_is_retried_with_the_same_reference_id(desk, sandbox):
    _order, _, payment = place(sandbox)
    sandbox.set_throttling(True)
    try:
        results = [services.refresh(payment.pk, actor=STAFF) for _ in range(3)]
    finally:
        sandbox.set_throttling(False)
    assert all(r.outcome == Outcome.DONE for r in results)


@pytest.mark.parametrize("fault", ["act_then_reset", "act_then_500", "act_then_timeout"])
def test_an_unknown_outcome_is_never_guessed_and_refresh_finds_the_capture(desk, sandbox, fault):
    order, _, payment = place(sandbox)
    sandbox.arm_fault("Capture", fault, count=5, hold_seconds=3)
    result = services.capture(payment.pk, actor=STAFF)
    assert result.outcome == Outcome.UNKNOWN, result.message
    capture = payment.transactions.get(kind="capture")
    assert capture.state == "Unknown"
    assert actions_of(payment) == (Action.REFRESH,)
    assert services.capture(payment.pk, actor=STAFF).outcome == Outcome.REFUSED
    sandbox.clear_faults()
    services.refresh(payment.pk, actor=STAFF)
    capture.refresh_from_db()
    assert capture.state == "Completed" and capture.amazon_id
    assert status_of(order) == "processed"
    auth_id = payment.transactions.get(kind="authorization").amazon_id
    assert sandbox.object_state(auth_id)["capture_ids"] == [capture.amazon_id]


def test_a_request_that_never_reached_amazon_is_settled_as_failed_by_refresh(desk, sandbox):
    _order, _, payment = place(sandbox)
    auth = payment.transactions.get()
    lost = Transaction.objects.create(
        payment=payment,
        kind="capture",
        reference_id="1001-clost",
        amount=auth.amount,
        currency="USD",
        state="Unknown",
        parent_amazon_id=auth.amazon_id,
    )
    Transaction.objects.filter(pk=lost.pk).update(requested_at=lost.requested_at - timedelta(minutes=10))
    services.refresh(payment.pk, actor=STAFF)
    lost.refresh_from_db()
    assert lost.state == "Failed" and lost.error_code == "NotFoundAtAmazon"
    assert Action.CAPTURE in actions_of(payment)


def test_refund_declined_by_amazon(desk, sandbox):
    order, _, payment = place(sandbox)
    services.capture(payment.pk, actor=STAFF)
    note = '{"SandboxSimulation": {"State":"Declined", "ReasonCode":"AmazonRejected"}}'
    assert services.refund(payment.pk, actor=STAFF, seller_note=note).outcome == Outcome.PENDING
    sandbox.advance_clock(timedelta(minutes=5))
    services.refresh(payment.pk, actor=STAFF)
    refund = payment.transactions.get(kind="refund")
    assert refund.state == "Declined" and refund.reason_code == "AmazonRejected"
    assert status_of(order) == "processed"


def test_every_call_and_its_outcome_is_in_the_history(desk, sandbox):
    _order, _, payment = place(sandbox)
    services.capture(payment.pk, actor=STAFF)
    operations = list(
        PaymentEvent.objects.filter(payment=payment).values_list("operation", "outcome", "actor")
    )
    assert ("Capture", "done", "olga") in operations
    assert ("Authorize", "done", "") in operations


def test_a_failure_carries_amazons_error_code(desk, sandbox):
    from paydesk.amazonpay.client import AmazonPayClient
    from paydesk.amazonpay.retry import NO_RETRY
    from paydesk.sandbox import DEMO_ACCESS_KEY, DEMO_SECRET_KEY, DEMO_SELLER_ID

    _order, _, payment = place(sandbox)
    impatient = AmazonPayClient(
        seller_id=DEMO_SELLER_ID,
        access_key=DEMO_ACCESS_KEY,
        secret_key=DEMO_SECRET_KEY,
        base_url=sandbox.url,
        retry=NO_RETRY,
    )
    services.use_client_factory(lambda settings: impatient)
    sandbox.set_throttling(True)
    try:
        results = [services.refresh(payment.pk, actor=STAFF) for _ in range(8)]
    finally:
        sandbox.set_throttling(False)
    throttled = [r for r in results if r.outcome == Outcome.FAILED]
    assert throttled and all(r.error_code == "RequestThrottled" for r in throttled)


@pytest.mark.parametrize("fault", ["reset", "timeout"])
def test_a_lost_reply_before_amazon_acted_is_retried_with_the_same_reference_id(desk, sandbox, fault):
    _order, _, payment = place(sandbox)
    sandbox.arm_fault("Capture", fault, count=1, hold_seconds=3)
    result = services.capture(payment.pk, actor=STAFF)
    assert result.outcome == Outcome.DONE, result.message
    auth_id = payment.transactions.get(kind="authorization").amazon_id
    assert len(sandbox.object_state(auth_id)["capture_ids"]) == 1


def test_amazon_out_of_reach_fails_cleanly_and_moves_nothing(desk, sandbox):
    import socket

    from paydesk.amazonpay.client import AmazonPayClient
    from paydesk.amazonpay.retry import NO_RETRY
    from paydesk.sandbox import DEMO_ACCESS_KEY, DEMO_SECRET_KEY, DEMO_SELLER_ID

    order, _, payment = place(sandbox)
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    nowhere = AmazonPayClient(
        seller_id=DEMO_SELLER_ID,
        access_key=DEMO_ACCESS_KEY,
        secret_key=DEMO_SECRET_KEY,
        base_url=f"http://127.0.0.1:{closed}",
        retry=NO_RETRY,
    )
    services.use_client_factory(lambda settings: nowhere)
    result = services.capture(payment.pk, actor=STAFF)
    assert result.outcome == Outcome.FAILED and "could not be reached" in result.message
    capture = payment.transactions.get(kind="capture")
    assert capture.state == "Failed" and capture.error_code == "NotSent"
    assert status_of(order) == "authorized"
    auth_id = payment.transactions.get(kind="authorization").amazon_id
    assert sandbox.object_state(auth_id)["capture_ids"] == []


def test_a_sandbox_authorization_is_capturable_for_two_days_whatever_its_expiry_says(amazon_settings):
    """Amazon's sandbox closes an unused authorization after two days while its
    ExpirationTimestamp says thirty; a live one lasts its thirty."""
    from .conftest import add_txn, make_order

    now = timezone.now()
    for number, oro, offered in (
        ("1001", "S01-1111111-2222222", False),
        ("1002", "P01-1111111-2222222", True),
    ):
        _order, payment = make_order(number, status="authorized", oro=oro)
        add_txn(
            payment,
            "authorization",
            "Open",
            f"{oro}-A000001",
            f"{number}-a1",
            notified=True,
            requested_at=now - timedelta(days=3),
            expires_at=now + timedelta(days=27),
        )
        assert (Action.CAPTURE in available_actions(payment.view(), now=now)) is offered
        assert (Action.REAUTHORIZE in available_actions(payment.view(), now=now)) is not offered


def test_a_capture_amazon_refuses_for_the_authorizations_state_has_the_payment_read_again(desk, sandbox):
    # The sandbox closed the authorization (two days unused) and its IPN never came: Paydesk
    # still holds it Open, Amazon refuses the capture, and the payment is due for a check now.
    _order, _, payment = place(sandbox)
    sandbox.advance_clock(timedelta(days=3))
    result = services.capture(payment.pk, actor=STAFF)
    assert result.outcome == Outcome.FAILED and result.error_code == "InvalidAuthorizationStatus"
    payment.refresh_from_db()
    assert payment.check_reason == "requested" and payment.next_check_at <= timezone.now()
