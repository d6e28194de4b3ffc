"""An IPN's NotificationData XML -> the same typed objects the API client returns.

Amazon Pay wraps each object in a notification element (docs/amazon-pay-v1.md §7.4):
`OrderReferenceNotification/OrderReference`, `AuthorizationNotification/AuthorizationDetails`,
`CaptureNotification/CaptureDetails`, `RefundNotification/RefundDetails`. The element parsers of
`paydesk.amazonpay.replies` read both, so an object means the same whether a reply, a refresh or
an IPN told us of it. XML is read with defusedxml: DTDs and entities are refused.
"""

from __future__ import annotations

from collections.abc import Callable
from xml.etree.ElementTree import Element

from paydesk.amazonpay import replies
from paydesk.amazonpay.details import Authorization, Capture, OrderReference, Refund
from paydesk.amazonpay.errors import ReplyError

PaymentObject = OrderReference | Authorization | Capture | Refund

# NotificationType -> (root element, object element, parser)
_SHAPES: dict[str, tuple[str, str, Callable[[Element], PaymentObject]]] = {
    "OrderReferenceNotification": (
        "OrderReferenceNotification",
        "OrderReference",
        replies.parse_order_reference,
    ),
    "PaymentAuthorize": ("AuthorizationNotification", "AuthorizationDetails", replies.parse_authorization),
    "PaymentCapture": ("CaptureNotification", "CaptureDetails", replies.parse_capture),
    "PaymentRefund": ("RefundNotification", "RefundDetails", replies.parse_refund),
}
PAYMENT_NOTIFICATION_TYPES = frozenset(_SHAPES)


class NotificationDataError(ValueError):
    """NotificationData that is not the XML Amazon documents for its NotificationType."""


def parse_notification_data(
    notification_type: str, xml: str, *, root: Element | None = None
) -> PaymentObject:
    """The object an OrderReferenceNotification, PaymentAuthorize, PaymentCapture or PaymentRefund
    reports; `root`: the same XML already parsed (the SNS check parses it). Raises
    `NotificationDataError` for any other type or for malformed XML."""
    shape = _SHAPES.get(notification_type)
    if shape is None:
        raise NotificationDataError(f"Paydesk does not apply {notification_type!r} notifications.")
    root_name, object_name, parse = shape
    try:
        if root is None:
            root = replies.parse_xml(xml.strip())
        if replies.local_name(root) != root_name:
            raise NotificationDataError(
                f"A {notification_type} notification holds <{root_name}>, not <{replies.local_name(root)}>."
            )
        return parse(replies.required_child(root, object_name))
    except ReplyError as exc:
        raise NotificationDataError(f"Unreadable {notification_type} NotificationData: {exc}") from exc
