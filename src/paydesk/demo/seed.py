"""Orders in varied states, made the way real ones are: through the demo shop's checkout
against the sandbox, then the staff actions of the order page (the one payment service)."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from paydesk.amazonpay import services
from paydesk.amazonpay.models import AmazonPaySettings, Payment
from paydesk.orders.models import Order
from paydesk.payments.money import Money
from paydesk.sandbox.model import Address, Buyer
from paydesk.shop.catalog import PRODUCTS, SHIPPING, demo_price

STAFF = services.Actor(services.Source.STAFF, "demo")
BUYERS = [
    ("Ada Lovelace", "ada@example.com"),
    ("Grace Hopper", "grace@example.org"),
    ("Alan Turing", "alan@example.net"),
    ("Katherine Johnson", "katherine@example.com"),
    ("Edsger Dijkstra", "edsger@example.org"),
    ("Barbara Liskov", "barbara@example.com"),
    ("Donald Knuth", "don@example.net"),
    ("Margaret Hamilton", "margaret@example.com"),
    ("Ken Thompson", "ken@example.org"),
    ("Frances Allen", "frances@example.com"),
]

ADDRESSES = [
    ("410 Terry Ave N", "Seattle", "WA", "98109"),
    ("1 Main Street", "Cambridge", "MA", "02142"),
    ("77 Massachusetts Ave", "Boston", "MA", "02139"),
    ("500 Oracle Pkwy", "Redwood City", "CA", "94065"),
    ("2 Penn Plaza", "New York", "NY", "10121"),
]


@dataclass(frozen=True)
class Plan:
    story: str
    count: int


PLANS = (
    Plan("authorized", 5),
    Plan("captured", 4),
    Plan("fulfilled", 1),
    Plan("refunded", 2),
    Plan("declined", 2),
    Plan("voided", 1),
    Plan("capture-pending", 1),
    Plan("pending-without-ipn", 2),
    Plan("captured-without-ipn", 2),
)


def _checkout(sandbox, rng: random.Random, *, payment_method: str = "valid") -> Order:
    settings = AmazonPaySettings.load()
    currency = settings.currency
    picks = rng.sample(PRODUCTS, k=rng.randint(1, 3))
    lines = [services.CartLine(p.sku, p.name, rng.randint(1, 3), p.price_in(currency)) for p in picks]
    shipping = demo_price(SHIPPING, currency)
    total = shipping
    for line in lines:
        total = total + Money(line.unit_price.amount * line.quantity, currency)
    name, email = rng.choice(BUYERS)
    street, city, region, postal = rng.choice(ADDRESSES)
    reference = sandbox.create_order_reference(
        amount=total.to_amazon(),
        currency=currency,
        payment_method=payment_method,
        buyer=Buyer(name=name, email=email, phone="800-555-0100"),
        address=Address(
            name=name,
            address_line1=street,
            city=city,
            state_or_region=region,
            postal_code=postal,
            country_code="US",
        ),
    )
    order, _ = services.checkout(
        reference, lines=lines, shipping=shipping, customer_name=name, customer_email=email
    )
    return order


def _payment(order: Order) -> Payment:
    return Payment.objects.get(order=order)


def seed(sandbox, *, orders: int = 20, seed_value: int = 7, log=print) -> list[Order]:
    """Make about `orders` orders (the plan's mix, scaled). Uses the running sandbox's control
    API for what a real buyer or Amazon would do (declining a card, losing an IPN)."""
    rng = random.Random(seed_value)  # noqa: S311 - demo data, not secrets
    scale = orders / sum(p.count for p in PLANS)
    made: list[Order] = []
    settings = AmazonPaySettings.load()
    for plan in PLANS:
        for _ in range(max(1, round(plan.count * scale)) if orders else 0):
            made.append(_make(plan.story, sandbox, rng, settings))
            log(f"  order #{made[-1].number}: {plan.story}")
    # Spread the orders over the last weeks, newest last, as a real shop's list looks.
    now = timezone.now()
    for age, order in enumerate(reversed(made)):
        Order.objects.filter(pk=order.pk).update(
            placed_at=now - timedelta(days=age * 1.3, minutes=rng.randint(0, 600))
        )
    return made


def _wait_until_decided(sandbox, order: Order, *, timeout: float = 30.0) -> None:
    authorization = _payment(order).transactions.get(kind="authorization").amazon_id
    deadline = time.monotonic() + timeout
    while sandbox.object_state(authorization)["status"]["state"] == "Pending":
        if time.monotonic() > deadline:
            raise RuntimeError(f"the sandbox did not decide authorization {authorization} in {timeout} s")
        time.sleep(0.2)


def _make(story: str, sandbox, rng: random.Random, settings: AmazonPaySettings) -> Order:
    if story == "declined":
        return _checkout(sandbox, rng, payment_method="declined")
    if story in ("pending-without-ipn", "captured-without-ipn"):
        # Amazon's notifications for these never arrive (as when IPN is not configured):
        # the order page offers Refresh status.
        sandbox.wait_for_ipn_idle(timeout=30)
        sandbox.configure_ipn(enabled=False)
        try:
            if story == "pending-without-ipn":
                settings.authorization_mode = "async"
                settings.save()
                try:
                    order = _checkout(sandbox, rng)
                finally:
                    settings.authorization_mode = "sync"
                    settings.save()
                # Amazon decides a few seconds later; Paydesk hears nothing of it.
                _wait_until_decided(sandbox, order)
            else:
                order = _checkout(sandbox, rng)
                services.capture(_payment(order).pk, actor=STAFF)
        finally:
            sandbox.configure_ipn(enabled=True)
        return order
    order = _checkout(sandbox, rng)
    payment = _payment(order)
    if story in ("captured", "fulfilled", "refunded"):
        services.capture(payment.pk, actor=STAFF)
    if story == "fulfilled":
        services.mark_fulfilled(payment.pk, actor=STAFF)
    if story == "refunded":
        services.refund(payment.pk, actor=STAFF)
    if story == "voided":
        services.void(payment.pk, actor=STAFF)
    if story == "capture-pending":
        services.capture(payment.pk, actor=STAFF, seller_note='{"SandboxSimulation": {"State":"Pending"}}')
    order.refresh_from_db()
    return order
