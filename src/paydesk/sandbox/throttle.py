"""Amazon's request quotas: a token bucket per seller and operation.

Numbers from Amazon's throttling table (https://developer.amazon.com/docs/amazon-pay-api/
throttling-limits.html, repeated on every operation page; docs/amazon-pay-v1.md §5.3): a bucket
holds at most `quota` requests and refills at `restore` requests per second. The sandbox endpoint
has smaller buckets than the live one. Over the quota Amazon answers 503 RequestThrottled.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Quota:
    maximum: float
    restore_per_second: float


_WRITE_LIVE, _WRITE_SANDBOX = Quota(10, 1.0), Quota(2, 0.5)  # 1/s; 1 per 2 s
_READ_LIVE, _READ_SANDBOX = Quota(20, 2.0), Quota(5, 1.0)
_STATUS = Quota(2, 1 / 300)  # GetServiceStatus: 2, one more every 5 minutes, both endpoints

_WRITES = (
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
_READS = ("GetAuthorizationDetails", "GetCaptureDetails", "GetOrderReferenceDetails", "GetRefundDetails")


def quota_for(action: str, *, sandbox: bool) -> Quota:
    if action == "GetServiceStatus":
        return _STATUS
    if action in _READS:
        return _READ_SANDBOX if sandbox else _READ_LIVE
    if action in _WRITES:
        return _WRITE_SANDBOX if sandbox else _WRITE_LIVE
    raise KeyError(action)


class Throttle:
    """Thread-safe. `allow` spends one request from the (seller, operation, endpoint) bucket."""

    def __init__(self, enabled: bool = True, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.enabled = enabled
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str, bool], tuple[float, float]] = {}  # -> (tokens, at)

    def allow(self, seller_id: str, action: str, *, sandbox: bool) -> bool:
        if not self.enabled:
            return True
        quota = quota_for(action, sandbox=sandbox)
        key = (seller_id, action, sandbox)
        with self._lock:
            now = self._monotonic()
            tokens, at = self._buckets.get(key, (quota.maximum, now))
            tokens = min(quota.maximum, tokens + (now - at) * quota.restore_per_second)
            if tokens < 1:
                self._buckets[key] = (tokens, now)
                return False
            self._buckets[key] = (tokens - 1, now)
            return True

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()
