"""Amazon's reply documents: `<{Action}Response>` envelopes, the `*Details` payloads and
`ErrorResponse`, with Amazon's element names, nesting and namespace.

Shapes follow Amazon's published samples as kept in the official SDKs' fixtures (CS
UnitTests/TestFiles/*.xml, JAVA tst/.../response/xml/*.xml; docs/amazon-pay-v1.md §1.4, §2, §5.1).
The IPN variant of each payload (NotificationData) differs in two ways: its namespace, and IdList
members are `<Id>` instead of `<member>` (§2.2, §7.4).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET  # only ever used to *write* XML
from collections.abc import Iterable

from paydesk.sandbox.amounts import Amount
from paydesk.sandbox.clock import amazon_timestamp
from paydesk.sandbox.engine import constraint_description, order_constraints
from paydesk.sandbox.errors import AmazonError
from paydesk.sandbox.model import (
    DECLINED,
    DRAFT,
    Address,
    Authorization,
    Capture,
    OrderReference,
    Refund,
    Status,
)

API_NAMESPACE = "http://mws.amazonservices.com/schema/OffAmazonPayments/2013-01-01"
IPN_NAMESPACE = "https://mws.amazonservices.com/ipn/OffAmazonPayments/2013-01-01"

# Operations whose success reply carries an empty Result element. Amazon's doc samples omit it for
# Confirm/CloseOrderReference, but real sandbox replies have it (a JP sandbox transcript made with
# the Python SDK; Spryker's mocks; docs/amazon-pay-v1.md §2.6, §2.8); Cancel/CloseAuthorization
# have it in the CS/JAVA fixtures.
EMPTY_RESULT = frozenset(
    {"ConfirmOrderReference", "CloseOrderReference", "CancelOrderReference", "CloseAuthorization"}
)


def _add(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    element = ET.SubElement(parent, tag)
    if text is not None:
        element.text = text
    return element


def _add_optional(parent: ET.Element, tag: str, text: str | None) -> None:
    if text is not None:
        _add(parent, tag, text)


def _price(parent: ET.Element, tag: str, amount: Amount) -> None:
    price = _add(parent, tag)
    _add(price, "Amount", amount.wire())
    _add(price, "CurrencyCode", amount.currency)


def _status(parent: ET.Element, tag: str, status: Status) -> None:
    element = _add(parent, tag)
    _add(element, "State", status.state)
    if status.last_update is not None:
        _add(element, "LastUpdateTimestamp", amazon_timestamp(status.last_update))
    _add_optional(element, "ReasonCode", status.reason_code)
    _add_optional(element, "ReasonDescription", status.reason_description)


def _id_list(parent: ET.Element, ids: Iterable[str], member_tag: str) -> None:
    id_list = _add(parent, "IdList")
    for object_id in ids:
        _add(id_list, member_tag, object_id)


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _destination(parent: ET.Element, address: Address, full: bool) -> None:
    """Before confirmation Amazon shows only City, StateOrRegion, PostalCode and CountryCode
    (confirmorderreference.html)."""
    destination = _add(parent, "Destination")
    _add(destination, "DestinationType", "Physical")
    physical = _add(destination, "PhysicalDestination")
    if full:
        _add(physical, "Name", address.name)
        _add(physical, "AddressLine1", address.address_line1)
        _add_optional(physical, "AddressLine2", address.address_line2)
    _add(physical, "City", address.city)
    _add_optional(physical, "StateOrRegion", address.state_or_region)
    _add(physical, "PostalCode", address.postal_code)
    _add(physical, "CountryCode", address.country_code)
    if full:
        _add_optional(physical, "Phone", address.phone)


def _seller_order_attributes(parent: ET.Element, order: OrderReference, *, with_seller_id: bool) -> None:
    attributes = _add(parent, "SellerOrderAttributes")
    if with_seller_id:  # the IPN copy names the seller (JAVA OrderReferenceNotification fixtures)
        _add(attributes, "SellerId", order.seller_id)
    _add_optional(attributes, "SellerOrderId", order.seller_order_id)
    _add_optional(attributes, "StoreName", order.store_name)
    _add_optional(attributes, "CustomInformation", order.custom_information)
    _add_optional(attributes, "SupplementaryData", order.supplementary_data)
    categories = _add(attributes, "OrderItemCategories")
    for category in order.order_item_categories:
        _add(categories, "OrderItemCategory", category)


def order_reference_details(order: OrderReference, *, full: bool) -> ET.Element:
    """`full`: buyer name and the whole address, which Amazon only shows once the order
    reference is confirmed (or to a caller holding the buyer's AccessToken)."""
    details = ET.Element("OrderReferenceDetails")
    _add(details, "AmazonOrderReferenceId", order.id)
    _status(details, "OrderReferenceStatus", order.status)
    if order.order_total is not None:
        _price(details, "OrderTotal", order.order_total)
    if order.destination is not None:
        _destination(details, order.destination, full)
    _id_list(details, order.authorization_ids, "member")
    _seller_order_attributes(details, order, with_seller_id=False)
    if full:
        buyer = _add(details, "Buyer")
        _add(buyer, "Name", order.buyer.name)
        _add(buyer, "Email", order.buyer.email)
        _add_optional(buyer, "Phone", order.buyer.phone)
    _add(details, "ReleaseEnvironment", order.environment)
    _add_optional(details, "SellerNote", order.seller_note)
    _add_optional(details, "PlatformId", order.platform_id)
    if order.psp_id is not None or order.psp_order_id is not None:
        psp = _add(details, "PaymentServiceProviderAttributes")
        _add_optional(psp, "PaymentServiceProviderId", order.psp_id)
        _add_optional(psp, "PaymentServiceProviderOrderId", order.psp_order_id)
    if order.status.state == DRAFT:
        constraints = order_constraints(order)
        if constraints:
            element = _add(details, "Constraints")
            for constraint in constraints:
                item = _add(element, "Constraint")
                _add(item, "ConstraintID", constraint)
                _add(item, "Description", constraint_description(constraint))
    _add(details, "CreationTimestamp", amazon_timestamp(order.created))
    _add(details, "ExpirationTimestamp", amazon_timestamp(order.expires))
    _add(details, "RequestPaymentAuthorization", _bool(bool(order.request_payment_authorization)))
    return details


def authorization_details(
    authorization: Authorization, *, member_tag: str = "member", as_first_reply: bool = False
) -> ET.Element:
    """`as_first_reply`: the Authorize reply that created the authorization. Amazon's synchronous
    CaptureNow Authorize reply still says CapturedAmount 0 while GetAuthorizationDetails says the
    full amount (CS fixtures AuthorizeResponse.xml vs GetAuthorizationDetails.xml); we copy that
    quirk so that clients learn not to trust it. A replayed Authorize is not a first reply."""
    details = ET.Element("AuthorizationDetails")
    _add(details, "AmazonAuthorizationId", authorization.id)
    _add(details, "AuthorizationReferenceId", authorization.origin.reference_id)
    _add_optional(details, "SellerAuthorizationNote", authorization.note)
    _price(details, "AuthorizationAmount", authorization.amount)
    captured = Amount.zero(authorization.amount.currency) if as_first_reply else authorization.captured
    _price(details, "CapturedAmount", captured)
    _price(details, "AuthorizationFee", authorization.fee)
    _id_list(details, authorization.capture_ids, member_tag)
    _add(details, "CreationTimestamp", amazon_timestamp(authorization.created))
    _add(details, "ExpirationTimestamp", amazon_timestamp(authorization.expires))
    _status(details, "AuthorizationStatus", authorization.status)
    if authorization.status.state == DECLINED:
        _add(details, "SoftDecline", _bool(authorization.soft_decline))
    _add(details, "OrderItemCategories")
    _add(details, "CaptureNow", _bool(authorization.capture_now))
    _add_optional(details, "SoftDescriptor", authorization.soft_descriptor)
    return details


def capture_details(capture: Capture, *, member_tag: str = "member") -> ET.Element:
    details = ET.Element("CaptureDetails")
    _add(details, "AmazonCaptureId", capture.id)
    _add(details, "CaptureReferenceId", capture.origin.reference_id)
    _add_optional(details, "SellerCaptureNote", capture.note)
    _price(details, "CaptureAmount", capture.amount)
    _price(details, "RefundedAmount", capture.refunded)
    _price(details, "CaptureFee", capture.fee)
    _id_list(details, capture.refund_ids, member_tag)
    _add(details, "CreationTimestamp", amazon_timestamp(capture.created))
    _status(details, "CaptureStatus", capture.status)
    _add_optional(details, "SoftDescriptor", capture.soft_descriptor)
    return details


def refund_details(refund: Refund) -> ET.Element:
    details = ET.Element("RefundDetails")
    _add(details, "AmazonRefundId", refund.id)
    _add(details, "RefundReferenceId", refund.origin.reference_id)
    _add_optional(details, "SellerRefundNote", refund.note)
    _add(details, "RefundType", "SellerInitiated")
    _price(details, "RefundAmount", refund.amount)
    _price(details, "FeeRefunded", refund.fee_refunded)
    _add(details, "CreationTimestamp", amazon_timestamp(refund.created))
    _status(details, "RefundStatus", refund.status)
    _add_optional(details, "SoftDescriptor", refund.soft_descriptor)
    return details


def service_status(status: str, timestamp: str) -> ET.Element:
    """GetServiceStatusResult's children (JAVA GetServiceStatusResponse*.xml)."""
    holder = ET.Element("GetServiceStatusResult")
    _add(holder, "Status", status)
    _add(holder, "Timestamp", timestamp)
    return holder


def _document(root: ET.Element) -> bytes:
    return b'<?xml version="1.0"?>\n' + ET.tostring(root, encoding="utf-8", xml_declaration=False)


def success(action: str, payload: ET.Element | None, request_id: str) -> bytes:
    """`<{Action}Response xmlns=...><{Action}Result>payload</...><ResponseMetadata>...`."""
    root = ET.Element(f"{action}Response", {"xmlns": API_NAMESPACE})
    if payload is not None and payload.tag == f"{action}Result":
        root.append(payload)
    elif payload is not None:
        _add(root, f"{action}Result").append(payload)
    elif action in EMPTY_RESULT:
        _add(root, f"{action}Result")
    metadata = _add(root, "ResponseMetadata")
    _add(metadata, "RequestId", request_id)
    return _document(root)


def error(failure: AmazonError, request_id: str) -> bytes:
    """Amazon's ErrorResponse: RequestId is a direct child, not in ResponseMetadata (JAVA
    ErrorResponse.xml). Replies from MWS's front door spell it RequestID: a throttled reply
    (JAVA Throttled.xml, which also has an empty Type) and RequestExpired (§1.2)."""
    root = ET.Element("ErrorResponse", {"xmlns": API_NAMESPACE})
    body = _add(root, "Error")
    throttled = failure.code == "RequestThrottled"
    _add(body, "Type", "" if throttled else failure.type)
    _add(body, "Code", failure.code)
    _add(body, "Message", failure.message)
    front_door = failure.code in ("RequestThrottled", "RequestExpired")
    _add(root, "RequestID" if front_door else "RequestId", request_id)
    return _document(root)


def notification_data(root_tag: str, payload: ET.Element) -> str:
    """An IPN's NotificationData: an XML string with the IPN namespace (§7.3, §7.4)."""
    root = ET.Element(root_tag, {"xmlns": IPN_NAMESPACE})
    root.append(payload)
    return '<?xml version="1.0" encoding="UTF-8"?>' + ET.tostring(root, encoding="unicode")


def order_reference_notification(order: OrderReference) -> ET.Element:
    """The IPN's OrderReference: a subset of the details (JAVA OrderReferenceNotification*.json)."""
    payload = ET.Element("OrderReference")
    _add(payload, "AmazonOrderReferenceId", order.id)
    if order.order_total is not None:
        _price(payload, "OrderTotal", order.order_total)
    _seller_order_attributes(payload, order, with_seller_id=True)
    _status(payload, "OrderReferenceStatus", order.status)
    _add(payload, "CreationTimestamp", amazon_timestamp(order.created))
    _add(payload, "ExpirationTimestamp", amazon_timestamp(order.expires))
    return payload
