"""A store on the offline sandbox, orders placed through the payment service, and clients built
the production way (`connection.build_client`: shared quota, metered) with fast retries."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from paydesk.amazonpay import connection, services
from paydesk.amazonpay.models import Payment
from paydesk.amazonpay.quota import LocalBuckets, SharedQuota
from paydesk.amazonpay.retry import RetryPolicy
from paydesk.payments.money import Money
from tests.web.sandboxed import configure_store

STAFF = services.Actor(services.Source.STAFF, "olga")
FAST_RETRY = RetryPolicy(max_attempts=4, base_delay=0.05, max_delay=0.5, max_total=10)


def usd(text: str) -> Money:
    return Money(Decimal(text), "USD")


def place(sandbox, *, total="30.00", payment_method="valid"):
    """A checkout as the demo shop makes it: the buyer's order reference, then the store's calls."""
    reference = sandbox.create_order_reference(amount=total, currency="USD", payment_method=payment_method)
    order, result = services.checkout(
        reference,
        lines=[services.CartLine("MUG-1", "Mug", 1, usd(total) - usd("5.00"))],
        shipping=usd("5.00"),
    )
    return order, result, Payment.objects.get(order=order)


def unpaced_client(settings, *, timeout: float = 5.0, retry: RetryPolicy = FAST_RETRY):
    """The production client, metered, with fast retries and no pacing (most tests are not
    about quotas, and pacing at the sandbox's rates would only make them slow)."""
    return connection.build_client(
        settings,
        retry=retry,
        timeout=httpx.Timeout(timeout),
        rate_limiter=SharedQuota(LocalBuckets(), {}),
    )


@pytest.fixture(scope="session")
def sandbox():
    from paydesk.sandbox import IpnSettings, Sandbox, SandboxConfig

    with Sandbox(SandboxConfig(throttling=False, ipn=IpnSettings(enabled=False))) as running:
        yield running


@pytest.fixture
def store(db, sandbox):
    """The store configured for the sandbox; the test's database must be set up already."""
    sandbox.clear_faults()
    sandbox.set_throttling(False)
    settings = configure_store(sandbox)
    client = unpaced_client(settings)
    services.use_client_factory(lambda _settings: client)
    yield settings
    services.use_client_factory(None)
    client.close()
    sandbox.clear_faults()
    sandbox.set_throttling(False)
