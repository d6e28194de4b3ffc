"""The Amazon Pay client for the store's current settings.

Clients keep a pool of connections, so one is built per distinct configuration and reused;
saving new settings builds a new one on the next call.

Every client built here paces its requests through the seller's shared quota
(`paydesk.amazonpay.quota`): on PostgreSQL the buckets are rows every Paydesk process on every
machine takes from, on SQLite (one process) they live in this process. And every reply passes
a meter, so RequestThrottled answers are counted (`quota.METER`) even though the client retries
them.
"""

from __future__ import annotations

import threading
from urllib.parse import parse_qs

import httpx
from django.core.signals import request_finished

from paydesk.amazonpay.client import DEFAULT_TIMEOUT, AmazonPayClient
from paydesk.amazonpay.models import AmazonPaySettings, Environment
from paydesk.amazonpay.quota import (
    METER,
    LocalBuckets,
    Meter,
    PostgresBuckets,
    SharedQuota,
    close_thread_connections,
)
from paydesk.amazonpay.retry import RetryPolicy

_lock = threading.Lock()
_clients: dict[tuple, AmazonPayClient] = {}
_quotas: dict[tuple[str, str], SharedQuota] = {}


def _close_bucket_connections(**kwargs) -> None:
    close_thread_connections()


# A web thread's connection to the shared quota buckets lasts one request, like Django's own.
request_finished.connect(_close_bucket_connections, dispatch_uid="paydesk.amazonpay.quota")

# How long a person (a staff click, an IPN) may wait for a quota token before the request goes
# out anyway; Amazon's own throttling, retried by the client, then decides.
INTERACTIVE_MAX_WAIT = 10.0


class MeteredTransport(httpx.BaseTransport):
    """Counts every request to Amazon and every RequestThrottled reply, per operation."""

    def __init__(self, inner: httpx.BaseTransport | None = None, *, meter: Meter = METER):
        self._inner = inner or httpx.HTTPTransport()
        self._meter = meter

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        operation = _operation_of(request)
        self._meter.count("sent", operation)
        response = self._inner.handle_request(request)
        # Amazon answers a throttled request with HTTP 503 and the code RequestThrottled
        # (docs/amazon-pay-v1.md §5.2); 503 ServiceUnavailable is something else.
        if response.status_code == 503:
            response.read()
            if b"RequestThrottled" in response.content:
                self._meter.count("throttled", operation)
        return response

    def close(self) -> None:
        self._inner.close()


def _operation_of(request: httpx.Request) -> str:
    try:
        return parse_qs(request.content.decode("utf-8"))["Action"][0]
    except (KeyError, IndexError, UnicodeDecodeError):
        return "?"


def quota_account(settings: AmazonPaySettings) -> str:
    """Whose buckets: Amazon counts quotas per seller, separately for sandbox and live."""
    return f"{settings.seller_id}:{settings.environment}"


def shared_quota(settings: AmazonPaySettings) -> SharedQuota:
    """This process's rate limiter for the seller in `settings` (one per seller and environment,
    kept across clients so that rebuilding a client does not refill its buckets)."""
    from django.db import connection

    key = (quota_account(settings), connection.vendor)
    with _lock:
        quota = _quotas.get(key)
        if quota is None:
            store = PostgresBuckets(key[0]) if connection.vendor == "postgresql" else LocalBuckets()
            quota = SharedQuota.for_amazon(
                store,
                sandbox=settings.environment != Environment.LIVE,
                max_wait=INTERACTIVE_MAX_WAIT,
            )
            _quotas[key] = quota
        return quota


def build_client(
    settings: AmazonPaySettings,
    *,
    retry: RetryPolicy | None = None,
    timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
    rate_limiter: SharedQuota | None = None,
) -> AmazonPayClient:
    """A new client for `settings`, paced by the seller's shared quota and metered. Tests and
    benchmarks use it for faster retries; the service uses `client_for`."""
    offline = settings.environment == Environment.OFFLINE_SANDBOX
    return AmazonPayClient(
        seller_id=settings.seller_id,
        access_key=settings.access_key,
        secret_key=settings.secret_key,
        region=settings.region,
        sandbox=settings.environment != Environment.LIVE,
        base_url=settings.offline_sandbox_url.rstrip("/") if offline else None,
        retry=retry,
        timeout=timeout,
        rate_limiter=rate_limiter if rate_limiter is not None else shared_quota(settings),
        transport=MeteredTransport(),
    )


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
        client = build_client(settings)
        with _lock:
            if key in _clients:  # another thread built one meanwhile
                client.close()
            else:
                # Requests in flight may still use the old client: drop it, do not close it.
                _clients.clear()
                _clients[key] = client
            client = _clients[key]
    return client
