"""AmazonPayClient against a scripted Amazon (httpx.MockTransport): requests, replies, retries."""

from __future__ import annotations

import logging
from decimal import Decimal

import httpx
import pytest

from paydesk.amazonpay.client import AmazonPayClient
from paydesk.amazonpay.details import Authorization, Capture, OrderReference, Refund, ServiceStatus
from paydesk.amazonpay.errors import (
    ConstraintsExist,
    InvalidParameter,
    InvalidRequest,
    InvalidState,
    OutcomeUnknown,
    ReplyError,
    Throttled,
    TransportError,
)
from paydesk.amazonpay.retry import RetryPolicy
from paydesk.payments.money import Money
from tests.client.fake_amazon import SECRET, FakeAmazon

USD = "USD"
FAST = RetryPolicy(max_attempts=4, base_delay=0.0, max_delay=0.0, max_total=60.0)


def usd(text: str) -> Money:
    return Money(Decimal(text), USD)


class Sleeps:
    def __init__(self):
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def make_client(amazon: FakeAmazon, **overrides) -> AmazonPayClient:
    options = {
        "seller_id": "A2EXAMPLE",
        "access_key": "AKIAEXAMPLE",
        "secret_key": SECRET,
        "region": "na",
        "sandbox": True,
        "retry": FAST,
        "transport": amazon.transport(),
        "sleep": Sleeps(),
    }
    options.update(overrides)
    return AmazonPayClient(**options)


# Every operation: the request it sends and the type it returns for Amazon's sample reply.
OPERATIONS = [
    (
        lambda c: c.get_order_reference_details("S01-9111020-6707923", access_token="Atza|token"),
        "GetOrderReferenceDetailsResponse.xml",
        {
            "Action": "GetOrderReferenceDetails",
            "AmazonOrderReferenceId": "S01-9111020-6707923",
            "AccessToken": "Atza|token",
        },
        OrderReference,
    ),
    (
        lambda c: c.set_order_reference_details(
            "S01-9821095-0000200", amount=usd("500"), store_name="myTestStore"
        ),
        "SetOrderReferenceDetailsResponse.xml",
        {
            "Action": "SetOrderReferenceDetails",
            "OrderReferenceAttributes.OrderTotal.Amount": "500.00",
            "OrderReferenceAttributes.OrderTotal.CurrencyCode": "USD",
            "OrderReferenceAttributes.SellerOrderAttributes.StoreName": "myTestStore",
        },
        OrderReference,
    ),
    (
        lambda c: c.set_order_attributes("P01-6744909-5149370", seller_order_id="sellerOrderId"),
        "SetOrderAttributesResponse.xml",
        {
            "Action": "SetOrderAttributes",
            "OrderAttributes.SellerOrderAttributes.SellerOrderId": "sellerOrderId",
        },
        OrderReference,
    ),
    (
        lambda c: c.confirm_order_reference("S01-1234567-1234567"),
        "ConfirmOrderReferenceResponse.xml",
        {"Action": "ConfirmOrderReference", "AmazonOrderReferenceId": "S01-1234567-1234567"},
        type(None),
    ),
    (
        lambda c: c.cancel_order_reference("S01-1234567-1234567", reason="out of stock"),
        "CancelOrderReferenceResponse.xml",
        {"Action": "CancelOrderReference", "CancelationReason": "out of stock"},
        type(None),
    ),
    (
        lambda c: c.close_order_reference("S01-1234567-1234567", reason="shipped"),
        "CloseOrderReferenceResponse.xml",
        {"Action": "CloseOrderReference", "ClosureReason": "shipped"},
        type(None),
    ),
    (
        lambda c: c.authorize(
            "S01-9821095-1837200",
            authorization_reference_id="asdcdsd5iiiii",
            amount=usd("1"),
            seller_note="testing",
            transaction_timeout=0,
            capture_now=True,
            soft_descriptor="testikiki",
        ),
        "AuthorizeResponse_CaptureNow.xml",
        {
            "Action": "Authorize",
            "AuthorizationReferenceId": "asdcdsd5iiiii",
            "AuthorizationAmount.Amount": "1.00",
            "AuthorizationAmount.CurrencyCode": "USD",
            "TransactionTimeout": "0",
            "CaptureNow": "true",
            "SoftDescriptor": "testikiki",
            "SellerAuthorizationNote": "testing",
        },
        Authorization,
    ),
    (
        lambda c: c.get_authorization_details("S01-9821095-1837200-A041953"),
        "GetAuthorizationDetailsResponse.xml",
        {"Action": "GetAuthorizationDetails", "AmazonAuthorizationId": "S01-9821095-1837200-A041953"},
        Authorization,
    ),
    (
        lambda c: c.close_authorization("S01-9821095-1837200-A041953", reason="cancelled by customer"),
        "CloseAuthorizationResponse.xml",
        {"Action": "CloseAuthorization", "ClosureReason": "cancelled by customer"},
        type(None),
    ),
    (
        lambda c: c.capture("S01-9821095-1837200-A041953", capture_reference_id="testcsal", amount=usd("1")),
        "CaptureResponse.xml",
        {"Action": "Capture", "CaptureReferenceId": "testcsal", "CaptureAmount.Amount": "1.00"},
        Capture,
    ),
    (
        lambda c: c.get_capture_details("S01-9821095-1837200-C041953"),
        "GetCaptureDetailsResponse.xml",
        {"Action": "GetCaptureDetails", "AmazonCaptureId": "S01-9821095-1837200-C041953"},
        Capture,
    ),
    (
        lambda c: c.refund(
            "S01-5695290-1354077-C1", refund_reference_id="testRefundId1354077", amount=usd("0.5")
        ),
        "RefundResponse.xml",
        {"Action": "Refund", "RefundReferenceId": "testRefundId1354077", "RefundAmount.Amount": "0.50"},
        Refund,
    ),
    (
        lambda c: c.get_refund_details("S01-5695290-1354077-R072290"),
        "GetRefundDetailsResponse.xml",
        {"Action": "GetRefundDetails", "AmazonRefundId": "S01-5695290-1354077-R072290"},
        Refund,
    ),
    (
        lambda c: c.get_service_status(),
        "GetServiceStatusResponse.xml",
        {"Action": "GetServiceStatus"},
        ServiceStatus,
    ),
]


