"""Amazon's published sample replies (tests/fixtures/amazon) parse into the documented values."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from paydesk.amazonpay.details import Address, Authorization, Capture, OrderReference, Refund
from paydesk.amazonpay.errors import (
    AccessDenied,
    AmazonApiError,
    InternalError,
    InvalidState,
    NotFound,
    ReplyError,
    ServiceUnavailable,
    Throttled,
)
from paydesk.amazonpay.replies import (
    error_from_reply,
    parse_authorization,
    parse_capture,
    parse_order_reference,
    parse_refund,
    parse_xml,
    read_details_reply,
    read_empty_reply,
    read_reply,
)
from paydesk.payments.money import Money
from tests.client.samples import sample


def usd(text: str) -> Money:
    return Money(Decimal(text), "USD")


def details(name: str, action: str, element: str, parse):
    return read_details_reply(sample(name), action=action, element=element, parse=parse)


# --- order reference ----------------------------------------------------------------------------


def test_an_open_order_reference_carries_total_buyer_addresses_and_authorization_ids():
    oro = details(
        "GetOrderReferenceDetailsResponse.xml",
        "GetOrderReferenceDetails",
        "OrderReferenceDetails",
        parse_order_reference,
    )
    assert isinstance(oro, OrderReference)
    assert oro.amazon_order_reference_id == "S01-9111020-6707923"
    assert oro.status.state == "Open"
    assert oro.status.last_updated == datetime(2017, 7, 23, 22, 1, 49, 694000, tzinfo=UTC)
    assert oro.order_total == usd("1.29")
    assert oro.authorization_ids == ("S01-9111020-6707923-A077760",)
    assert oro.seller_order_id == "test-12345"
    assert oro.store_name == "Java Cosmos Store"
    assert oro.custom_information == "Java SDK OneTime Checkout Sample"
    assert oro.seller_note == "1st Amazon Pay OneTime Checkout Order"
    assert oro.buyer is not None and oro.buyer.name == "John Green" and oro.buyer.email == "test@gmail.com"
    assert oro.destination == Address(
        city="New York", state_or_region="NY", postal_code="10101-9876", country_code="US"
    )
    assert (
        oro.billing_address is not None and oro.billing_address.address_line1 == "4996 Rockford Mountain Lane"
    )
    assert oro.release_environment == "Sandbox"
    assert oro.request_payment_authorization is False
    assert oro.creation_timestamp == datetime(2017, 7, 23, 21, 58, 56, 816000, tzinfo=UTC)
    assert oro.expiration_timestamp == datetime(2018, 1, 19, 21, 58, 56, 816000, tzinfo=UTC)
    assert oro.constraints == ()
    assert oro.request_id == "373eb307-5f37-468c-b6ba-1ef578ac2f51"


def test_a_draft_order_reference_has_no_update_time_and_keeps_non_ascii_text():
    oro = details(
        "GetOrderReferenceDetailsResponse_Draft.xml",
        "GetOrderReferenceDetails",
        "OrderReferenceDetails",
        parse_order_reference,
    )
    assert oro.status.state == "Draft"
    assert oro.status.last_updated is None
    assert oro.order_total is None
    assert oro.destination is not None and oro.destination.city == "äöüßâêîôûàèùé"
    assert oro.destination.state_or_region == "宋 俊华 市区-徐汇区 广东省"
    assert oro.creation_timestamp == datetime(2012, 11, 5, 20, 21, 19, tzinfo=UTC)


def test_order_reference_constraints_are_listed_with_their_ids():
    oro = details(
        "GetOrderReferenceDetailsResponse_Constraint.xml",
        "GetOrderReferenceDetails",
        "OrderReferenceDetails",
        parse_order_reference,
    )
    assert [(c.constraint_id, c.description) for c in oro.constraints] == [
        ("AmountNotSet", "something not good")
    ]


def test_set_order_reference_details_returns_the_draft_with_the_attributes_just_set():
    oro = details(
        "SetOrderReferenceDetailsResponse.xml",
        "SetOrderReferenceDetails",
        "OrderReferenceDetails",
        parse_order_reference,
    )
    assert oro.status.state == "Draft"
    assert oro.order_total == usd("500.00")
    assert (oro.seller_order_id, oro.store_name, oro.platform_id) == ("test1234", "myTestStore", "ANDRCTOTP9")
    assert oro.request_id == "eab0140b-e59c-4875-859b-f5012944ba"


def test_set_order_attributes_returns_the_order_reference():
    oro = details(
        "SetOrderAttributesResponse.xml", "SetOrderAttributes", "OrderReferenceDetails", parse_order_reference
    )
    assert oro.amazon_order_reference_id == "P01-6744909-5149370"
    assert oro.order_total == usd("0.01")
    assert oro.seller_note == "sellerNote"
    assert oro.release_environment == "Live"


@pytest.mark.parametrize(
    ("name", "action", "request_id"),
    [
        (
            "ConfirmOrderReferenceResponse.xml",
            "ConfirmOrderReference",
            "f1f52572-a347-4f7a-a630-be066f3ba827",
        ),
        ("CancelOrderReferenceResponse.xml", "CancelOrderReference", "0714c2dd-c3fa-45af-afc7-b48055cfd7bf"),
        ("CloseOrderReferenceResponse.xml", "CloseOrderReference", "5f20169b-7ab2-11df-bcef-d35615e2b044"),
        ("CloseAuthorizationResponse.xml", "CloseAuthorization", "3e130e5b-41ae-41fd-b307-dbbf45663d79"),
    ],
)
def test_acknowledgements_are_read_with_or_without_an_empty_result_element(name, action, request_id):
    assert read_empty_reply(sample(name), action=action) == request_id


def test_an_acknowledgement_for_another_operation_is_refused():
    with pytest.raises(ReplyError, match="CloseOrderReferenceResponse"):
        read_empty_reply(sample("ConfirmOrderReferenceResponse.xml"), action="CloseOrderReference")


# --- authorization ---------------------------------------------------------------------------


def test_a_capture_now_authorization_is_closed_and_lists_its_capture():
    auth = details(
        "AuthorizeResponse_CaptureNow.xml", "Authorize", "AuthorizationDetails", parse_authorization
    )
    assert isinstance(auth, Authorization)
    assert auth.amazon_authorization_id == "S01-9821095-1837200-A041953"
    assert auth.authorization_reference_id == "asdcdsd5iiiii"
    assert auth.authorization_amount == usd("1.00")
    assert auth.captured_amount == usd("0")
    assert auth.authorization_fee == usd("0.00")
    assert (auth.status.state, auth.status.reason_code) == ("Closed", "MaxCapturesProcessed")
    assert auth.capture_ids == ("S01-9821095-1837200-C041953",)
    assert auth.capture_now is True
    assert auth.soft_descriptor == "AMZ*testikiki"
    assert auth.seller_authorization_note == "testing"
    assert auth.expiration_timestamp == datetime(2015, 11, 29, 21, 2, 38, 508000, tzinfo=UTC)
    assert auth.request_id == "adabc99d-8351-48dc-acef-1bc049215f55"


def test_an_asynchronous_authorization_starts_pending():
    auth = details("AuthorizeResponse_Pending.xml", "Authorize", "AuthorizationDetails", parse_authorization)
    assert auth.status.state == "Pending"
    assert auth.captured_amount is None
    assert auth.authorization_amount == usd("94.50")


def test_a_declined_authorization_is_a_state_with_a_reason_not_an_error():
    auth = details(
        "AuthorizeResponse_Declined_AmazonRejected.xml",
        "Authorize",
        "AuthorizationDetails",
        parse_authorization,
    )
    assert (auth.status.state, auth.status.reason_code) == ("Declined", "AmazonRejected")
    assert auth.amazon_authorization_id == "P01-1234567-1234567-0000001"  # surrounding whitespace dropped
    assert auth.capture_ids == ()


def test_get_authorization_details_shows_the_captured_amount():
    auth = details(
        "GetAuthorizationDetailsResponse.xml",
        "GetAuthorizationDetails",
        "AuthorizationDetails",
        parse_authorization,
    )
    assert auth.captured_amount == usd("1.00")
    assert auth.request_id == "6173ac5a-8915-4541-922f-f9e104930731"


# --- capture ------------------------------------------------------------------------------------


def test_a_completed_capture_has_amounts_fee_and_no_refunds_yet():
    capture = details("CaptureResponse.xml", "Capture", "CaptureDetails", parse_capture)
    assert isinstance(capture, Capture)
    assert capture.amazon_capture_id == "S01-9821095-1837200-C053432"
    assert capture.capture_reference_id == "testcsal"
    assert capture.capture_amount == usd("1.00")
    assert capture.refunded_amount == usd("0")
    assert capture.capture_fee == usd("0.00")
    assert capture.status.state == "Completed"
    assert capture.refund_ids == ()
    assert capture.seller_capture_note is None  # <SellerCaptureNote /> is empty
    assert capture.request_id == "1ec2813f-3d33-4b3a-a198-a25cd608310d"


def test_a_declined_capture_carries_amazons_reason_description():
    capture = details(
        "CaptureResponse_Declined_AmazonRejected.xml", "Capture", "CaptureDetails", parse_capture
    )
    assert (capture.status.state, capture.status.reason_code) == ("Declined", "AmazonRejected")
    assert capture.status.reason_description.startswith("Amazon has rejected the capture.")
    assert capture.capture_amount == Money(Decimal("94.50"), "EUR")


def test_get_capture_details_parses():
    capture = details("GetCaptureDetailsResponse.xml", "GetCaptureDetails", "CaptureDetails", parse_capture)
    assert capture.amazon_capture_id == "S01-9821095-1837200-C041953"
    assert capture.seller_capture_note == "testing"


def test_a_multi_currency_capture_keeps_presentment_and_settlement_amounts_apart():
    capture = details(
        "GetCaptureDetailsResponse_MultiCurrency.xml", "GetCaptureDetails", "CaptureDetails", parse_capture
    )
    assert capture.capture_amount == Money(Decimal("0.99"), "CHF")
    assert capture.converted_amount == Money(Decimal("1.88"), "EUR")
    assert capture.conversion_rate == Decimal("1.1297854087")
    assert capture.refunded_amount == Money(Decimal("0"), "CHF")


# --- refund -------------------------------------------------------------------------------------


def test_a_new_refund_is_pending():
    refund = details("RefundResponse.xml", "Refund", "RefundDetails", parse_refund)
    assert isinstance(refund, Refund)
    assert refund.amazon_refund_id == "S01-5695290-1354077-R072290"
    assert refund.refund_reference_id == "testRefundId1354077"
    assert refund.refund_amount == usd("0.50")
    assert refund.fee_refunded == usd("0.00")
    assert refund.refund_type == "SellerInitiated"
    assert refund.status.state == "Pending"


def test_get_refund_details_shows_the_refund_completed_later():
    refund = details("GetRefundDetailsResponse.xml", "GetRefundDetails", "RefundDetails", parse_refund)
    assert refund.status.state == "Completed"
    assert refund.status.last_updated == datetime(2015, 11, 2, 21, 18, 48, 932000, tzinfo=UTC)


def test_a_multi_currency_refund_parses():
    refund = details(
        "GetRefundDetailsResponse_MultiCurrency.xml", "GetRefundDetails", "RefundDetails", parse_refund
    )
    assert refund.refund_amount == Money(Decimal("1.33"), "NOK")
    assert refund.converted_amount == Money(Decimal("1.03"), "EUR")


# --- service status -----------------------------------------------------------------------------


def test_service_status_with_messages():
    from paydesk.amazonpay.replies import parse_service_status

    result, request_id = read_reply(sample("GetServiceStatusResponse_GreenI.xml"), action="GetServiceStatus")
    status = parse_service_status(result, request_id=request_id)
    assert status.status == "GREEN_I"
    assert status.message_id == "173964729I"
    assert [m.locale for m in status.messages] == ["en_UK", "en_US"]
    assert request_id == "d80c6c7b-f7c7-4fa7-bdd7-854711cb3bcc"


# --- errors -------------------------------------------------------------------------------------


def test_an_error_response_becomes_a_typed_exception_with_amazons_fields():
    error = error_from_reply(
        sample("ErrorResponse_OrderReferenceNotModifiable.xml"),
        http_status=400,
        operation="SetOrderReferenceDetails",
    )
    assert isinstance(error, InvalidState)
    assert (error.type, error.code, error.http_status) == ("Sender", "OrderReferenceNotModifiable", 400)
    assert error.message.startswith("OrderReference S01-5695290-1354077 is not in draft state")
    assert error.request_id == "6d4699b8-1238-4c09-b539-176e2c2f5462"
    assert "OrderReferenceNotModifiable" in str(error) and "6d4699b8" in str(error)


def test_a_throttled_reply_has_an_empty_type_and_the_eu_request_id_spelling():
    error = error_from_reply(sample("ErrorResponse_RequestThrottled.xml"), http_status=503)
    assert isinstance(error, Throttled)
    assert error.type is None
    assert error.request_id == "d702fd8e-206f-4da4-95e0-1e7422474077"
    assert error.retryable


@pytest.mark.parametrize(
    ("name", "status", "kind"),
    [
        ("ErrorResponse_InvalidAuthorizationStatus.xml", 405, InvalidState),
        ("ErrorResponse_InvalidOrderReferenceId.xml", 404, NotFound),
        ("ErrorResponse_InternalServerError.xml", 500, InternalError),
        ("ErrorResponse_UnauthorizedSolutionProvider.xml", 401, AccessDenied),
    ],
)
def test_error_codes_map_to_the_class_a_caller_matches_on(name, status, kind):
    error = error_from_reply(sample(name), http_status=status)
    assert type(error) is kind
    assert error.request_id


def test_an_error_status_without_amazon_xml_is_typed_by_its_status():
    error = error_from_reply(b"<html><body>Service Unavailable</body></html>", http_status=503)
    assert isinstance(error, ServiceUnavailable)
    assert error.code is None
    assert type(error_from_reply(b"", http_status=418)) is AmazonApiError


def test_an_error_response_sent_with_status_200_is_still_an_error():
    with pytest.raises(InvalidState):
        read_reply(sample("ErrorResponse_OrderReferenceNotModifiable.xml"), action="SetOrderReferenceDetails")


# --- strict where it matters, tolerant elsewhere -----------------------------------------------

AUTH = """<AuthorizeResponse xmlns="http://mws.amazonservices.com/schema/OffAmazonPayments/2013-01-01">
<AuthorizeResult><AuthorizationDetails>
  <AmazonAuthorizationId>S01-1-1-A1</AmazonAuthorizationId>
  <AuthorizationReferenceId>ref1</AuthorizationReferenceId>
  {amount}
  <AuthorizationStatus><State>Open</State><LastUpdateTimestamp>{updated}</LastUpdateTimestamp></AuthorizationStatus>
  <SomethingAmazonAddedLater><Nested>1</Nested></SomethingAmazonAddedLater>
