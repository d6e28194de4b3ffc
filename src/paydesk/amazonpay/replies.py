"""Amazon Pay v1 XML -> the typed objects of `paydesk.amazonpay.details`.

Two layers, both independent of HTTP:

- Element functions - `parse_order_reference`, `parse_authorization`, `parse_capture`,
  `parse_refund` - take one `OrderReferenceDetails`/`OrderReference`, `AuthorizationDetails`,
  `CaptureDetails` or `RefundDetails` element, from an API reply or from an IPN's
  NotificationData alike. They ignore namespaces (API replies use
  `http://mws.amazonservices.com/schema/...`, IPN payloads `https://mws.amazonservices.com/ipn/...`,
  docs/amazon-pay-v1.md §1.4 and §7.3) and read both IdList forms: `<member>` in API replies,
  `<Id>` in NotificationData (Java SDK `IdList` model, `AuthorizationNotification2.json`).
- Reply functions read a whole `{Action}Response` or `ErrorResponse` body.

Tolerant of elements they do not know (Amazon added fields over the years: SoftDecline,
PaymentAuthenticationStatus, ...), strict about the ones Paydesk needs: a missing id, state,
amount or a malformed timestamp raises `ReplyError` naming the element.

XML is parsed with defusedxml with DTDs, entities and external references forbidden: Amazon's
replies never use them, so any that appear are refused rather than expanded.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import TypeVar
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree

from paydesk.amazonpay.details import (
    Address,
    Authorization,
    Buyer,
    Capture,
    Constraint,
    OrderReference,
    Refund,
    ServiceMessage,
    ServiceStatus,
    Status,
)
from paydesk.amazonpay.errors import AmazonApiError, ReplyError, api_error
from paydesk.payments.money import Money, MoneyError
from paydesk.payments.states import MACHINES, Kind

T = TypeVar("T")

# ISO 8601 as Amazon writes it: 2015-10-30T21:02:38.508Z, 2012-11-05T20:21:19Z; IPN samples
# also show "+01:00" offsets and, in hand-made copies, no offset at all.
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})?$")
_BOOLEANS = {"true": True, "false": False}


# --- XML basics -------------------------------------------------------------------------------


def parse_xml(body: bytes | str) -> Element:
    """The root element of an XML document, refusing DTDs, entities and external references."""
    try:
        return defusedxml.ElementTree.fromstring(
            body, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except defusedxml.DefusedXmlException as exc:
        raise ReplyError(
            f"refused XML with a DTD, entity or external reference ({type(exc).__name__})"
        ) from exc
    except ParseError as exc:
        raise ReplyError(f"not well-formed XML: {exc}") from exc
    except (LookupError, ValueError) as exc:
        # The XML declaration names an encoding expat cannot use: expat asks Python's codecs,
        # which raise LookupError (unknown), ValueError (multi-byte, e.g. UTF-32) or
        # UnicodeError (idna, undefined...).
        raise ReplyError(f"XML in an unknown or unusable encoding: {exc}") from exc


def local_name(element: Element) -> str:
    """An element's tag without its namespace: "{http://...}State" -> "State"."""
    return element.tag.rpartition("}")[2] if isinstance(element.tag, str) else ""


def find_child(element: Element, name: str) -> Element | None:
    """The first direct child with this local name, in any namespace."""
    for child in element:
        if local_name(child) == name:
            return child
    return None


def find_children(element: Element, name: str) -> list[Element]:
    return [child for child in element if local_name(child) == name]


def child_text(element: Element, name: str) -> str | None:
    """The stripped text of a direct child; None when the child is absent or empty."""
    child = find_child(element, name)
    if child is None:
        return None
    text = "".join(child.itertext()).strip()
    return text or None


def required_child(element: Element, name: str) -> Element:
    child = find_child(element, name)
    if child is None:
        raise ReplyError(f"<{local_name(element)}> has no <{name}>")
    return child


def required_text(element: Element, name: str) -> str:
    text = child_text(element, name)
    if text is None:
        raise ReplyError(f"<{local_name(element)}> has no <{name}> value")
    return text


# --- Amazon datatypes -------------------------------------------------------------------------


