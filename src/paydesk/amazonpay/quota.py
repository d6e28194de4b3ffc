"""Amazon's request quotas, shared by every Paydesk process that calls Amazon for one seller.

Amazon throttles each operation per seller with a token bucket (a maximum, restored at a fixed
rate; docs/amazon-pay-v1.md §5.3), counted across all of the seller's callers. So the buckets
must be shared too: on PostgreSQL they are rows of `amazonpay_quotabucket`, taken from with one
atomic UPDATE per request by every web process and reconcile worker on every machine
(`PostgresBuckets`); on SQLite, where Paydesk runs as one process, a lock-guarded dict does
(`LocalBuckets`). Both apply the same arithmetic (`take`), measured on one clock: the
database's, so machines whose clocks disagree still share one bucket.

Two kinds of caller share a bucket, and people come first:
- *interactive* callers (a staff click, an IPN) queue for tokens: a bucket may go below zero,
  each request reserving the next token and sleeping until it exists - but never longer than
  `max_wait`; past it the request goes out anyway and the client's retry of Amazon's
  RequestThrottled decides (a person is not kept waiting for minutes).
- *background* callers (the reconciler, inside `background()`) take a token only while at least
  `reserve` more stay in the bucket, and otherwise sleep until one is restored. A click then
  always finds a token at once, and because Amazon's own bucket sees the same traffic it keeps
  that spare token too, which absorbs the jitter between when we take a token and when the
  request reaches Amazon: background work runs at the full restore rate without throttling.

`METER` counts what happened (requests paced, seconds waited, RequestThrottled replies seen),
so a benchmark or an operator can tell whether the quota is used fully and never overrun.
"""

from __future__ import annotations

import contextlib
import contextvars
import enum
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from paydesk.amazonpay.retry import LIVE_QUOTAS, SANDBOX_QUOTAS, Quota

log = logging.getLogger("paydesk.amazonpay.quota")


class Priority(enum.Enum):
    INTERACTIVE = "interactive"
    BACKGROUND = "background"


_priority: contextvars.ContextVar[Priority] = contextvars.ContextVar(
    "paydesk_quota_priority", default=Priority.INTERACTIVE
)


@contextlib.contextmanager
def background() -> Iterator[None]:
    """Requests made inside this block leave a spare token for people (the reconciler's mode)."""
    token = _priority.set(Priority.BACKGROUND)
    try:
        yield
    finally:
        _priority.reset(token)


def current_priority() -> Priority:
    return _priority.get()


# --- the arithmetic ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Take:
    """The outcome of asking a bucket for one token: whether it was granted, and the tokens
    left afterwards (below zero: that many requests are queued ahead for tokens to come)."""

    taken: bool
    tokens: float


def take(tokens: float, elapsed: float, quota: Quota, *, floor: float) -> Take:
    """Refill a bucket holding `tokens` for `elapsed` seconds, then take one token if at least
    `floor` tokens remain afterwards."""
    refilled = min(float(quota.max_requests), tokens + max(0.0, elapsed) / quota.restore_seconds)
    if refilled - 1 >= floor:
        return Take(True, refilled - 1)
    return Take(False, refilled)


class BucketStore(Protocol):
    def take(self, operation: str, quota: Quota, *, floor: float) -> Take: ...