</AuthorizationDetails></AuthorizeResult>
<ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></AuthorizeResponse>"""
GOOD_AMOUNT = (
    "<AuthorizationAmount><Amount>5.00</Amount><CurrencyCode>USD</CurrencyCode></AuthorizationAmount>"
)


def read_auth(amount: str = GOOD_AMOUNT, updated: str = "2024-01-02T03:04:05.123Z") -> Authorization:
    body = AUTH.format(amount=amount, updated=updated).encode()
    return read_details_reply(
        body, action="Authorize", element="AuthorizationDetails", parse=parse_authorization
    )


def test_unknown_elements_are_ignored():
    assert read_auth().status.state == "Open"


@pytest.mark.parametrize(
    ("amount", "updated", "complaint"),
    [
        ("", "2024-01-02T03:04:05Z", "AuthorizationAmount"),
        (
            "<AuthorizationAmount><CurrencyCode>USD</CurrencyCode></AuthorizationAmount>",
            "2024-01-02T03:04:05Z",
            "Amount",
        ),
        (
            "<AuthorizationAmount><Amount>5.001</Amount><CurrencyCode>USD</CurrencyCode></AuthorizationAmount>",
            "2024-01-02T03:04:05Z",
            "not money",
        ),
        (
            "<AuthorizationAmount><Amount>1e3</Amount><CurrencyCode>USD</CurrencyCode></AuthorizationAmount>",
            "2024-01-02T03:04:05Z",
            "not money",
        ),
        (GOOD_AMOUNT, "yesterday", "timestamp"),
        (GOOD_AMOUNT, "", "LastUpdateTimestamp"),
    ],
)
def test_a_missing_or_malformed_required_field_is_a_clear_reply_error(amount, updated, complaint):
    with pytest.raises(ReplyError, match=complaint):
        read_auth(amount, updated)


def test_elements_are_found_in_any_namespace_or_none():
    body = AUTH.format(amount=GOOD_AMOUNT, updated="2024-01-02T03:04:05Z").replace(
        'xmlns="http://mws.amazonservices.com/schema/OffAmazonPayments/2013-01-01"', 'xmlns="urn:other"'
    )
    auth = read_details_reply(
        body.encode(), action="Authorize", element="AuthorizationDetails", parse=parse_authorization
    )
    assert auth.amazon_authorization_id == "S01-1-1-A1"
    bare = parse_xml(
        "<AuthorizationDetails><AmazonAuthorizationId>A</AmazonAuthorizationId>"
        "<AuthorizationReferenceId>r</AuthorizationReferenceId>"
        + GOOD_AMOUNT
        + "<AuthorizationStatus><State>Open</State><LastUpdateTimestamp>2024-01-02T03:04:05Z"
        "</LastUpdateTimestamp></AuthorizationStatus></AuthorizationDetails>"
    )
    assert parse_authorization(bare).request_id is None


def test_documents_with_a_dtd_or_entities_are_refused_not_expanded():
    billion_laughs = b"""<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>
<AuthorizeResponse>&lol2;</AuthorizeResponse>"""
    with pytest.raises(ReplyError, match="DTD"):
        parse_xml(billion_laughs)
    external = b"""<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>"""
    with pytest.raises(ReplyError):
        parse_xml(external)


def test_a_reply_that_is_not_xml_is_a_reply_error():
    with pytest.raises(ReplyError, match="not well-formed"):
        parse_xml(b"<html><body>Bad gateway")
    for encoding in ("ATF-8", "utf-32", "idna", "undefined", "punycode"):
        with pytest.raises(ReplyError, match="unknown or unusable encoding"):
            parse_xml(f'<?xml version="1.0" encoding="{encoding}"?><AuthorizeResponse/>'.encode())


def test_a_success_reply_without_its_result_element_is_a_reply_error():
    body = (
        b'<AuthorizeResponse xmlns="x">'
        b"<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></AuthorizeResponse>"
    )
    with pytest.raises(ReplyError, match="AuthorizeResult"):
        read_details_reply(
            body, action="Authorize", element="AuthorizationDetails", parse=parse_authorization
        )
