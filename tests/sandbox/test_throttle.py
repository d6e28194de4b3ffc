"""Amazon's token buckets (docs/amazon-pay-v1.md §5.3)."""

from paydesk.sandbox.throttle import Throttle, quota_for


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def spend(
    throttle: Throttle, action: str, times: int, *, sandbox: bool = True, seller: str = "A1"
) -> list[bool]:
    return [throttle.allow(seller, action, sandbox=sandbox) for _ in range(times)]


def test_the_sandbox_allows_two_authorizations_in_a_burst_then_throttles():
    throttle = Throttle(monotonic=FakeTime())
    assert spend(throttle, "Authorize", 3) == [True, True, False]


def test_a_write_quota_restores_one_request_every_two_seconds_in_the_sandbox():
    clock = FakeTime()
    throttle = Throttle(monotonic=clock)
    spend(throttle, "Capture", 2)
    clock.now += 1.9
    assert spend(throttle, "Capture", 1) == [False]
    clock.now += 0.2
    assert spend(throttle, "Capture", 1) == [True]


def test_the_live_endpoint_has_larger_buckets():
    throttle = Throttle(monotonic=FakeTime())
    assert spend(throttle, "GetOrderReferenceDetails", 21, sandbox=False).count(True) == 20
    assert quota_for("Refund", sandbox=False).maximum == 10


def test_each_seller_and_operation_has_its_own_bucket():
    throttle = Throttle(monotonic=FakeTime())
    spend(throttle, "Authorize", 2, seller="A1")
    assert spend(throttle, "Authorize", 1, seller="A2") == [True]
    assert spend(throttle, "Capture", 1, seller="A1") == [True]


def test_get_service_status_refills_only_every_five_minutes():
    clock = FakeTime()
    throttle = Throttle(monotonic=clock)
    assert spend(throttle, "GetServiceStatus", 3) == [True, True, False]
    clock.now += 299
    assert spend(throttle, "GetServiceStatus", 1) == [False]
    clock.now += 2
    assert spend(throttle, "GetServiceStatus", 1) == [True]


def test_switched_off_it_never_throttles():
    throttle = Throttle(enabled=False, monotonic=FakeTime())
    assert all(spend(throttle, "Authorize", 100))