@pytest.mark.parametrize(("call", "fixture", "expected_fields", "result_type"), OPERATIONS)
def test_every_operation_sends_a_signed_request_and_returns_its_typed_result(
    call, fixture, expected_fields, result_type
):
    amazon = FakeAmazon().reply(200, fixture)
    with make_client(amazon) as client:
        result = call(client)
    assert isinstance(result, result_type)
    [request] = amazon.seen  # and FakeAmazon checked its signature with Amazon's SDK
    assert expected_fields.items() <= request.fields.items()
    assert request.fields["SellerId"] == "A2EXAMPLE"
    assert request.fields["AWSAccessKeyId"] == "AKIAEXAMPLE"
    assert request.fields["SignatureMethod"] == "HmacSHA256"
    assert request.fields["SignatureVersion"] == "2"
    assert request.fields["Version"] == "2013-01-01"
    assert request.url == "https://mws.amazonservices.com/OffAmazonPayments_Sandbox/2013-01-01"


def test_live_mode_and_a_base_url_change_only_what_they_should():
    amazon = (
        FakeAmazon().reply(200, "GetServiceStatusResponse.xml").reply(200, "GetServiceStatusResponse.xml")
    )
    make_client(amazon, sandbox=False, region="jp").get_service_status()
    make_client(amazon, base_url="http://127.0.0.1:8001", region="eu").get_service_status()
    live, local = amazon.seen
    assert live.url == "https://mws.amazonservices.jp/OffAmazonPayments/2013-01-01"
    assert local.url == "http://127.0.0.1:8001/OffAmazonPayments_Sandbox/2013-01-01"
    assert local.host_header == "127.0.0.1:8001"  # signed with the port, and verified so