def parse_timestamp(text: str) -> datetime:
    """A timezone-aware datetime from Amazon's ISO 8601 text.

    UNCONFIRMED: a timestamp without an offset is read as UTC. Amazon's own replies always end
    in "Z"; offset-less values were seen only in a merchant's hand-made IPN copies (chameleon
    fixtures), and MWS documents all its timestamps as UTC.
    """
    if not _TIMESTAMP.match(text):
        raise ReplyError(f"{text!r} is not an ISO 8601 timestamp")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:  # shaped like a timestamp, but no such day or hour: 2026-02-30, 24:30
        raise ReplyError(f"{text!r} is not a moment in time") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _optional_timestamp(element: Element, name: str) -> datetime | None:
    text = child_text(element, name)
    return None if text is None else parse_timestamp(text)


def _optional_boolean(element: Element, name: str) -> bool | None:
    text = child_text(element, name)
    if text is None:
        return None
    try:
        return _BOOLEANS[text.lower()]
    except KeyError:
        raise ReplyError(f"<{name}> is {text!r}, not true or false") from None


def parse_money(element: Element) -> Money:
    """A `Price` element (`<Amount>` and `<CurrencyCode>`, in either order) as Money."""
    amount = required_text(element, "Amount")
    currency = required_text(element, "CurrencyCode")
    try:
        return Money.parse(amount, currency)
    except MoneyError as exc:
        raise ReplyError(f"<{local_name(element)}> is not money: {exc}") from exc


def _optional_money(element: Element, name: str) -> Money | None:
    child = find_child(element, name)
    return None if child is None else parse_money(child)


def _optional_decimal(element: Element, name: str) -> Decimal | None:
    text = child_text(element, name)
    if text is None:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ReplyError(f"<{name}> is {text!r}, not a number") from None
    if not value.is_finite():
        raise ReplyError(f"<{name}> is {text!r}, not a number")
    return value


def parse_id_list(element: Element | None) -> tuple[str, ...]:
    """The ids of an `IdList`: `<member>` children in API replies, `<Id>` children in IPNs."""
    if element is None:
        return ()
    ids = []
    for child in element:
        if local_name(child) in ("member", "Id"):
            text = "".join(child.itertext()).strip()
            if text:
                ids.append(text)
    return tuple(ids)


def parse_status(element: Element, kind: Kind) -> Status:
    """An `...Status` element of an object of `kind`. Only `OrderReferenceStatus` may lack its
    LastUpdateTimestamp: Amazon leaves it out while the order reference is Draft. A state
    outside the kind's machine (a capture "Open") is refused here, where it is read, rather
    than when a payment is being changed."""
    if kind is Kind.ORDER_REFERENCE:
        last_updated = _optional_timestamp(element, "LastUpdateTimestamp")
    else:
        last_updated = parse_timestamp(required_text(element, "LastUpdateTimestamp"))
    state = required_text(element, "State")
    if state not in MACHINES[kind].states:
        raise ReplyError(f"{state!r} is not a state of an Amazon {kind.value.replace('_', ' ')}")
    return Status(
        state=state,
        last_updated=last_updated,
        reason_code=child_text(element, "ReasonCode"),
        reason_description=child_text(element, "ReasonDescription"),
    )


def parse_address(element: Element) -> Address:
    """An `Address` datatype (PhysicalDestination, PhysicalAddress, AuthorizationBillingAddress)."""
    return Address(
        name=child_text(element, "Name"),
        address_line1=child_text(element, "AddressLine1"),
        address_line2=child_text(element, "AddressLine2"),
        address_line3=child_text(element, "AddressLine3"),
        city=child_text(element, "City"),
        county=child_text(element, "County"),
        district=child_text(element, "District"),
        state_or_region=child_text(element, "StateOrRegion"),
        postal_code=child_text(element, "PostalCode"),
        country_code=child_text(element, "CountryCode"),
        phone=child_text(element, "Phone"),
    )


def _nested_address(element: Element, outer: str, inner: str) -> Address | None:
    wrapper = find_child(element, outer)
    if wrapper is None:
        return None
    address = find_child(wrapper, inner)
    return None if address is None else parse_address(address)


# --- The four payment objects (API replies and IPN NotificationData) ------------------------


