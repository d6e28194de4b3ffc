"""Small builders for payments in the pure core's tests."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from paydesk.payments.money import Money
from paydesk.payments.payment import Payment, PaymentMode, Transaction
from paydesk.payments.states import Kind

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
ORO = "S01-1234567-1234567"


def usd(amount: str) -> Money:
    return Money(Decimal(amount), "USD")


def auth(state="Open", amount="100.00", n=1, reason=None, notified=True, expires_in_days=30, **kw):
    return Transaction(
        kind=Kind.AUTHORIZATION,
        reference_id=f"auth-{n}",
        amount=usd(amount),
        state=state,
        amazon_id=f"{ORO}-A00000{n}",
        reason_code=reason,
        requested_at=NOW - timedelta(hours=1),
        last_updated=NOW - timedelta(hours=1),
        expires_at=NOW + timedelta(days=expires_in_days),
        notified=notified,
        **kw,
    )


def capture(state="Completed", amount="100.00", n=1, auth_n=1, notified=True, **kw):
    return Transaction(
        kind=Kind.CAPTURE,
        reference_id=f"cap-{n}",
        amount=usd(amount),
        state=state,
        amazon_id=f"{ORO}-C00000{n}",
        parent_id=f"{ORO}-A00000{auth_n}",
        requested_at=NOW - timedelta(minutes=30),
        last_updated=NOW - timedelta(minutes=30),
        notified=notified,
        **kw,
    )


def refund(state="Completed", amount="10.00", n=1, capture_n=1, notified=True, **kw):
    return Transaction(
        kind=Kind.REFUND,
        reference_id=f"ref-{n}",
        amount=usd(amount),
        state=state,
        amazon_id=f"{ORO}-R0000{n:02d}",
        parent_id=f"{ORO}-C00000{capture_n}",
        requested_at=NOW - timedelta(minutes=10),
        last_updated=NOW - timedelta(minutes=10),
        notified=notified,
        **kw,
    )


def payment(*transactions, total="100.00", oro_state="Open", mode=PaymentMode.AUTHORIZE_THEN_CAPTURE, **kw):
    return Payment(
        order_total=usd(total),
        mode=mode,
        order_reference_state=oro_state,
        transactions=tuple(transactions),
        **kw,
    )
