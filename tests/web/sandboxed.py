"""A running offline sandbox and a store configured to use it, for service and browser tests."""

from __future__ import annotations

import httpx

from paydesk.amazonpay import services
from paydesk.amazonpay.client import AmazonPayClient
from paydesk.amazonpay.models import AmazonPaySettings, Environment
from paydesk.amazonpay.retry import RetryPolicy
from paydesk.sandbox import DEMO_ACCESS_KEY, DEMO_SECRET_KEY, DEMO_SELLER_ID

# Retries as in production, but fast: the sandbox's faults are instant.
FAST_RETRY = RetryPolicy(max_attempts=3, base_delay=0.02, max_delay=0.1, max_total=3)


def configure_store(
    sandbox, *, payment_mode="authorize_then_capture", authorization_mode="sync"
) -> AmazonPaySettings:
    settings = AmazonPaySettings.load()
    settings.environment = Environment.OFFLINE_SANDBOX
    settings.offline_sandbox_url = sandbox.url
    settings.seller_id = DEMO_SELLER_ID
    settings.access_key = DEMO_ACCESS_KEY
    settings.secret_key = DEMO_SECRET_KEY
    settings.payment_mode = payment_mode
    settings.authorization_mode = authorization_mode
    settings.currency = "USD"
    settings.save()
    return settings


def fast_client_factory(sandbox):
    client = AmazonPayClient(
        seller_id=DEMO_SELLER_ID,
        access_key=DEMO_ACCESS_KEY,
        secret_key=DEMO_SECRET_KEY,
        base_url=sandbox.url,
        retry=FAST_RETRY,
        timeout=httpx.Timeout(2.0),
    )
    return lambda settings: client


def use_fast_client(sandbox) -> None:
    services.use_client_factory(fast_client_factory(sandbox))
