import pytest
from hypothesis import given
from hypothesis import strategies as st

from paydesk.amazonpay.errors import (
    AccessDenied,
    AmazonApiError,
    AmountExceeded,
    ConstraintsExist,
    DuplicateReference,
    ErrorKind,
    InternalError,
    InvalidParameter,
    InvalidState,
    LimitExceeded,
    NotFound,
    ServiceUnavailable,
    SignatureMismatch,
    Throttled,
    api_error,
)
from paydesk.amazonpay.redaction import masked_parameters, masked_reply
from paydesk.amazonpay.retry import LIVE_QUOTAS, SANDBOX_QUOTAS, Quota, RetryPolicy, TokenBucketRateLimiter
from tests.client.samples import sample

# --- backoff ------------------------------------------------------------------------------------


@given(retry=st.integers(min_value=1, max_value=50), draw=st.floats(min_value=0, max_value=1))
def test_backoff_grows_exponentially_within_half_and_all_of_the_capped_step(retry, draw):
    policy = RetryPolicy(base_delay=1.0, max_delay=10.0)
    step = min(10.0, 2 ** (retry - 1))
    delay = policy.backoff(retry, uniform=lambda low, high: low + (high - low) * draw)
    assert step / 2 <= delay <= step


def test_backoff_doubles_until_the_cap():
    policy = RetryPolicy(base_delay=0.5, max_delay=4.0)
    no_jitter = [policy.backoff(n, uniform=lambda low, high: high) for n in range(1, 7)]
    assert no_jitter == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


def test_jitter_spreads_retries_out():
    policy = RetryPolicy()
    assert len({policy.backoff(3) for _ in range(20)}) > 1


@pytest.mark.parametrize(
    "kwargs", [{"max_attempts": 0}, {"base_delay": -1}, {"base_delay": 5, "max_delay": 1}, {"max_total": -1}]
)
def test_nonsensical_retry_policies_are_refused(kwargs):
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)


# --- token buckets ------------------------------------------------------------------------------


class FakeTime:
    def __init__(self):
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_a_full_bucket_lets_a_burst_through_then_paces_at_the_restore_rate():
    time = FakeTime()
    limiter = TokenBucketRateLimiter({"Capture": Quota(2, 2.0)}, clock=time.clock, sleep=time.sleep)
    for _ in range(2):
        limiter.acquire("Capture")
    assert time.slept == []
    limiter.acquire("Capture")
    assert time.slept == [2.0]
    limiter.acquire("Capture")
    assert time.now == pytest.approx(4.0)


def test_buckets_are_per_operation_and_unknown_operations_are_not_limited():
    time = FakeTime()
    limiter = TokenBucketRateLimiter({"Capture": Quota(1, 1.0)}, clock=time.clock, sleep=time.sleep)
    limiter.acquire("Capture")
    limiter.acquire("GetCaptureDetails")
    limiter.acquire("GetCaptureDetails")
    assert time.slept == []


def test_a_bucket_refills_while_idle_but_never_beyond_its_quota():
    time = FakeTime()
    limiter = TokenBucketRateLimiter({"Refund": Quota(2, 1.0)}, clock=time.clock, sleep=time.sleep)
    limiter.acquire("Refund")
    limiter.acquire("Refund")
    time.now += 100
    limiter.acquire("Refund")
    limiter.acquire("Refund")
    assert time.slept == []
    limiter.acquire("Refund")
    assert time.slept == [1.0]


def test_the_default_tables_hold_amazons_live_and_sandbox_quotas():
    # docs/amazon-pay-v1.md §5.3
    assert LIVE_QUOTAS["Authorize"] == Quota(10, 1.0)
    assert SANDBOX_QUOTAS["Authorize"] == Quota(2, 2.0)
    assert LIVE_QUOTAS["GetAuthorizationDetails"] == Quota(20, 0.5)
    assert SANDBOX_QUOTAS["GetRefundDetails"] == Quota(5, 1.0)
    assert LIVE_QUOTAS["GetServiceStatus"] == SANDBOX_QUOTAS["GetServiceStatus"] == Quota(2, 300.0)
    operations = {
        "GetOrderReferenceDetails",
        "SetOrderReferenceDetails",
        "SetOrderAttributes",
        "ConfirmOrderReference",
        "CancelOrderReference",
        "CloseOrderReference",
        "Authorize",
        "GetAuthorizationDetails",
        "CloseAuthorization",
        "Capture",
        "GetCaptureDetails",
        "Refund",
        "GetRefundDetails",
        "GetServiceStatus",
    }
    assert set(LIVE_QUOTAS) == set(SANDBOX_QUOTAS) == operations


