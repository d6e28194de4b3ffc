"""Amazon's quotas shared through PostgreSQL: every connection (process, machine) takes from the
same bucket row, atomically, on the database's clock."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from paydesk.amazonpay.quota import LocalBuckets, PostgresBuckets, SharedQuota, background
from paydesk.amazonpay.retry import Quota

FIVE_PER_SECOND = Quota(5, 1.0)
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class FrozenClock:
    def __init__(self) -> None:
        self.at = T0

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def account():
    return f"A2QUOTATEST:{uuid.uuid4().hex[:12]}"


@pytest.fixture
def stores():
    opened: list[PostgresBuckets] = []

    def make(account: str, clock=None) -> PostgresBuckets:
        store = PostgresBuckets(account, clock=clock)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


def test_the_database_bucket_does_the_same_arithmetic_as_the_in_process_one(db, account, stores):
    clock = FrozenClock()
    shared = stores(account, clock)
    seconds = [0.0]
    local = LocalBuckets(clock=lambda: seconds[0])
    steps = [(0, 0), (0, 0), (0, 1), (0, 0), (0, 0), (0, 0), (0, 0), (0.5, 0), (0.5, 0), (0, -3), (0, -3)]
    steps += [(0, -3), (2.25, 1), (60, 1), (0, 4), (0, 4)]
    for elapsed, floor in steps:
        clock.at += timedelta(seconds=elapsed)
        seconds[0] += elapsed
        assert shared.take("GetAuthorizationDetails", FIVE_PER_SECOND, floor=floor) == pytest.approx(
            local.take("GetAuthorizationDetails", FIVE_PER_SECOND, floor=floor)
        )


def test_twenty_connections_taking_at_once_each_get_their_own_token(db, account, stores):
    clock = FrozenClock()
    results = []
    lock = threading.Lock()
    start = threading.Barrier(20)

    def take_one():
        store = stores(account, clock)  # a connection of its own, like another process
        start.wait()
        outcome = store.take("Capture", FIVE_PER_SECOND, floor=-100)
        with lock:
            results.append(outcome.tokens)

    threads = [threading.Thread(target=take_one) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # No update was lost: the tokens left after each take are 4, 3, ..., -15, each seen once.
    assert sorted(results) == [float(n) for n in range(-15, 5)]


def test_two_processes_share_one_seller_quota_and_people_keep_their_spare_token(db, account, stores):
    clock = FrozenClock()
    slept: list[float] = []
    web = SharedQuota(stores(account, clock), {"GetRefundDetails": FIVE_PER_SECOND}, sleep=slept.append)
    worker = SharedQuota(
        stores(account, clock),
        {"GetRefundDetails": FIVE_PER_SECOND},
        sleep=lambda s: (slept.append(s), setattr(clock, "at", clock.at + timedelta(seconds=s))),
        jitter=lambda low, high: low,
    )
    web.acquire("GetRefundDetails")
    web.acquire("GetRefundDetails")
    with background():
        worker.acquire("GetRefundDetails")
        worker.acquire("GetRefundDetails")
        assert slept == []
        worker.acquire("GetRefundDetails")  # only one token left: the spare, so it waits
    assert slept == [pytest.approx(1.0)]
    web.acquire("GetRefundDetails")  # the spare token is there for the person
    assert slept == [pytest.approx(1.0)]


def test_sandbox_and_live_buckets_of_one_seller_are_separate(db, stores):
    clock = FrozenClock()
    sandbox = stores("A2QUOTASELLER:sandbox", clock)
    live = stores("A2QUOTASELLER:live", clock)
    for _ in range(5):
        sandbox.take("Refund", FIVE_PER_SECOND, floor=0)
    assert not sandbox.take("Refund", FIVE_PER_SECOND, floor=0).taken
    assert live.take("Refund", FIVE_PER_SECOND, floor=0).taken


def test_a_take_does_not_wait_behind_a_session_holding_the_bucket_row(db, account, stores):
    """A stuck session (an operator's open transaction) holds the bucket row: a staff action
    is paced in its own process instead of waiting for it, however long it holds on."""
    import psycopg
    from django.db import connections

    quota = SharedQuota(stores(account), {"Capture": FIVE_PER_SECOND}, max_wait=1.0)
    quota.acquire("Capture")  # the bucket row exists now
    params = connections["default"].get_connection_params()
    params.pop("cursor_factory", None)
    holder = psycopg.connect(**params)
    released = threading.Event()
    safety = threading.Timer(30, lambda: (released.set(), holder.close()))
    try:
        holder.execute("SELECT 1 FROM amazonpay_quotabucket WHERE account = %s FOR UPDATE", [account])
        safety.start()
        quota.acquire("Capture")
        assert not released.is_set()  # it came back while the row was still held
    finally:
        safety.cancel()
        holder.close()
