"""How often, and how fast, the client asks Amazon: backoff for retries, token buckets for quotas.

Amazon throttles every operation per seller with a token bucket: a maximum quota of requests,
restored at a fixed rate, smaller in the sandbox (docs/amazon-pay-v1.md §5.3, from
developer.amazon.com/docs/amazon-pay-api/throttling-limits.html and each operation's page).
`TokenBucketRateLimiter` keeps one process inside those buckets; Amazon's SDKs instead wait
1, 4 and 10 seconds after a 500/503 (§5.4). Paydesk does both: it paces requests, and when
Amazon still answers 500/503/RequestThrottled it backs off exponentially with jitter, within a
bound on attempts and on total time.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounds and pacing of automatic retries.

    `max_attempts` counts the first try; `max_total` (seconds) bounds the time from the first
    try until the start of the last one, waits included; `base_delay` and `max_delay` shape the
    backoff (seconds).
    """

    max_attempts: int = 4
    base_delay: float = 1.0
    max_delay: float = 10.0
    max_total: float = 30.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts counts the first try, so it is at least 1")
        if self.base_delay < 0 or self.max_delay < self.base_delay or self.max_total < 0:
            raise ValueError("need 0 <= base_delay <= max_delay and max_total >= 0")

    def backoff(self, retry: int, *, uniform: Callable[[float, float], float] = random.uniform) -> float:
        """Seconds to wait before retry number `retry` (1 = the first retry).

        Exponential growth capped at `max_delay`, with "equal jitter": half of the step is
        fixed, half random, so concurrent clients spread out yet never retry at once (AWS
        Architecture Blog, "Exponential Backoff And Jitter", 2015). A floor matters here:
        Amazon restores throttled quotas at one request per second or slower, so an immediate
        retry would only be throttled again.
        """
        if retry < 1:
            raise ValueError("retry numbers start at 1")
        step = min(self.max_delay, self.base_delay * 2 ** (retry - 1))
        return step / 2 + uniform(0, step / 2)


NO_RETRY = RetryPolicy(max_attempts=1, base_delay=0, max_delay=0, max_total=0)


class RateLimiter(Protocol):
    """Blocks until one more request of `operation` (an Amazon Action name) may be sent."""

    def acquire(self, operation: str) -> None: ...


@dataclass(frozen=True, slots=True)
class Quota:
    """A token bucket: up to `max_requests` at once, one more every `restore_seconds`."""

    max_requests: int
    restore_seconds: float


_MONEY_AND_STATE_LIVE = Quota(10, 1.0)
_MONEY_AND_STATE_SANDBOX = Quota(2, 2.0)
_DETAILS_LIVE = Quota(20, 0.5)
_DETAILS_SANDBOX = Quota(5, 1.0)
_SERVICE_STATUS = Quota(2, 300.0)  # 1 request per 5 minutes, live and sandbox

_STATE_CHANGING = (
    "Authorize",
    "CancelOrderReference",
    "Capture",
    "CloseAuthorization",
    "CloseOrderReference",
    "ConfirmOrderReference",
    "Refund",
    "SetOrderAttributes",
    "SetOrderReferenceDetails",
)
_DETAILS = ("GetAuthorizationDetails", "GetCaptureDetails", "GetOrderReferenceDetails", "GetRefundDetails")

# Amazon's per-operation quotas (docs/amazon-pay-v1.md §5.3).
LIVE_QUOTAS: Mapping[str, Quota] = {
    **dict.fromkeys(_STATE_CHANGING, _MONEY_AND_STATE_LIVE),
    **dict.fromkeys(_DETAILS, _DETAILS_LIVE),
    "GetServiceStatus": _SERVICE_STATUS,
}
SANDBOX_QUOTAS: Mapping[str, Quota] = {
    **dict.fromkeys(_STATE_CHANGING, _MONEY_AND_STATE_SANDBOX),
    **dict.fromkeys(_DETAILS, _DETAILS_SANDBOX),
    "GetServiceStatus": _SERVICE_STATUS,
}


class TokenBucketRateLimiter:
    """An in-process `RateLimiter`: one token bucket per operation, thread-safe.

    Amazon counts quotas per seller account, across all of the seller's processes; this
    limiter only sees its own process, so several processes sharing a seller need a shared
    limiter (or smaller quotas each). Operations missing from the table are not limited.
    """

    def __init__(
        self,
        quotas: Mapping[str, Quota],
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        max_wait: float | None = None,
    ):
        """`max_wait` (seconds) bounds how long one `acquire` blocks: past it the request goes
        out anyway and Amazon's own throttling, retried with backoff, decides. A person waiting
        on a page (GetServiceStatus restores one request per 5 minutes) is not kept waiting."""
        self._max_wait = max_wait
        self._quotas = dict(quotas)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        now = clock()
        # operation -> (tokens, when they were counted); buckets start full, as Amazon's do.
        self._buckets = {name: (float(q.max_requests), now) for name, q in self._quotas.items()}

    @classmethod
    def for_amazon(cls, *, sandbox: bool, **kwargs: Any) -> TokenBucketRateLimiter:
        return cls(SANDBOX_QUOTAS if sandbox else LIVE_QUOTAS, **kwargs)

    def acquire(self, operation: str) -> None:
        quota = self._quotas.get(operation)
        if quota is None:
            return
        waited = 0.0
        while True:
            with self._lock:
                tokens, counted_at = self._buckets[operation]
                now = self._clock()
                tokens = min(float(quota.max_requests), tokens + (now - counted_at) / quota.restore_seconds)
                if tokens >= 1:
                    self._buckets[operation] = (tokens - 1, now)
                    return
                wait = (1 - tokens) * quota.restore_seconds
                if self._max_wait is not None and waited + wait > self._max_wait:
                    # Send without a token; the bucket stays where it is (never below zero).
                    self._buckets[operation] = (tokens, now)
                    return
                self._buckets[operation] = (tokens, now)
            self._sleep(wait)
            waited += wait
