"""The Amazon Pay client for the store's current settings.

Clients keep a pool of connections, so one is built per distinct configuration and reused;
saving new settings builds a new one on the next call.
"""

from __future__ import annotations

import threading

from paydesk.amazonpay.client import AmazonPayClient
from paydesk.amazonpay.models import AmazonPaySettings, Environment
from paydesk.amazonpay.retry import TokenBucketRateLimiter

_lock = threading.Lock()
_clients: dict[tuple, AmazonPayClient] = {}


def client_for(settings: AmazonPaySettings) -> AmazonPayClient:
    offline = settings.environment == Environment.OFFLINE_SANDBOX
    key = (
        settings.environment,
        settings.offline_sandbox_url if offline else "",
        settings.seller_id,
        settings.access_key,
        settings.secret_key_sealed,
        settings.region,
    )
    with _lock:
        client = _clients.get(key)
        if client is None:
            # Requests in flight may still use the old client: drop it, do not close it.
            _clients.clear()
            client = AmazonPayClient(
                seller_id=settings.seller_id,
                access_key=settings.access_key,
                secret_key=settings.secret_key,
                region=settings.region,
                sandbox=settings.environment != Environment.LIVE,
                base_url=settings.offline_sandbox_url.rstrip("/") if offline else None,
                # Paces this process inside Amazon's per-operation quotas, so staff clicks and
                # refreshes wait a moment instead of being throttled.
                rate_limiter=TokenBucketRateLimiter.for_amazon(
                    sandbox=settings.environment != Environment.LIVE
                ),
            )
            _clients[key] = client
        return client
