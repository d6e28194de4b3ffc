"""What of a request or reply may be written to a log.

Amazon's SDKs mask the same things before they log: the seller notes and the buyer's data -
`SellerNote`, `SellerAuthorizationNote`, `SellerCaptureNote`, `SellerRefundNote`, `Buyer`,
`PhysicalDestination`, `BillingAddress`, `AuthorizationBillingAddress` (Java SDK
`PayLogUtil.sanitizeString`; Python SDK `payment_request.py::_sanitize_request_data` and
`_sanitize_response_data`). Paydesk masks those too, and additionally never lets the
signature, the access key or a buyer's access token into a log.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

MASK = "REMOVED"

_MASKED_ELEMENTS = (
    "SellerNote",
    "SellerAuthorizationNote",
    "SellerCaptureNote",
    "SellerRefundNote",
    "Buyer",
    "PhysicalDestination",
    "BillingAddress",
    "AuthorizationBillingAddress",
)
_ELEMENT = re.compile(
    r"<(?P<tag>(?:\w+:)?(?:" + "|".join(_MASKED_ELEMENTS) + r"))(?P<attrs>\s[^>]*)?>.*?</(?P=tag)\s*>",
    re.DOTALL,
)
# Request parameters: the notes (whatever their prefix, e.g. OrderReferenceAttributes.SellerNote),
# the signature, and the credentials a log reader must never see.
_MASKED_PARAMETER_SUFFIXES = (
    "SellerNote",
    "SellerAuthorizationNote",
    "SellerCaptureNote",
    "SellerRefundNote",
    "AccessToken",
    "AddressConsentToken",
    "Signature",
    "AWSAccessKeyId",
    "MWSAuthToken",
)


def masked_parameters(parameters: Mapping[str, str]) -> dict[str, str]:
    """A copy of request parameters safe to log: notes, tokens and the signature masked."""
    return {
        name: MASK if name.rsplit(".", 1)[-1] in _MASKED_PARAMETER_SUFFIXES else value
        for name, value in parameters.items()
    }


def masked_reply(text: str) -> str:
    """Reply XML safe to log: buyer data and notes replaced by REMOVED."""
    return _ELEMENT.sub(lambda m: f"<{m['tag']}>{MASK}</{m['tag']}>", text)


# An SNS message's UnsubscribeURL ends the store's IPN subscription for whoever opens it, no
# sign-in needed: it (and the subscription ARN it is made of) is kept in the stored request,
# never shown on a page.
_UNSUBSCRIBE_URL = re.compile(r'("UnsubscribeURL"\s*:\s*")((?:[^"\\]|\\.)*)(")')
# A subscription confirmation's SubscribeURL and Token confirm it for whoever uses them, and
# the confirmation's answer names the subscription (and so its unsubscribe link).
_SUBSCRIBE_SECRETS = re.compile(r'("(?:SubscribeURL|Token)"\s*:\s*")((?:[^"\\]|\\.)*)(")')


def sns_body_for_display(body: str) -> str:
    shown = _UNSUBSCRIBE_URL.sub(r"\g<1>" + MASK + r" (it unsubscribes the store)\g<3>", body)
    return _SUBSCRIBE_SECRETS.sub(r"\g<1>" + MASK + r"\g<3>", shown)


# The subscription's ARN is all an unsubscribe link needs besides SNS's address.
_SUBSCRIPTION_HEADER = "x-amz-sns-subscription-arn"


def sns_headers_for_display(headers: dict[str, str]) -> list[tuple[str, str]]:
    return [
        (
            name,
            f"{MASK} (with it anyone can unsubscribe the store)"
            if name.lower() == _SUBSCRIPTION_HEADER
            else value,
        )
        for name, value in headers.items()
    ]