class LocalBuckets:
    """Buckets of this process only (SQLite deployments: one process). Thread-safe."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # operation -> (tokens, counted at)

    def take(self, operation: str, quota: Quota, *, floor: float) -> Take:
        with self._lock:
            now = self._clock()
            tokens, counted_at = self._buckets.get(operation, (float(quota.max_requests), now))
            result = take(tokens, now - counted_at, quota, floor=floor)
            self._buckets[operation] = (result.tokens, now)
            return result


class QuotaUnavailable(RuntimeError):
    """The shared buckets could not be reached (the database is down or unreachable)."""


# This thread's connections to the shared buckets, per PostgresBuckets store.
_thread = threading.local()


def close_thread_connections() -> None:
    """Close the bucket connections this thread opened (they reopen on demand). Called when a
    web request finishes and when a reconcile worker thread ends, as Django does with its own,
    so no connection outlives its thread or keeps the database from being dropped."""
    for connection in getattr(_thread, "connections", {}).values():
        connection.close()
    _thread.connections = {}


class PostgresBuckets:
    """Buckets in PostgreSQL, shared by every process and machine using the database.

    Each take is one statement: lock the bucket's row, refill it by the time elapsed on the
    database's clock, take a token if `floor` allows, return the outcome. Each thread uses a
    connection of its own in autocommit mode, so a take never joins (or waits for) the
    caller's transaction, and the row is locked for one statement only. `clock` replaces the
    database's clock (tests).
    """

    def __init__(self, account: str, *, clock: Callable[[], datetime] | None = None, alias: str = "default"):
        self.account = account
        self._clock = clock
        self._alias = alias
        self._lock = threading.Lock()
        self._opened: list = []

    def _connection(self):
        connections_of_thread = getattr(_thread, "connections", None)
        if connections_of_thread is None:
            connections_of_thread = _thread.connections = {}
        connection = connections_of_thread.get(id(self))
        if connection is None or connection.closed:
            import psycopg
            from django.db import connections

            # Django's own parameters for this database (its test database in tests), with
            # psycopg's plain cursors instead of Django's.
            params = connections[self._alias].get_connection_params()
            params.pop("cursor_factory", None)
            # A take must never hang: not on a database that does not answer, not on a dead
            # peer, not behind a session that holds the bucket row. A person clicked, and a
            # money movement's Unknown row is already committed while it waits.
            for name, value in _NEVER_HANG.items():
                params.setdefault(name, value)
            connection = psycopg.connect(**params, autocommit=True)
            connection.execute(f"SET lock_timeout = '{_ROW_WAIT_MS}ms'")
            connection.execute(f"SET statement_timeout = '{_STATEMENT_MS}ms'")
            connections_of_thread[id(self)] = connection
            with self._lock:
                self._opened = [c for c in self._opened if not c.closed] + [connection]
        return connection

    def close(self) -> None:
        """Close every connection this store opened, in any thread (they reopen on demand)."""
        with self._lock:
            opened, self._opened = self._opened, []
        for connection in opened:
            connection.close()

    def take(self, operation: str, quota: Quota, *, floor: float) -> Take:
        import psycopg

        from paydesk.amazonpay.models import QuotaBucket

        table = QuotaBucket._meta.db_table
        values = {
            "account": self.account,
            "operation": operation,
            "maximum": float(quota.max_requests),
            "restore": float(quota.restore_seconds),
            "floor": float(floor),
            "at": self._clock() if self._clock is not None else None,
        }
        for attempt in (1, 2):
            try:
                with self._connection().cursor() as cursor:
                    cursor.execute(_TAKE.format(table=table), values)
                    row = cursor.fetchone()
                    if row is None:  # the bucket's first use: it starts full, as Amazon's do
                        cursor.execute(_CREATE.format(table=table), values)
                        cursor.execute(_TAKE.format(table=table), values)
                        row = cursor.fetchone()
                return Take(bool(row[0]), float(row[1]))
            except (psycopg.errors.LockNotAvailable, psycopg.errors.QueryCanceled) as exc:
                # The row is held (a stuck session) or the database stalls: the connection is
                # fine, the shared bucket is not available now.
                raise QuotaUnavailable(f"quota bucket busy: {exc}") from exc
            except psycopg.OperationalError as exc:
                # A connection dropped since the last take (database restart, failover): one
                # fresh connection, then give up.
                stale = getattr(_thread, "connections", {}).pop(id(self), None)
                if stale is not None:
                    stale.close()
                if attempt == 2:
                    raise QuotaUnavailable(f"quota buckets unavailable: {exc}") from exc
        raise AssertionError("unreachable")


_NEVER_HANG = {"connect_timeout": 5, "keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10}
_ROW_WAIT_MS = 1000  # takes queue on the row for microseconds; a second is a stuck holder
_STATEMENT_MS = 5000

# `at` is the database's clock unless a test supplies one. FOR UPDATE in the first CTE makes
# concurrent takes queue on the row, each seeing the tokens the previous one left.
_TAKE = """
WITH clock AS (SELECT COALESCE(%(at)s::timestamptz, clock_timestamp()) AS at),
bucket AS (
    SELECT b.id, LEAST(
        %(maximum)s::float8,
        b.tokens + GREATEST(0, EXTRACT(EPOCH FROM clock.at - b.counted_at))::float8 / %(restore)s::float8
    ) AS refilled
    FROM {table} AS b, clock
    WHERE b.account = %(account)s AND b.operation = %(operation)s
    FOR UPDATE OF b
)
UPDATE {table} AS b
SET tokens = CASE WHEN bucket.refilled - 1 >= %(floor)s::float8 THEN bucket.refilled - 1
                  ELSE bucket.refilled END,
    counted_at = clock.at