# --- error taxonomy -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "status", "cls"),
    [
        ("InvalidAuthorizationStatus", 405, InvalidState),
        ("InvalidOrderReferenceStatus", 405, InvalidState),
        ("OrderReferenceNotModifiable", 405, InvalidState),
        ("CaptureNotRefundable", 405, InvalidState),
        ("TransactionAmountExceeded", 400, AmountExceeded),
        ("TransactionCountExceeded", 400, LimitExceeded),
        ("InvalidParameterValue", 400, InvalidParameter),
        ("InvalidSandboxSimulationSpecified", 400, InvalidParameter),
        ("CurrencyMismatch", 400, InvalidParameter),
        ("DuplicateReferenceId", 400, DuplicateReference),
        ("DuplicateRequest", 400, DuplicateReference),
        ("ConstraintsExist", 404, ConstraintsExist),
        ("InvalidOrderReferenceId", 404, NotFound),
        ("SignatureDoesNotMatch", 403, SignatureMismatch),
        ("InvalidAccessKeyId", 403, AccessDenied),
        ("RequestThrottled", 503, Throttled),
        ("ServiceUnavailable", 503, ServiceUnavailable),
        ("InternalServerError", 500, InternalError),
        (None, 502, InternalError),
        (None, 504, InternalError),
        ("SomethingNew", 503, ServiceUnavailable),
        ("SomethingNew", 400, AmazonApiError),
    ],
)
def test_codes_callers_must_tell_apart_have_their_own_class(code, status, cls):
    error = api_error(http_status=status, type="Sender", code=code, message="m", request_id="r")
    assert type(error) is cls
    assert isinstance(error, AmazonApiError)


def test_a_constraints_exist_error_is_not_mistaken_for_not_found_by_its_404():
    error = api_error(http_status=404, type="Sender", code="ConstraintsExist", message="m", request_id="r")
    assert error.kind is ErrorKind.CONSTRAINTS_EXIST


def test_a_signature_mismatch_is_also_an_access_problem():
    error = api_error(
        http_status=403, type="Sender", code="SignatureDoesNotMatch", message=None, request_id=None
    )
    assert isinstance(error, AccessDenied)
    assert error.kind is ErrorKind.SIGNATURE_MISMATCH


@pytest.mark.parametrize(
    ("cls", "retryable"),
    [
        (Throttled, True),
        (ServiceUnavailable, True),
        (InternalError, True),
        (InvalidState, False),
        (AmountExceeded, False),
        (LimitExceeded, False),
        (InvalidParameter, False),
        (DuplicateReference, False),
        (ConstraintsExist, False),
        (NotFound, False),
        (AccessDenied, False),
        (SignatureMismatch, False),
        (AmazonApiError, False),
    ],
)
def test_only_throttling_and_amazon_trouble_are_retryable(cls, retryable):
    error = cls(http_status=500, type=None, code=None, message=None, request_id=None)
    assert error.retryable is retryable


# --- what may be logged -------------------------------------------------------------------------


def test_request_logs_mask_notes_tokens_and_the_signature_like_amazons_sdks():
    shown = masked_parameters(
        {
            "Action": "Authorize",
            "AmazonOrderReferenceId": "S01-1-1",
            "SellerAuthorizationNote": "gift for Jane",
            "OrderReferenceAttributes.SellerNote": "call 555-0100",
            "AccessToken": "Atza|secret",
            "Signature": "abc=",
            "AWSAccessKeyId": "AKIA",
        }
    )
    assert shown == {
        "Action": "Authorize",
        "AmazonOrderReferenceId": "S01-1-1",
        "SellerAuthorizationNote": "REMOVED",
        "OrderReferenceAttributes.SellerNote": "REMOVED",
        "AccessToken": "REMOVED",
        "Signature": "REMOVED",
        "AWSAccessKeyId": "REMOVED",
    }


def test_reply_logs_mask_buyer_data_and_notes():
    text = masked_reply(sample("GetOrderReferenceDetailsResponse.xml").decode())
    for personal in (
        "John Green",
        "test@gmail.com",
        "Christopher C. Conn",
        "4996 Rockford",
        "New York",
        "1st Amazon",
    ):
        assert personal not in text
    assert "S01-9111020-6707923" in text
    assert "<Buyer>REMOVED</Buyer>" in text
    assert "<SellerAuthorizationNote>REMOVED</SellerAuthorizationNote>" in masked_reply(
        sample("AuthorizeResponse_CaptureNow.xml").decode("utf-8-sig")
    )


def test_max_wait_sends_anyway_rather_than_keeping_a_person_waiting_for_minutes():
    time = FakeTime()
    limiter = TokenBucketRateLimiter(
        {"GetServiceStatus": Quota(2, 300.0), "Capture": Quota(1, 2.0)},
        clock=time.clock,
        sleep=time.sleep,
        max_wait=5.0,
    )
    for _ in range(3):
        limiter.acquire("GetServiceStatus")
    assert time.slept == []  # the third would have waited 300 s: it goes out, Amazon decides
    limiter.acquire("Capture")
    limiter.acquire("Capture")
    assert time.slept == [2.0]  # a short wait is still waited
