"""Amazon's quotas shared between people and the reconciler: the bucket arithmetic, queued
interactive requests, background requests that leave a spare token, and the meter."""

from __future__ import annotations

import httpx
import pytest

from paydesk.amazonpay.connection import MeteredTransport
from paydesk.amazonpay.quota import (
    LocalBuckets,
    Meter,
    QuotaUnavailable,
    SharedQuota,
    Take,
    background,
    take,
)
from paydesk.amazonpay.retry import Quota

FIVE_PER_SECOND = Quota(5, 1.0)  # the sandbox's Get...Details bucket: 5, one more each second


class FakeTime:
    """A clock that only moves when somebody sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


def limiter(time: FakeTime, *, max_wait=10.0, reserve=1, meter=None, quota=FIVE_PER_SECOND):
    return SharedQuota(
        LocalBuckets(clock=time.clock),
        {"GetCaptureDetails": quota},
        max_wait=max_wait,
        reserve=reserve,
        meter=meter or Meter(),
        sleep=time.sleep,
        jitter=lambda low, high: low,
    )


def test_a_bucket_refills_at_its_restore_rate_up_to_its_maximum():
    assert take(0.0, 2.5, FIVE_PER_SECOND, floor=0) == Take(True, 1.5)
    assert take(4.0, 60, FIVE_PER_SECOND, floor=0) == Take(True, 4.0)
    assert take(0.5, 0, FIVE_PER_SECOND, floor=0) == Take(False, 0.5)
    assert take(0.5, 0, FIVE_PER_SECOND, floor=-3) == Take(True, -0.5)
    # A clock that went backwards adds nothing.
    assert take(1.0, -10, FIVE_PER_SECOND, floor=0) == Take(True, 0.0)


def test_people_queue_for_tokens_and_each_waits_for_their_own():
    time = FakeTime()
    quota = limiter(time)
    for _ in range(8):
        quota.acquire("GetCaptureDetails")
    # Five at once (the bucket starts full, as Amazon's does), then one per restored token.
    assert time.sleeps == [1.0, 1.0, 1.0]


def test_a_person_is_never_kept_waiting_beyond_max_wait():
    time = FakeTime()
    meter = Meter()
    quota = limiter(time, max_wait=1.5, meter=meter)
    for _ in range(5):
        quota.acquire("GetCaptureDetails")
    quota.acquire("GetCaptureDetails")  # one second's wait: fine
    quota.acquire("GetCaptureDetails")  # the bucket is empty again: another second's wait
    assert time.sleeps == [1.0, 1.0]
    time.now = 0.0  # freeze: the next one would wait 2 s
    quota.acquire("GetCaptureDetails")
    assert time.sleeps == [1.0, 1.0]
    assert meter.reading().unpaced == 1 and meter.reading().paced == 7


def test_the_reconciler_leaves_a_spare_token_for_people():
    time = FakeTime()
    quota = limiter(time)
    with background():
        for _ in range(4):
            quota.acquire("GetCaptureDetails")
    assert time.sleeps == []
    with background():
        quota.acquire("GetCaptureDetails")
    assert time.sleeps == [1.0]  # waited for a token rather than take the last one
    quota.acquire("GetCaptureDetails")  # a person: the spare token, at once
    assert time.sleeps == [1.0]


def test_the_reconciler_runs_at_the_restore_rate_once_the_burst_is_spent():
    time = FakeTime()
    quota = limiter(time)
    with background():
        for _ in range(4 + 30):
            quota.acquire("GetCaptureDetails")
    assert time.now == pytest.approx(30.0)  # 30 requests in 30 s: the full restore rate


def test_the_reconciler_waits_behind_people_already_queued():
    time = FakeTime()
    buckets = LocalBuckets(clock=time.clock)
    quotas = {"GetCaptureDetails": FIVE_PER_SECOND}
    # Seven people at once, each waiting in their own thread: five tokens, two owed.
    people = SharedQuota(buckets, quotas, meter=Meter(), sleep=lambda seconds: None)
    for _ in range(7):
        people.acquire("GetCaptureDetails")
    reconciler = SharedQuota(buckets, quotas, meter=Meter(), sleep=time.sleep, jitter=lambda low, high: low)
    with background():
        reconciler.acquire("GetCaptureDetails")
    # Two seconds for the tokens owed to people, two for its own token and the spare one.
    assert time.now == pytest.approx(4.0)


def test_a_bucket_of_one_has_no_spare_token_to_keep():
    time = FakeTime()
    quota = limiter(time, quota=Quota(1, 2.0))
    with background():
        quota.acquire("GetCaptureDetails")
        quota.acquire("GetCaptureDetails")
    assert time.sleeps == [2.0]


def test_operations_without_a_quota_are_not_paced():
    time = FakeTime()
    quota = limiter(time)
    for _ in range(20):
        quota.acquire("ListOrderReference")
    assert time.sleeps == []


class BrokenStore:
    def take(self, operation, quota, *, floor):
        raise QuotaUnavailable("quota buckets unavailable: connection refused")


def test_when_the_shared_buckets_are_unreachable_the_process_paces_itself():
    time = FakeTime()
    quota = SharedQuota(BrokenStore(), {"GetCaptureDetails": Quota(2, 1.0)}, sleep=time.sleep)
    for _ in range(3):
        quota.acquire("GetCaptureDetails")
    assert len(time.sleeps) == 1


def _amazon(status: int, body: bytes):
    return httpx.MockTransport(lambda request: httpx.Response(status, content=body))


def test_the_meter_counts_requests_and_throttled_replies_per_operation():
    meter = Meter()
    throttled = b"<ErrorResponse><Error><Code>RequestThrottled</Code></Error></ErrorResponse>"
    unavailable = b"<ErrorResponse><Error><Code>ServiceUnavailable</Code></Error></ErrorResponse>"
    for status, body in ((503, throttled), (503, unavailable), (200, b"<ok/>")):
        with httpx.Client(transport=MeteredTransport(_amazon(status, body), meter=meter)) as http:
            reply = http.post("http://amazon.test/", content=b"Action=GetRefundDetails&AmazonRefundId=R1")
            assert reply.content == body  # the reply still reaches the client whole
    assert meter.per_operation("sent") == {"GetRefundDetails": 3}
    assert meter.per_operation("throttled") == {"GetRefundDetails": 1}
    assert meter.reading().throttled == 1