def parse_order_reference(element: Element, *, request_id: str | None = None) -> OrderReference:
    """An `OrderReferenceDetails` (API) or `OrderReference` (IPN) element."""
    seller_attributes = find_child(element, "SellerOrderAttributes")
    buyer_element = find_child(element, "Buyer")
    constraints_element = find_child(element, "Constraints")
    return OrderReference(
        amazon_order_reference_id=required_text(element, "AmazonOrderReferenceId"),
        status=parse_status(required_child(element, "OrderReferenceStatus"), Kind.ORDER_REFERENCE),
        order_total=_optional_money(element, "OrderTotal"),
        seller_note=child_text(element, "SellerNote"),
        platform_id=child_text(element, "PlatformId"),
        seller_order_id=None if seller_attributes is None else child_text(seller_attributes, "SellerOrderId"),
        store_name=None if seller_attributes is None else child_text(seller_attributes, "StoreName"),
        custom_information=(
            None if seller_attributes is None else child_text(seller_attributes, "CustomInformation")
        ),
        buyer=(
            None
            if buyer_element is None
            else Buyer(
                name=child_text(buyer_element, "Name"),
                email=child_text(buyer_element, "Email"),
                phone=child_text(buyer_element, "Phone"),
            )
        ),
        destination=_nested_address(element, "Destination", "PhysicalDestination"),
        billing_address=_nested_address(element, "BillingAddress", "PhysicalAddress"),
        release_environment=child_text(element, "ReleaseEnvironment"),
        constraints=(
            ()
            if constraints_element is None
            else tuple(
                Constraint(
                    constraint_id=required_text(constraint, "ConstraintID"),
                    description=child_text(constraint, "Description"),
                )
                for constraint in find_children(constraints_element, "Constraint")
            )
        ),
        authorization_ids=parse_id_list(find_child(element, "IdList")),
        creation_timestamp=_optional_timestamp(element, "CreationTimestamp"),
        expiration_timestamp=_optional_timestamp(element, "ExpirationTimestamp"),
        request_payment_authorization=_optional_boolean(element, "RequestPaymentAuthorization"),
        request_id=request_id,
    )


def parse_authorization(element: Element, *, request_id: str | None = None) -> Authorization:
    """An `AuthorizationDetails` element (API reply or IPN)."""
    billing = find_child(element, "AuthorizationBillingAddress")
    return Authorization(
        amazon_authorization_id=required_text(element, "AmazonAuthorizationId"),
        authorization_reference_id=required_text(element, "AuthorizationReferenceId"),
        authorization_amount=parse_money(required_child(element, "AuthorizationAmount")),
        status=parse_status(required_child(element, "AuthorizationStatus"), Kind.AUTHORIZATION),
        captured_amount=_optional_money(element, "CapturedAmount"),
        authorization_fee=_optional_money(element, "AuthorizationFee"),
        capture_ids=parse_id_list(find_child(element, "IdList")),
        creation_timestamp=_optional_timestamp(element, "CreationTimestamp"),
        expiration_timestamp=_optional_timestamp(element, "ExpirationTimestamp"),
        capture_now=_optional_boolean(element, "CaptureNow"),
        soft_decline=_optional_boolean(element, "SoftDecline"),
        soft_descriptor=child_text(element, "SoftDescriptor"),
        seller_authorization_note=child_text(element, "SellerAuthorizationNote"),
        billing_address=None if billing is None else parse_address(billing),
        request_id=request_id,
    )


def parse_capture(element: Element, *, request_id: str | None = None) -> Capture:
    """A `CaptureDetails` element (API reply or IPN)."""
    return Capture(
        amazon_capture_id=required_text(element, "AmazonCaptureId"),
        capture_reference_id=required_text(element, "CaptureReferenceId"),
        capture_amount=parse_money(required_child(element, "CaptureAmount")),
        status=parse_status(required_child(element, "CaptureStatus"), Kind.CAPTURE),
        refunded_amount=_optional_money(element, "RefundedAmount"),
        capture_fee=_optional_money(element, "CaptureFee"),
        refund_ids=parse_id_list(find_child(element, "IdList")),
        creation_timestamp=_optional_timestamp(element, "CreationTimestamp"),
        soft_descriptor=child_text(element, "SoftDescriptor"),
        seller_capture_note=child_text(element, "SellerCaptureNote"),
        converted_amount=_optional_money(element, "ConvertedAmount"),
        conversion_rate=_optional_decimal(element, "ConversionRate"),
        request_id=request_id,
    )