FROM bucket, clock
WHERE b.id = bucket.id
RETURNING bucket.refilled - 1 >= %(floor)s::float8, b.tokens
"""
_CREATE = """
INSERT INTO {table} (account, operation, tokens, counted_at)
VALUES (%(account)s, %(operation)s, %(maximum)s, COALESCE(%(at)s::timestamptz, clock_timestamp()))
ON CONFLICT (account, operation) DO NOTHING
"""


# --- counters ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MeterReading:
    """Totals since the process started; subtract two readings for what happened in between."""

    paced: int = 0  # requests that took a token
    unpaced: int = 0  # interactive requests sent without one (the wait would exceed max_wait)
    waited_seconds: float = 0.0  # time spent waiting for tokens
    throttled: int = 0  # RequestThrottled replies from Amazon (each retried by the client)
    sent: int = 0  # HTTP requests sent to Amazon (attempts, retries included)

    def __sub__(self, other: MeterReading) -> MeterReading:
        return MeterReading(
            paced=self.paced - other.paced,
            unpaced=self.unpaced - other.unpaced,
            waited_seconds=self.waited_seconds - other.waited_seconds,
            throttled=self.throttled - other.throttled,
            sent=self.sent - other.sent,
        )


class Meter:
    """Thread-safe counters of quota use, per operation."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str]] = Counter()
        self._waited = 0.0

    def count(self, what: str, operation: str) -> None:
        with self._lock:
            self._counts[(what, operation)] += 1

    def waited(self, seconds: float) -> None:
        with self._lock:
            self._waited += seconds

    def per_operation(self, what: str) -> dict[str, int]:
        with self._lock:
            return {op: n for (kind, op), n in self._counts.items() if kind == what}

    def reading(self) -> MeterReading:
        with self._lock:
            totals: Counter[str] = Counter()
            for (what, _operation), n in self._counts.items():
                totals[what] += n
            return MeterReading(
                paced=totals["paced"],
                unpaced=totals["unpaced"],
                waited_seconds=self._waited,
                throttled=totals["throttled"],
                sent=totals["sent"],
            )


METER = Meter()


# --- the rate limiter the client uses -----------------------------------------------------------


class SharedQuota:
    """The client's `RateLimiter` (`acquire(operation)`), over a `BucketStore`.

    `quotas` maps Amazon operations to their buckets (operations missing are not paced);
    `max_wait` bounds an interactive caller's wait in seconds; `reserve` is the number of
    tokens background callers leave for interactive ones.
    """

    def __init__(
        self,
        store: BucketStore,
        quotas: Mapping[str, Quota],
        *,
        max_wait: float = 10.0,
        reserve: int = 1,
        meter: Meter = METER,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[float, float], float] = random.uniform,
    ):
        if max_wait < 0 or reserve < 0:
            raise ValueError("max_wait and reserve cannot be negative")
        self.store = store
        self._quotas = dict(quotas)
        self._max_wait = max_wait
        self._reserve = reserve
        self._meter = meter
        self._sleep = sleep
        self._jitter = jitter
        # Used while the shared buckets cannot be reached: pacing this process alone beats not
        # pacing at all, and Amazon's throttling (retried by the client) covers the rest.
        self._fallback = LocalBuckets()

    @classmethod
    def for_amazon(cls, store: BucketStore, *, sandbox: bool, **kwargs) -> SharedQuota:
        return cls(store, SANDBOX_QUOTAS if sandbox else LIVE_QUOTAS, **kwargs)

    def acquire(self, operation: str) -> None:
        quota = self._quotas.get(operation)
        if quota is None:
            return
        if current_priority() is Priority.BACKGROUND:
            self._acquire_spare(operation, quota)
        else:
            self._acquire_queued(operation, quota)

    def _take(self, operation: str, quota: Quota, *, floor: float) -> Take:
        try:
            return self.store.take(operation, quota, floor=floor)
        except QuotaUnavailable as exc:
            log.warning("%s; pacing %s in this process only", exc, operation)
            return self._fallback.take(operation, quota, floor=floor)

    def _acquire_queued(self, operation: str, quota: Quota) -> None:
        # Going `max_wait` worth of tokens below zero is a wait of at most `max_wait`.
        floor = -self._max_wait / quota.restore_seconds
        result = self._take(operation, quota, floor=floor)
        if not result.taken:
            self._meter.count("unpaced", operation)
            return
        self._meter.count("paced", operation)
        if result.tokens < 0:
            wait = -result.tokens * quota.restore_seconds
            self._meter.waited(wait)
            self._sleep(wait)

    def _acquire_spare(self, operation: str, quota: Quota) -> None:
        floor = float(min(self._reserve, quota.max_requests - 1))
        while True:
            result = self._take(operation, quota, floor=floor)
            if result.taken:
                self._meter.count("paced", operation)
                return
            # Until the missing tokens are restored; a little jitter so that workers waiting
            # on the same bucket do not all ask again at the same instant.
            wait = (floor + 1 - result.tokens) * quota.restore_seconds
            wait = max(wait, 0.0) + self._jitter(0.0, 0.05 * quota.restore_seconds)
            self._meter.waited(wait)
            self._sleep(wait)
