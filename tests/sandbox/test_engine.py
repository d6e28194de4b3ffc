"""Amazon's rules, straight against the engine with a clock the test moves (no HTTP)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from paydesk.sandbox.amounts import Amount
from paydesk.sandbox.clock import SandboxClock
from paydesk.sandbox.config import Timings
from paydesk.sandbox.engine import Change, Engine
from paydesk.sandbox.errors import AmazonError
from paydesk.sandbox.model import Address, Authorization, Buyer, Origin, Outcome

SELLER = "A2PAYDESKDEMO1"
ADDRESS = Address("Jane", "1 Main St", "Seattle", "98101", "US", "WA")
_refs = itertools.count(1)


def usd(text: str) -> Amount:
    return Amount(Decimal(text), "USD")


class World:
    def __init__(
        self,
        authorization_settle: timedelta = timedelta(seconds=30),
        authorization_expiry: timedelta | None = None,
    ) -> None:
        self.real = datetime(2024, 1, 1, tzinfo=UTC)
        self.clock = SandboxClock(real_now=lambda: self.real)
        timings = Timings(
            authorization_settle=authorization_settle,
            capture_settle=timedelta(seconds=30),
            refund_settle=timedelta(seconds=30),
            authorization_expiry=authorization_expiry,
        )
        self.engine = Engine(self.clock, timings)
        self.changes: list[Change] = []
        self.engine.add_listener(self.changes.extend)

    def later(self, **delta: float) -> None:
        self.clock.advance(timedelta(**delta))
        self.engine.advance_to(self.clock.now())

    def draft(self, amount: str = "100.00", **overrides: object) -> str:
        fields: dict[str, object] = {
            "seller_id": SELLER,
            "order_total": usd(amount),
            "buyer": Buyer("Jane", "jane@example.com"),
            "destination": ADDRESS,
            "payment_method": "valid",
        }
        fields.update(overrides)
        return self.engine.create_order_reference(**fields).id  # type: ignore[arg-type]

    def open_order(self, amount: str = "100.00", **overrides: object) -> str:
        order_id = self.draft(amount, **overrides)
        self.engine.confirm_order_reference(SELLER, order_id)
        return order_id

    def authorize_and_tell(
        self,
        order_id: str,
        amount: str,
        *,
        timeout: int = 0,
        ref: str | None = None,
        fingerprint: str | None = None,
        capture_now: bool = False,
        simulated: Outcome | None = None,
        sandbox_path: bool = True,
    ) -> tuple[Authorization, bool]:
        """The authorization, and whether this call created it (False for a replay)."""
        ref = ref or f"auth{next(_refs)}"
        return self.engine.authorize(
            SELLER,
            order_id,
            origin=Origin("Authorize", ref, fingerprint or f"{order_id}/{amount}/{timeout}"),
            amount=usd(amount),
            note=None,
            transaction_timeout_minutes=timeout,
            capture_now=capture_now,
            soft_descriptor=None,
            simulated=simulated,
            sandbox_path=sandbox_path,
        )

    def authorize(self, order_id: str, amount: str, **options: object) -> Authorization:
        return self.authorize_and_tell(order_id, amount, **options)[0]  # type: ignore[arg-type]

    def capture(
        self, authorization_id: str, amount: str, *, ref: str | None = None, simulated: Outcome | None = None
    ):
        ref = ref or f"cap{next(_refs)}"
        return self.engine.capture(
            SELLER,
            authorization_id,
            origin=Origin("Capture", ref, f"{authorization_id}/{amount}"),
            amount=usd(amount),
            note=None,
            soft_descriptor=None,
            simulated=simulated,
        )

    def refund(
        self, capture_id: str, amount: str, *, ref: str | None = None, simulated: Outcome | None = None
    ):
        ref = ref or f"ref{next(_refs)}"
        return self.engine.refund(
            SELLER,
            capture_id,
            origin=Origin("Refund", ref, f"{capture_id}/{amount}"),
            amount=usd(amount),
            note=None,
            soft_descriptor=None,
            simulated=simulated,
        )

    def state(self, object_id: str) -> tuple[str, str | None]:
        status = self.engine.find(object_id).status  # type: ignore[union-attr]
        return status.state, status.reason_code

    def captured(self, order_id: str, amount: str = "100.00") -> str:
        authorization = self.authorize(order_id, amount)
        return self.capture(authorization.id, amount).id


@pytest.fixture
def world() -> World:
    return World()


def refused(code: str):
    return pytest.raises(AmazonError, match=rf"^{code}:")


# -- order references ------------------------------------------------------------------------------


def test_an_order_reference_without_address_or_payment_method_cannot_be_confirmed(world: World):
    order_id = world.draft(destination=None, payment_method=None)
    with refused("ConstraintsExist") as failure:
        world.engine.confirm_order_reference(SELLER, order_id)
    assert "ShippingAddressNotSet" in str(failure.value) and "PaymentPlanNotSet" in str(failure.value)
    assert world.state(order_id) == ("Draft", None)


def test_confirming_opens_the_order_reference(world: World):
    order_id = world.open_order()
    assert world.state(order_id) == ("Open", None)


def test_an_open_order_reference_can_no_longer_take_new_details(world: World):
    order_id = world.open_order()
    with refused("OrderReferenceNotModifiable"):
        world.engine.set_order_reference_details(
            SELLER,
            order_id,
            order_total=usd("1.00"),
            simulated_constraint=None,
            attributes={},
        )


def set_details(world: World, order_id: str, **attributes: str | None) -> None:
    """SetOrderReferenceDetails as the operation calls it: `attributes` holds what was sent."""
    note = attributes.get("seller_note")
    constraint = "PaymentMethodNotAllowed" if note and "SandboxSimulation" in note else None
    world.engine.set_order_reference_details(
        SELLER, order_id, order_total=usd("100.00"), simulated_constraint=constraint, attributes=attributes
    )


SIMULATED_CONSTRAINT = '{"SandboxSimulation": {"Constraint":"PaymentMethodNotAllowed"}}'


def test_details_sent_without_a_seller_note_keep_the_note_and_its_simulated_constraint(world: World):
    order_id = world.draft()
    set_details(world, order_id, seller_note=SIMULATED_CONSTRAINT)
    set_details(world, order_id, seller_order_id="order-9")
    order = world.engine.get_order_reference(SELLER, order_id)
    assert (order.seller_note, order.simulated_constraint) == (
        SIMULATED_CONSTRAINT,
        "PaymentMethodNotAllowed",
    )
    with refused("ConstraintsExist"):
        world.engine.confirm_order_reference(SELLER, order_id)
    set_details(world, order_id, seller_note=None)  # sent, but empty: overwritten
    order = world.engine.get_order_reference(SELLER, order_id)
    assert (order.seller_note, order.simulated_constraint) == (None, None)
    world.engine.confirm_order_reference(SELLER, order_id)


def test_confirming_an_open_order_reference_again_changes_nothing(world: World):
    order_id = world.open_order()
    opened = world.engine.get_order_reference(SELLER, order_id)
    world.changes.clear()
    world.later(minutes=5)
    assert world.engine.confirm_order_reference(SELLER, order_id) == opened
    assert world.changes == []


@pytest.mark.parametrize("end", ["cancel", "close"])
def test_a_canceled_or_closed_order_reference_cannot_be_confirmed(world: World, end: str):
    order_id = world.open_order()
    if end == "cancel":
        world.engine.cancel_order_reference(SELLER, order_id, None)
    else:
        world.engine.close_order_reference(SELLER, order_id, None, None)
    with refused("InvalidOrderReferenceStatus"):
        world.engine.confirm_order_reference(SELLER, order_id)


def test_canceling_an_order_reference_the_seller_canceled_again_changes_nothing(world: World):
    order_id = world.open_order()
    canceled = world.engine.cancel_order_reference(SELLER, order_id, "out of stock")
    world.changes.clear()
    world.later(minutes=5)
    assert world.engine.cancel_order_reference(SELLER, order_id, "another reason") == canceled
    assert world.changes == []
    assert world.engine.get_order_reference(SELLER, order_id).status.reason_description == "out of stock"


def test_an_order_reference_amazon_canceled_as_stale_cannot_be_canceled(world: World):
    order_id = world.draft()
    world.later(hours=3, seconds=1)
    assert world.state(order_id) == ("Canceled", "Stale")
    with refused("InvalidOrderReferenceStatus"):
        world.engine.cancel_order_reference(SELLER, order_id, None)


def test_after_confirmation_seller_attributes_may_be_added_but_not_changed(world: World):
    order_id = world.open_order()
    world.engine.set_order_attributes(
        SELLER, order_id, order_total=None, simulated_constraint=None, attributes={"seller_order_id": "42"}
    )
    with refused("OrderReferenceNotModifiable"):
        world.engine.set_order_attributes(
            SELLER,
            order_id,
            order_total=None,
            simulated_constraint=None,
            attributes={"seller_order_id": "43"},
        )
    with refused("OrderReferenceNotModifiable"):
        world.engine.set_order_attributes(
            SELLER, order_id, order_total=usd("5.00"), simulated_constraint=None, attributes={}
        )


def test_another_sellers_order_reference_is_invalid(world: World):
    order_id = world.open_order()
    with refused("InvalidOrderReferenceId"):
        world.engine.get_order_reference("A2SOMEBODYELSE", order_id)


def test_an_unconfirmed_draft_is_canceled_as_stale_after_three_hours(world: World):
    order_id = world.draft()
    world.later(hours=2, minutes=59)
    assert world.state(order_id) == ("Draft", None)
    world.later(minutes=2)
    assert world.state(order_id) == ("Canceled", "Stale")


def test_an_open_order_reference_expires_after_180_days(world: World):
    order_id = world.open_order()
    world.later(days=179)
    assert world.state(order_id) == ("Open", None)
    world.later(days=1, seconds=1)
    assert world.state(order_id) == ("Closed", "Expired")


def test_a_draft_cannot_be_canceled_or_closed(world: World):
    order_id = world.draft()
    with refused("InvalidOrderReferenceStatus"):
        world.engine.cancel_order_reference(SELLER, order_id, None)
    with refused("InvalidOrderReferenceStatus"):
        world.engine.close_order_reference(SELLER, order_id, None, None)


def test_canceling_closes_open_and_pending_authorizations(world: World):
    order_id = world.open_order()
    open_one = world.authorize(order_id, "10.00")
    pending_one = world.authorize(order_id, "10.00", timeout=60)
    world.engine.cancel_order_reference(SELLER, order_id, "out of stock")
    assert world.state(order_id) == ("Canceled", "SellerCanceled")
    assert world.state(open_one.id) == ("Closed", "OrderReferenceCanceled")
    assert world.state(pending_one.id) == ("Closed", "OrderReferenceCanceled")
    world.later(minutes=5)
    assert world.state(pending_one.id) == ("Closed", "OrderReferenceCanceled")  # never settles now


def test_an_order_reference_with_a_capture_cannot_be_canceled(world: World):
    order_id = world.open_order()
    world.captured(order_id, "10.00")
    with refused("InvalidOrderReferenceStatus"):
        world.engine.cancel_order_reference(SELLER, order_id, None)


def test_closing_keeps_open_authorizations_capturable(world: World):
    order_id = world.open_order()
    authorization = world.authorize(order_id, "50.00")
    world.engine.close_order_reference(SELLER, order_id, "shipped", None)
    assert world.state(order_id) == ("Closed", "SellerClosed")
    assert world.capture(authorization.id, "50.00").status.state == "Completed"
    with refused("InvalidOrderReferenceStatus"):
        world.authorize(order_id, "1.00")


# -- authorizations --------------------------------------------------------------------------------


@pytest.mark.parametrize("sandbox_path", [True, False], ids=["sandbox-path", "live-path"])
def test_a_synchronous_authorization_is_open_at_once_and_reports_30_days_to_expiry(
    world: World, sandbox_path: bool
):
    authorization = world.authorize(world.open_order(), "100.00", sandbox_path=sandbox_path)
    assert (authorization.status.state, authorization.expires - authorization.created) == (
        "Open",
        timedelta(days=30),
    )


def test_an_unused_authorization_closes_after_two_days_on_the_sandbox_path(world: World):
    authorization = world.authorize(world.open_order(), "100.00", sandbox_path=True)
    world.later(days=1, hours=23, minutes=59)
    assert world.state(authorization.id) == ("Open", None)
    world.later(minutes=1, seconds=1)
    assert world.state(authorization.id) == ("Closed", "ExpiredUnused")


def test_an_unused_authorization_closes_after_30_days_on_the_live_path(world: World):
    authorization = world.authorize(world.open_order(), "100.00", sandbox_path=False)
    world.later(days=29, hours=23, minutes=59)
    assert world.state(authorization.id) == ("Open", None)
    world.later(minutes=1, seconds=1)
    assert world.state(authorization.id) == ("Closed", "ExpiredUnused")


@pytest.mark.parametrize("sandbox_path", [True, False], ids=["sandbox-path", "live-path"])
def test_a_configured_authorization_expiry_wins_on_both_paths(sandbox_path: bool):
    world = World(authorization_expiry=timedelta(days=10))
    authorization = world.authorize(world.open_order(), "100.00", sandbox_path=sandbox_path)
    world.later(days=9, hours=23)
    assert world.state(authorization.id) == ("Open", None)
    world.later(hours=1, seconds=1)
    assert world.state(authorization.id) == ("Closed", "ExpiredUnused")


def test_an_asynchronous_authorization_is_pending_until_amazon_decides(world: World):
    order_id = world.open_order()
    authorization = world.authorize(order_id, "100.00", timeout=1440)
    assert authorization.status.state == "Pending"
    world.later(seconds=31)
    assert world.state(authorization.id) == ("Open", None)


def test_an_authorization_that_cannot_settle_within_its_timeout_times_out():
    world = World(authorization_settle=timedelta(minutes=10))
    order_id = world.open_order()
    authorization = world.authorize(order_id, "100.00", timeout=5)
    world.later(minutes=11)
    assert world.state(authorization.id) == ("Declined", "TransactionTimedOut")
    assert world.state(order_id) == ("Open", None)


def test_an_authorization_needs_an_open_order_reference(world: World):
    with refused("InvalidOrderReferenceStatus"):
        world.authorize(world.draft(), "10.00")


def test_authorizing_more_than_the_order_total_plus_allowance_is_refused(world: World):
    order_id = world.open_order("100.00")
    world.authorize(order_id, "100.00")
    world.authorize(order_id, "15.00")  # 15% over is Amazon's allowance
    with refused("TransactionAmountExceeded") as failure:
        world.authorize(order_id, "0.01")
    # Worded as Amazon words it (a live reply quoted in docs/amazon-pay-v1.md §4).
    assert str(failure.value).endswith(
        f"OrderReference {order_id} has already been authorized for amount 115.00 USD. A new "
        "Authorization with amount 0.01 USD cannot be accepted as the total Authorization amount "
        "cannot exceed 115.00 USD."
    )


def test_a_closed_unused_authorization_frees_its_amount(world: World):
    order_id = world.open_order("100.00")
    first = world.authorize(order_id, "100.00")
    world.engine.close_authorization(SELLER, first.id, "customer changed the order")
    assert world.authorize(order_id, "100.00").status.state == "Open"


def test_the_26th_authorization_on_an_order_reference_is_refused(world: World):
    order_id = world.open_order("100.00")
    for _ in range(25):
        world.authorize(order_id, "1.00")
    with refused("TransactionCountExceeded"):
        world.authorize(order_id, "1.00")


def test_the_authorization_currency_must_match_the_order_total(world: World):
    order_id = world.open_order()
    with refused("CurrencyMismatch"):
        world.engine.authorize(
            SELLER,
            order_id,
            origin=Origin("Authorize", "eur", "x"),
            amount=Amount(Decimal(1), "EUR"),
            note=None,
            transaction_timeout_minutes=0,
            capture_now=False,
            soft_descriptor=None,
            simulated=None,
            sandbox_path=True,
        )


def test_an_invalid_payment_method_suspends_the_order_until_the_buyer_fixes_it(world: World):
    order_id = world.open_order()
    authorization = world.authorize(
        order_id,
        "10.00",
        simulated=Outcome("Declined", "InvalidPaymentMethod", payment_method_update_minutes=5),
    )
    assert (authorization.status.state, authorization.soft_decline) == ("Declined", False)
    assert world.state(order_id) == ("Suspended", "InvalidPaymentMethod")
    with refused("InvalidOrderReferenceStatus"):
        world.authorize(order_id, "10.00")
    world.later(minutes=5)
    assert world.state(order_id) == ("Open", None)


def test_an_amazon_rejected_authorization_closes_the_order_reference(world: World):
    order_id = world.open_order()
    world.authorize(order_id, "10.00", simulated=Outcome("Declined", "AmazonRejected"))
    assert world.state(order_id) == ("Closed", "AmazonClosed")


def test_a_timed_out_authorization_leaves_the_order_reference_open(world: World):
    order_id = world.open_order()
    world.authorize(order_id, "10.00", simulated=Outcome("Declined", "TransactionTimedOut"))
    assert world.state(order_id) == ("Open", None)


def test_a_declined_wallet_declines_every_authorization(world: World):
    order_id = world.open_order(payment_method="declined")
    assert world.authorize(order_id, "10.00").status.reason_code == "InvalidPaymentMethod"
    world.engine.change_payment_method(order_id, "valid")
    assert world.state(order_id) == ("Open", None)
    assert world.authorize(order_id, "10.00").status.state == "Open"


def test_a_simulated_expiry_closes_the_authorization_after_the_given_minutes(world: World):
    order_id = world.open_order()
    authorization = world.authorize(
        order_id, "10.00", simulated=Outcome("Closed", "ExpiredUnused", expiration_minutes=1)
    )
    assert authorization.status.state == "Open"
    world.later(seconds=61)
    assert world.state(authorization.id) == ("Closed", "ExpiredUnused")


def test_capture_now_closes_the_authorization_with_a_completed_capture_of_the_same_number(world: World):
    order_id = world.open_order()
    authorization = world.authorize(order_id, "100.00", capture_now=True)
    assert (authorization.status.state, authorization.status.reason_code) == (
        "Closed",
        "MaxCapturesProcessed",
    )
    (capture_id,) = authorization.capture_ids
    assert capture_id == authorization.id.replace("-A", "-C")
    assert world.state(capture_id) == ("Completed", None)


# -- captures --------------------------------------------------------------------------------------


def test_one_capture_closes_the_authorization(world: World):
    order_id = world.open_order()
    authorization = world.authorize(order_id, "100.00")
    capture = world.capture(authorization.id, "60.00")
    assert capture.status.state == "Completed"
    assert world.state(authorization.id) == ("Closed", "MaxCapturesProcessed")
    assert world.engine.find(authorization.id).captured == usd("60.00")  # type: ignore[union-attr]
    with refused("InvalidAuthorizationStatus"):
        world.capture(authorization.id, "40.00")


def test_a_capture_may_not_exceed_the_authorized_amount(world: World):
    authorization = world.authorize(world.open_order(), "50.00")
    with refused("TransactionAmountExceeded"):
        world.capture(authorization.id, "50.01")


@pytest.mark.parametrize(
    ("timeout", "simulated"),
    [(60, None), (0, Outcome("Declined", "AmazonRejected"))],
    ids=["pending", "declined"],
)
def test_only_an_open_authorization_can_be_captured(world: World, timeout: int, simulated: Outcome | None):
    order_id = world.open_order()
    authorization = world.authorize(order_id, "10.00", timeout=timeout, simulated=simulated)
    with refused("InvalidAuthorizationStatus"):
        world.capture(authorization.id, "10.00")


def test_a_capture_more_than_seven_days_after_authorizing_is_pending_first(world: World):
    # Only live authorizations live that long; Amazon's sandbox closes them after two days.
    authorization = world.authorize(world.open_order(), "10.00", sandbox_path=False)
    world.later(days=8)
    capture = world.capture(authorization.id, "10.00")
    assert capture.status.state == "Pending"
    world.later(seconds=31)
    assert world.state(capture.id) == ("Completed", None)


def test_capturing_up_to_the_ceiling_closes_the_order_reference_as_max_amount_charged(world: World):
    order_id = world.open_order("100.00")
    world.captured(order_id, "100.00")
    assert world.state(order_id) == ("Open", None)
    world.captured(order_id, "15.00")
    assert world.state(order_id) == ("Closed", "MaxAmountCharged")


# -- refunds ---------------------------------------------------------------------------------------


def test_a_refund_is_pending_then_completes_and_counts_in_refunded_amount(world: World):
    capture_id = world.captured(world.open_order())
    refund = world.refund(capture_id, "30.00")
    assert refund.status.state == "Pending"
    assert world.engine.find(capture_id).refunded == usd("0.00")  # type: ignore[union-attr]
    world.later(seconds=31)
    assert world.state(refund.id) == ("Completed", None)
    assert world.engine.find(capture_id).refunded == usd("30.00")  # type: ignore[union-attr]


def test_refunds_may_exceed_the_capture_by_the_allowance_and_no_more(world: World):
    capture_id = world.captured(world.open_order("100.00"))
    world.refund(capture_id, "100.00")
    world.refund(capture_id, "15.00")
    with refused("TransactionAmountExceeded"):
        world.refund(capture_id, "0.01")


def test_the_allowance_on_a_large_capture_is_75_dollars(world: World):
    capture_id = world.captured(world.open_order("1000.00"), "1000.00")
    with refused("TransactionAmountExceeded"):
        world.refund(capture_id, "1075.01")
    world.refund(capture_id, "1075.00")


def test_a_declined_refund_frees_its_amount(world: World):
    capture_id = world.captured(world.open_order("100.00"))
    world.refund(capture_id, "100.00", simulated=Outcome("Declined", "AmazonRejected"))
    world.later(seconds=31)
    world.refund(capture_id, "100.00")


def test_the_tenth_refund_closes_the_capture_and_an_eleventh_is_refused(world: World):
    capture_id = world.captured(world.open_order())
    for _ in range(10):
        world.refund(capture_id, "1.00")
    assert world.state(capture_id) == ("Closed", "MaxRefundsProcessed")
    with refused("CaptureNotRefundable"):
        world.refund(capture_id, "1.00")


def test_refunding_up_to_the_ceiling_closes_the_capture_as_max_amount_refunded(world: World):
    capture_id = world.captured(world.open_order("100.00"))
    world.refund(capture_id, "115.00")
    world.later(seconds=31)
    assert world.state(capture_id) == ("Closed", "MaxAmountRefunded")


def test_a_declined_capture_cannot_be_refunded(world: World):
    authorization = world.authorize(world.open_order(), "10.00")
    capture = world.capture(authorization.id, "10.00", simulated=Outcome("Declined", "AmazonRejected"))
    with refused("CaptureNotRefundable"):
        world.refund(capture.id, "1.00")


# -- reference ids ---------------------------------------------------------------------------------


def test_the_same_reference_id_and_parameters_give_the_same_authorization_back(world: World):
    order_id = world.open_order()
    first, created = world.authorize_and_tell(order_id, "10.00", ref="same", fingerprint="same-params")
    again, created_again = world.authorize_and_tell(order_id, "10.00", ref="same", fingerprint="same-params")
    assert again.id == first.id
    assert (created, created_again) == (True, False)
    assert len(world.engine.find(order_id).authorization_ids) == 1  # type: ignore[union-attr]


def test_the_same_reference_id_with_other_parameters_is_a_duplicate_request(world: World):
    order_id = world.open_order()
    world.authorize(order_id, "10.00", ref="same", fingerprint="amount=10.00")
    with refused("DuplicateRequest"):
        world.authorize(order_id, "11.00", ref="same", fingerprint="amount=11.00")


def test_a_reference_id_used_by_another_operation_is_a_duplicate_reference_id(world: World):
    order_id = world.open_order()
    authorization = world.authorize(order_id, "10.00", ref="shared")
    with refused("DuplicateReferenceId"):
        world.capture(authorization.id, "10.00", ref="shared")


def test_a_replayed_capture_returns_the_capture_even_though_the_authorization_is_now_closed(world: World):
    authorization = world.authorize(world.open_order(), "10.00")
    first = world.capture(authorization.id, "10.00", ref="cap-once")
    assert world.capture(authorization.id, "10.00", ref="cap-once").id == first.id


# -- notifications ---------------------------------------------------------------------------------


def test_every_state_change_is_reported_to_listeners_once(world: World):
    order_id = world.open_order()
    world.changes.clear()
    authorization = world.authorize(order_id, "10.00", timeout=60)
    world.later(seconds=31)
    moved = [(c.after.id, c.after.status.state) for c in world.changes if c.moved]
    assert moved == [(authorization.id, "Pending"), (authorization.id, "Open")]