def test_delegated_calls_carry_the_mws_auth_token():
    amazon = FakeAmazon().reply(200, "GetServiceStatusResponse.xml")
    make_client(amazon, mws_auth_token="amzn.mws.4ea38b7b").get_service_status()
    assert amazon.seen[0].fields["MWSAuthToken"] == "amzn.mws.4ea38b7b"


def test_a_decline_is_returned_as_a_state_not_raised():
    amazon = FakeAmazon().reply(200, "AuthorizeResponse_Declined_AmazonRejected.xml")
    auth = make_client(amazon).authorize(
        "P01-1234567-1234567", authorization_reference_id="a1", amount=usd("94.5")
    )
    assert (auth.status.state, auth.status.reason_code) == ("Declined", "AmazonRejected")


def test_values_amazon_would_refuse_are_refused_before_anything_is_sent():
    amazon = FakeAmazon()
    client = make_client(amazon)
    with pytest.raises(InvalidRequest):
        client.capture("S01-1-1-A1", capture_reference_id="not valid!", amount=usd("1"))
    with pytest.raises(InvalidRequest):
        client.refund("S01-1-1-C1", refund_reference_id="r1", amount=usd("0"))
    assert amazon.seen == []


# --- retries ------------------------------------------------------------------------------------


def test_throttling_is_retried_with_backoff_and_the_same_reference_id():
    amazon = (
        FakeAmazon()
        .reply(503, "ErrorResponse_RequestThrottled.xml")
        .reply(503, "ErrorResponse_RequestThrottled.xml")
        .reply(200, "CaptureResponse.xml")
    )
    sleeps = Sleeps()
    policy = RetryPolicy(max_attempts=4, base_delay=0.25, max_delay=8.0, max_total=60.0)
    client = make_client(amazon, retry=policy, sleep=sleeps)
    capture = client.capture("S01-9821095-1837200-A041953", capture_reference_id="testcsal", amount=usd("1"))
    assert capture.amazon_capture_id == "S01-9821095-1837200-C053432"
    assert [seen.action for seen in amazon.seen] == ["Capture"] * 3
    operation_fields = [
        {k: v for k, v in seen.fields.items() if k not in ("Timestamp", "Signature")} for seen in amazon.seen
    ]
    assert operation_fields[0] == operation_fields[1] == operation_fields[2]
    assert len(sleeps.waits) == 2
    assert 0.125 <= sleeps.waits[0] <= 0.25 and 0.25 <= sleeps.waits[1] <= 0.5


def test_service_unavailable_and_internal_errors_are_retried():
    amazon = (
        FakeAmazon()
        .reply(503, b"<html>Service Unavailable</html>")
        .reply(500, "ErrorResponse_InternalServerError.xml")
        .reply(200, "GetCaptureDetailsResponse.xml")
    )
    assert make_client(amazon).get_capture_details("S01-9821095-1837200-C041953").capture_amount == usd("1")
    assert len(amazon.seen) == 3


def test_throttling_that_does_not_end_raises_throttled_after_max_attempts():
    amazon = FakeAmazon()
    for _ in range(3):
        amazon.reply(503, "ErrorResponse_RequestThrottled.xml")
    client = make_client(amazon, retry=RetryPolicy(max_attempts=3, base_delay=0, max_delay=0))
    with pytest.raises(Throttled) as caught:
        client.authorize("S01-1-1", authorization_reference_id="a1", amount=usd("1"))
    assert caught.value.request_id == "d702fd8e-206f-4da4-95e0-1e7422474077"
    assert len(amazon.seen) == 3


def test_retries_stop_when_the_next_wait_would_pass_the_total_time_bound():
    class Clock:
        now = 0.0

    def sleep(seconds):
        Clock.now += seconds

    amazon = FakeAmazon()
    for _ in range(10):
        amazon.reply(503, "ErrorResponse_RequestThrottled.xml")
    policy = RetryPolicy(max_attempts=10, base_delay=2.0, max_delay=2.0, max_total=5.0)
    client = make_client(amazon, retry=policy, sleep=sleep, clock=lambda: Clock.now)
    with pytest.raises(Throttled):
        client.get_service_status()
    assert Clock.now <= 5.0
    assert 2 <= len(amazon.seen) < 10