def parse_refund(element: Element, *, request_id: str | None = None) -> Refund:
    """A `RefundDetails` element (API reply or IPN)."""
    return Refund(
        amazon_refund_id=required_text(element, "AmazonRefundId"),
        refund_reference_id=required_text(element, "RefundReferenceId"),
        refund_amount=parse_money(required_child(element, "RefundAmount")),
        status=parse_status(required_child(element, "RefundStatus"), Kind.REFUND),
        fee_refunded=_optional_money(element, "FeeRefunded"),
        refund_type=child_text(element, "RefundType"),
        creation_timestamp=_optional_timestamp(element, "CreationTimestamp"),
        soft_descriptor=child_text(element, "SoftDescriptor"),
        seller_refund_note=child_text(element, "SellerRefundNote"),
        converted_amount=_optional_money(element, "ConvertedAmount"),
        conversion_rate=_optional_decimal(element, "ConversionRate"),
        request_id=request_id,
    )


def parse_service_status(element: Element, *, request_id: str | None = None) -> ServiceStatus:
    """A `GetServiceStatusResult` element (Java SDK fixtures `GetServiceStatusResponseGreenI.xml`)."""
    messages = find_child(element, "Messages")
    return ServiceStatus(
        status=required_text(element, "Status"),
        timestamp=_optional_timestamp(element, "Timestamp"),
        message_id=child_text(element, "MessageId"),
        messages=(
            ()
            if messages is None
            else tuple(
                ServiceMessage(locale=child_text(message, "Locale"), text=child_text(message, "Text"))
                for message in find_children(messages, "Message")
            )
        ),
        request_id=request_id,
    )


# --- Whole replies ----------------------------------------------------------------------------


def _request_id(root: Element) -> str | None:
    # Success replies: <ResponseMetadata><RequestId>. ErrorResponse: <RequestId> directly under
    # the root - spelled <RequestID> by the EU endpoint and in throttling replies (Python SDK
    # payment_response.py comment; Java SDK Throttled.xml).
    metadata = find_child(root, "ResponseMetadata")
    for holder in (metadata, root):
        if holder is not None:
            found = child_text(holder, "RequestId") or child_text(holder, "RequestID")
            if found:
                return found
    return None


def error_from_reply(body: bytes, *, http_status: int, operation: str | None = None) -> AmazonApiError:
    """The typed exception for an error reply.

    Reads Amazon's `ErrorResponse` (Type, Code, Message, RequestId/RequestID). A body that is
    not one (an HTML page from a proxy, an empty 503) still gives an error, typed by its HTTP
    status, so a caller can always tell throttling and outages from refusals.
    """
    try:
        root = parse_xml(body)
    except ReplyError:
        root = None
    error = None if root is None or local_name(root) != "ErrorResponse" else find_child(root, "Error")
    if root is None or error is None:
        return api_error(
            http_status=http_status,
            type=None,
            code=None,
            message=None,
            request_id=None if root is None else _request_id(root),
            operation=operation,
        )
    return api_error(
        http_status=http_status,
        type=child_text(error, "Type"),
        code=child_text(error, "Code"),
        message=child_text(error, "Message"),
        request_id=_request_id(root),
        operation=operation,
    )


def read_reply(body: bytes, *, action: str, http_status: int = 200) -> tuple[Element | None, str | None]:
    """The `{action}Result` element (None when absent) and the RequestId of a success reply.

    An `ErrorResponse` arriving with a success status is raised as the error it is.
    """
    root = parse_xml(body)
    name = local_name(root)
    if name == "ErrorResponse":
        raise error_from_reply(body, http_status=http_status, operation=action)
    if name != f"{action}Response":
        raise ReplyError(
            f"expected <{action}Response>, got <{name}>", operation=action, http_status=http_status
        )
    return find_child(root, f"{action}Result"), _request_id(root)


def read_details_reply(
    body: bytes,
    *,
    action: str,
    element: str,
    parse: Callable[..., T],
    http_status: int = 200,
) -> T:
    """Parse `{action}Response/{action}Result/{element}` with one of the element functions."""
    result, request_id = read_reply(body, action=action, http_status=http_status)
    if result is None:
        raise ReplyError(
            f"<{action}Response> has no <{action}Result>", operation=action, http_status=http_status
        )
    try:
        return parse(required_child(result, element), request_id=request_id)
    except ReplyError as exc:
        raise ReplyError(f"{action} reply: {exc}", operation=action, http_status=http_status) from exc


def read_empty_reply(body: bytes, *, action: str, http_status: int = 200) -> str | None:
    """Check an acknowledgement reply (Confirm, Cancel, Close...) and return its RequestId.

    Amazon's doc samples omit the empty `{action}Result` element that real replies carry
    (docs/amazon-pay-v1.md §2.6, §2.8), so both shapes are accepted.
    """
    _result, request_id = read_reply(body, action=action, http_status=http_status)
    return request_id
