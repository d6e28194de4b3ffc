"""The element functions read IPN NotificationData into the same types the API replies give.

The fixtures are the NotificationData of real sandbox IPNs (Amazon's Java SDK fixtures); their
namespace is the IPN one (https://mws.amazonservices.com/ipn/...) and IdLists use <Id>.
"""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from paydesk.amazonpay.details import Authorization, Capture, OrderReference, Refund
from paydesk.amazonpay.replies import (
    find_child,
    parse_authorization,
    parse_capture,
    parse_order_reference,
    parse_refund,
    parse_xml,
)
from paydesk.payments.money import Money
from tests.client.samples import sample


def notification(name: str, element: str):
    root = parse_xml(sample(name))
    assert root.tag.startswith("{https://mws.amazonservices.com/ipn/OffAmazonPayments/2013-01-01}")
    found = find_child(root, element)
    assert found is not None
    return found


def test_an_authorization_notification_reads_its_capture_id_from_an_id_element():
    auth = parse_authorization(
        notification("NotificationData_AuthorizationNotification.xml", "AuthorizationDetails")
    )
    assert isinstance(auth, Authorization)
    assert auth.amazon_authorization_id == "S01-2063624-0128488-A098527"
    assert auth.authorization_reference_id == "cDiiofOL"
    assert auth.capture_ids == ("S01-2063624-0128488-C098527",)
    assert auth.authorization_amount == Money(Decimal("5.00"), "USD")  # "5.0" on the wire
    assert auth.captured_amount == Money(Decimal("5.00"), "USD")
    assert (auth.status.state, auth.status.reason_code) == ("Closed", "MaxCapturesProcessed")
    assert auth.status.last_updated == datetime(2015, 11, 21, 15, 55, 18, 970000, tzinfo=UTC)
    assert auth.capture_now is True
    assert auth.request_id is None


def test_a_capture_notification_parses():
    capture = parse_capture(notification("NotificationData_CaptureNotification.xml", "CaptureDetails"))
    assert isinstance(capture, Capture)
    assert capture.amazon_capture_id == "S01-2063624-0128488-C098527"
    assert capture.capture_amount == Money(Decimal("5.00"), "USD")
    assert capture.status.state == "Completed"
    assert capture.refund_ids == ()


def test_a_multi_currency_capture_notification_parses():
    capture = parse_capture(
        notification("NotificationData_CaptureNotification_MultiCurrency.xml", "CaptureDetails")
    )
    assert capture.capture_amount == Money(Decimal("19.95"), "GBP")
    assert capture.converted_amount == Money(Decimal("21.84"), "EUR")
    assert capture.conversion_rate == Decimal("0.913362644")


def test_a_refund_notification_parses():
    refund = parse_refund(notification("NotificationData_RefundNotification.xml", "RefundDetails"))
    assert isinstance(refund, Refund)
    assert refund.amazon_refund_id == "S01-1024662-1173740-R095796"
    assert refund.refund_reference_id == "rGcWFywnref12"
    assert refund.status.state == "Completed"
    assert refund.refund_amount == Money(Decimal("1.00"), "USD")


def test_an_order_reference_notification_reads_the_ipn_subset():
    oro = parse_order_reference(
        notification("NotificationData_OrderReferenceNotification.xml", "OrderReference")
    )
    assert isinstance(oro, OrderReference)
    assert oro.amazon_order_reference_id == "S01-0557920-4544749"
    assert oro.order_total == Money(Decimal("5.00"), "USD")
    assert oro.seller_order_id == "ZJeskzGZ"
    assert (oro.status.state, oro.status.reason_code) == ("Closed", "MaxAuthorizationsProcessed")
    assert oro.buyer is None and oro.authorization_ids == ()


def test_a_schema_sample_with_comments_and_unknown_elements_still_parses():
    auth = parse_authorization(
        notification("NotificationData_AuthorizationNotification_Declined.xml", "AuthorizationDetails")
    )
    assert (auth.status.state, auth.status.reason_code) == ("Declined", "InvalidPaymentMethod")
    assert auth.status.reason_description.startswith("There were problems with the payment method.")
    assert auth.status.last_updated == datetime(2018, 11, 1, 6, 36, 46, tzinfo=timezone(timedelta(hours=1)))
    assert auth.creation_timestamp == datetime(2008, 9, 29, 3, 49, 45, tzinfo=UTC)  # offset-less: UTC
    assert auth.capture_ids == ()
    assert auth.capture_now is False