def test_refusals_are_not_retried():
    amazon = FakeAmazon().reply(
        400,
        b"""<ErrorResponse><Error><Type>Sender</Type><Code>InvalidParameterValue</Code>
        <Message>bad</Message></Error><RequestId>r</RequestId></ErrorResponse>""",
    )
    with pytest.raises(InvalidParameter):
        make_client(amazon).get_authorization_details("S01-1-1-A1")
    assert len(amazon.seen) == 1


def test_constraints_are_reported_as_constraints_even_with_status_404():
    body = b"""<ErrorResponse><Error><Type>Sender</Type><Code>ConstraintsExist</Code>
        <Message>ShippingAddressNotSet</Message></Error><RequestId>r</RequestId></ErrorResponse>"""
    amazon = FakeAmazon().reply(404, body)
    with pytest.raises(ConstraintsExist, match="ShippingAddressNotSet"):
        make_client(amazon).confirm_order_reference("S01-1-1")


def test_every_attempt_asks_the_rate_limiter_first():
    asked: list[str] = []

    class Limiter:
        def acquire(self, operation: str) -> None:
            asked.append(operation)

    amazon = FakeAmazon().reply(503, "ErrorResponse_RequestThrottled.xml").reply(200, "RefundResponse.xml")
    make_client(amazon, rate_limiter=Limiter()).refund(
        "S01-1-1-C1", refund_reference_id="r1", amount=usd("0.5")
    )
    assert asked == ["Refund", "Refund"]


# --- unknown outcomes ---------------------------------------------------------------------------


def test_a_capture_whose_reply_was_lost_is_retried_with_the_same_reference_id_and_settles():
    amazon = FakeAmazon().fail(httpx.ReadTimeout).reply(200, "CaptureResponse.xml")
    capture = make_client(amazon).capture(
        "S01-9821095-1837200-A041953", capture_reference_id="testcsal", amount=usd("1")
    )
    assert capture.capture_reference_id == "testcsal"
    assert [seen.fields["CaptureReferenceId"] for seen in amazon.seen] == ["testcsal", "testcsal"]


def test_a_capture_that_never_gets_a_reply_is_an_unknown_outcome_not_an_error_to_retry_by_hand():
    amazon = FakeAmazon()
    for _ in range(4):
        amazon.fail(httpx.RemoteProtocolError, "Server disconnected without sending a response.")
    with pytest.raises(OutcomeUnknown) as caught:
        make_client(amazon).capture("S01-1-1-A1", capture_reference_id="cap-7", amount=usd("1"))
    unknown = caught.value
    assert (unknown.operation, unknown.reference_id, unknown.amazon_id, unknown.attempts) == (
        "Capture",
        "cap-7",
        "S01-1-1-A1",
        4,
    )
    assert "refresh" in str(unknown)


def test_a_refusal_after_a_lost_reply_is_still_an_unknown_outcome():
    # The lost first attempt may have captured; the replay then finds the authorization closed.
    amazon = (
        FakeAmazon()
        .reply(500, "ErrorResponse_InternalServerError.xml")
        .reply(405, "ErrorResponse_InvalidAuthorizationStatus.xml")
    )
    with pytest.raises(OutcomeUnknown) as caught:
        make_client(amazon).capture("S01-1-1-A1", capture_reference_id="cap-8", amount=usd("1"))
    assert isinstance(caught.value.__cause__, InvalidState)
    assert caught.value.reference_id == "cap-8"


def test_an_unreadable_success_reply_to_a_money_call_is_an_unknown_outcome():
    amazon = FakeAmazon().reply(200, b"<CaptureResponse><CaptureResult>")
    with pytest.raises(OutcomeUnknown) as caught:
        make_client(amazon).capture("S01-1-1-A1", capture_reference_id="cap-9", amount=usd("1"))
    assert isinstance(caught.value.__cause__, ReplyError)
    assert len(amazon.seen) == 1


def test_an_unreadable_reply_to_a_read_is_a_reply_error():
    amazon = FakeAmazon().reply(200, b"<GetCaptureDetailsResponse/>")
    with pytest.raises(ReplyError) as caught:
        make_client(amazon).get_capture_details("S01-1-1-C1")
    assert (caught.value.operation, caught.value.http_status) == ("GetCaptureDetails", 200)


def test_a_read_that_never_gets_a_reply_is_a_transport_error_safe_to_repeat():
    amazon = FakeAmazon()
    for _ in range(4):
        amazon.fail(httpx.ReadTimeout)
    with pytest.raises(TransportError) as caught:
        make_client(amazon).get_capture_details("S01-1-1-C1")
    assert caught.value.request_sent is True
    assert not isinstance(caught.value, OutcomeUnknown)


def test_a_money_call_that_could_not_connect_is_a_transport_error_not_an_unknown_outcome():
    amazon = FakeAmazon()
    for _ in range(4):
        amazon.fail(httpx.ConnectError, "connection refused")
    with pytest.raises(TransportError) as caught:
        make_client(amazon).refund("S01-1-1-C1", refund_reference_id="r1", amount=usd("1"))
    assert caught.value.request_sent is False


def test_a_state_change_whose_reply_was_lost_is_retried_and_settled_by_a_later_success():
    amazon = FakeAmazon().fail(httpx.ReadTimeout).reply(200, "CloseOrderReferenceResponse.xml")
    make_client(amazon).close_order_reference("S01-1-1")
    assert [seen.action for seen in amazon.seen] == ["CloseOrderReference"] * 2


# --- logs and the client's own face -------------------------------------------------------------


def test_each_attempt_logs_one_line_with_operation_ids_status_and_attempt(caplog):
    caplog.set_level(logging.INFO, logger="paydesk.amazonpay")
    amazon = FakeAmazon().reply(503, "ErrorResponse_RequestThrottled.xml").reply(200, "CaptureResponse.xml")
    make_client(amazon).capture(
        "S01-9821095-1837200-A041953", capture_reference_id="testcsal", amount=usd("1")
    )
    lines = [r.getMessage() for r in caplog.records if r.name == "paydesk.amazonpay"]
    assert len(lines) == 2
    assert "Capture" in lines[0] and "attempt=1" in lines[0] and "status=503" in lines[0]
    assert "outcome=RequestThrottled" in lines[0]
    assert "attempt=2" in lines[1] and "status=200" in lines[1] and "outcome=ok" in lines[1]
    assert "AmazonAuthorizationId=S01-9821095-1837200-A041953" in lines[1]
    assert "CaptureReferenceId=testcsal" in lines[1]
    assert "request_id=1ec2813f-3d33-4b3a-a198-a25cd608310d" in lines[1]


def test_debug_logs_mask_buyer_data_and_notes(caplog):
    caplog.set_level(logging.DEBUG, logger="paydesk.amazonpay")
    amazon = (
        FakeAmazon()
        .reply(200, "GetOrderReferenceDetailsResponse.xml")
        .reply(200, "AuthorizeResponse_Pending.xml")
    )
    client = make_client(amazon)
    client.get_order_reference_details("S01-9111020-6707923", access_token="Atza|IwEBIbuyer")
    client.authorize("S01-1-1", authorization_reference_id="a1", amount=usd("94.5"), seller_note="ring twice")
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name == "paydesk.amazonpay")
    assert "S01-9111020-6707923" in logged
    for personal in (
        "John Green",
        "test@gmail.com",
        "4996 Rockford",
        "Atza|IwEBIbuyer",
        "ring twice",
        "Lorem ipsum",
    ):
        assert personal not in logged


def test_the_clients_repr_shows_the_seller_and_endpoint_only():
    client = make_client(FakeAmazon())
    assert repr(client) == (
        "AmazonPayClient(seller_id='A2EXAMPLE',"
        " endpoint='https://mws.amazonservices.com/OffAmazonPayments_Sandbox/2013-01-01')"
    )


def test_closing_the_client_closes_its_connections():
    client = make_client(FakeAmazon())
    with client:
        assert not client._http.is_closed
    assert client._http.is_closed
