"""The request parameters of each Amazon Pay v1 operation, checked before anything is sent.

Pure functions: typed arguments in, Amazon's parameter names and string values out (names from
docs/amazon-pay-v1.md §2.3-§2.16, which cites Amazon's API reference and SDKs). Values Amazon
would refuse anyway raise `InvalidRequest` here, with a message that says what to fix, instead
of costing a request, a throttling token and a round trip.
"""

from __future__ import annotations

import re

from paydesk.amazonpay.errors import InvalidRequest
from paydesk.payments import limits
from paydesk.payments.money import Money

# Authorization/Capture/RefundReferenceId: at most 32 of a-z A-Z 0-9 - _ (Amazon API reference,
# authorize.html, capture.html, refund.html).
_REFERENCE_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
# Amazon's own ids: S01-9821095-1837200, ...-A041953 (docs/amazon-pay-v1.md §1.5). Checked only
# loosely - letters, digits, dashes - so that an id format Amazon adds later still passes.
_AMAZON_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$")

# Field limits (docs/amazon-pay-v1.md §2.2, confirmed against Amazon's API reference).
NOTE_MAX = 255  # SellerAuthorizationNote, SellerCaptureNote, SellerRefundNote
SELLER_NOTE_MAX = 1024  # OrderReferenceAttributes.SellerNote (Java SDK request docs)
SOFT_DESCRIPTOR_MAX = 16
ORDER_CLOSURE_REASON_MAX = 1024  # CloseOrderReference ClosureReason
AUTHORIZATION_CLOSURE_REASON_MAX = 255  # CloseAuthorization ClosureReason
CANCELATION_REASON_MAX = 1024
# TransactionTimeout: 0 (synchronous) or a multiple of 5 from 5 to 1440 minutes (API reference,
# Authorize; docs/amazon-pay-v1.md §2.9).
TRANSACTION_TIMEOUT_MAX = 1440


def reference_id(field: str, value: str) -> str:
    if not isinstance(value, str) or not _REFERENCE_ID.match(value):
        raise InvalidRequest(
            f"{field} must be 1-32 characters of A-Z, a-z, 0-9, '-' and '_' (Amazon's rule), got {value!r}"
        )
    return value


def amazon_id(field: str, value: str) -> str:
    if not isinstance(value, str) or not _AMAZON_ID.match(value):
        raise InvalidRequest(f"{field} must be an Amazon id such as S01-1234567-1234567, got {value!r}")
    return value


def transaction_amount(field: str, amount: Money) -> Money:
    """A positive Money within Amazon's per-transaction maximum."""
    if not isinstance(amount, Money):
        raise InvalidRequest(
            f"{field} must be Money (Decimal amount and currency), not {type(amount).__name__}"
        )
    if not amount.is_positive:
        raise InvalidRequest(f"{field} must be more than zero, got {amount}")
    ceiling = limits.MAX_TRANSACTION_AMOUNT.get(amount.currency)
    if ceiling is not None and amount.amount > ceiling:
        raise InvalidRequest(
            f"{field} may be at most {ceiling} {amount.currency} per transaction, got {amount}"
        )
    return amount


def text(field: str, value: str, *, max_length: int | None) -> str:
    if not isinstance(value, str):
        raise InvalidRequest(f"{field} must be text, not {type(value).__name__}")
    if max_length is not None and len(value) > max_length:
        raise InvalidRequest(f"{field} may be at most {max_length} characters, got {len(value)}")
    return value


def flag(value: bool) -> str:
    """Amazon's booleans are the lower-case strings true/false (all SDKs)."""
    if not isinstance(value, bool):
        raise InvalidRequest(f"expected True or False, got {value!r}")
    return "true" if value else "false"


def _put_money(parameters: dict[str, str], prefix: str, amount: Money) -> None:
    parameters[f"{prefix}.Amount"] = amount.to_amazon()
    parameters[f"{prefix}.CurrencyCode"] = amount.currency


def _put_optional(
    parameters: dict[str, str], name: str, value: str | None, *, max_length: int | None
) -> None:
    if value is not None:
        parameters[name] = text(name, value, max_length=max_length)


# PlatformId, SellerOrderId, StoreName, CustomInformation: Amazon publishes no maximum, so none
# is invented here; Amazon's own answer decides.
_FREE_TEXT_MAX = None


def get_order_reference_details(
    amazon_order_reference_id: str, *, access_token: str | None
) -> dict[str, str]:
    parameters = {"AmazonOrderReferenceId": amazon_id("AmazonOrderReferenceId", amazon_order_reference_id)}
    if access_token is not None:
        # The buyer's Login with Amazon token unlocks the full address (docs §2.3).
        parameters["AccessToken"] = text("AccessToken", access_token, max_length=None)
    return parameters


def _order_attributes(
    prefix: str,
    *,
    amount: Money | None,
    seller_order_id: str | None,
    store_name: str | None,
    seller_note: str | None,
    custom_information: str | None,
    platform_id: str | None,
) -> dict[str, str]:
    parameters: dict[str, str] = {}
    if amount is not None:
        if not isinstance(amount, Money) or not amount.is_positive:
            raise InvalidRequest(f"{prefix}.OrderTotal must be positive Money, got {amount!r}")
        _put_money(parameters, f"{prefix}.OrderTotal", amount)
    _put_optional(parameters, f"{prefix}.PlatformId", platform_id, max_length=_FREE_TEXT_MAX)
    _put_optional(parameters, f"{prefix}.SellerNote", seller_note, max_length=SELLER_NOTE_MAX)
    _put_optional(
        parameters,
        f"{prefix}.SellerOrderAttributes.SellerOrderId",
        seller_order_id,
        max_length=_FREE_TEXT_MAX,
    )
    _put_optional(
        parameters, f"{prefix}.SellerOrderAttributes.StoreName", store_name, max_length=_FREE_TEXT_MAX
    )
    _put_optional(
        parameters,
        f"{prefix}.SellerOrderAttributes.CustomInformation",
        custom_information,
        max_length=_FREE_TEXT_MAX,
    )
    return parameters


def set_order_reference_details(
    amazon_order_reference_id: str,
    *,
    amount: Money,
    seller_order_id: str | None,
    store_name: str | None,
    seller_note: str | None,
    custom_information: str | None,
    platform_id: str | None,
) -> dict[str, str]:
    if amount is None:
        raise InvalidRequest("SetOrderReferenceDetails needs the order total (amount)")
    return {
        "AmazonOrderReferenceId": amazon_id("AmazonOrderReferenceId", amazon_order_reference_id),
        **_order_attributes(
            "OrderReferenceAttributes",
            amount=amount,
            seller_order_id=seller_order_id,
            store_name=store_name,
            seller_note=seller_note,
            custom_information=custom_information,
            platform_id=platform_id,
        ),
    }


def set_order_attributes(
    amazon_order_reference_id: str,
    *,
    amount: Money | None,
    seller_order_id: str | None,
    store_name: str | None,
    seller_note: str | None,
    custom_information: str | None,
    platform_id: str | None,
    request_payment_authorization: bool | None,
) -> dict[str, str]:
    attributes = _order_attributes(
        "OrderAttributes",
        amount=amount,
        seller_order_id=seller_order_id,
        store_name=store_name,
        seller_note=seller_note,
        custom_information=custom_information,
        platform_id=platform_id,
    )
    if request_payment_authorization is not None:
        attributes["OrderAttributes.RequestPaymentAuthorization"] = flag(request_payment_authorization)
    if not attributes:
        raise InvalidRequest("SetOrderAttributes needs at least one attribute to set")
    return {
        "AmazonOrderReferenceId": amazon_id("AmazonOrderReferenceId", amazon_order_reference_id),
        **attributes,
    }


def order_reference_only(amazon_order_reference_id: str) -> dict[str, str]:
    """ConfirmOrderReference's parameters (and the id part of every order reference call)."""
    return {"AmazonOrderReferenceId": amazon_id("AmazonOrderReferenceId", amazon_order_reference_id)}


def cancel_order_reference(amazon_order_reference_id: str, *, reason: str | None) -> dict[str, str]:
    parameters = order_reference_only(amazon_order_reference_id)
    _put_optional(parameters, "CancelationReason", reason, max_length=CANCELATION_REASON_MAX)
    return parameters


def close_order_reference(amazon_order_reference_id: str, *, reason: str | None) -> dict[str, str]:
    parameters = order_reference_only(amazon_order_reference_id)
    _put_optional(parameters, "ClosureReason", reason, max_length=ORDER_CLOSURE_REASON_MAX)
    return parameters


def authorize(
    amazon_order_reference_id: str,
    *,
    authorization_reference_id: str,
    amount: Money,
    seller_note: str | None,
    transaction_timeout: int,
    capture_now: bool,
    soft_descriptor: str | None,
) -> dict[str, str]:
    if (
        isinstance(transaction_timeout, bool)
        or not isinstance(transaction_timeout, int)
        or not (transaction_timeout == 0 or (5 <= transaction_timeout <= TRANSACTION_TIMEOUT_MAX))
        or transaction_timeout % 5
    ):
        raise InvalidRequest(
            "transaction_timeout must be 0 (synchronous) or a multiple of 5 from 5 to 1440 minutes,"
            f" got {transaction_timeout!r}"
        )
    parameters = {
        "AmazonOrderReferenceId": amazon_id("AmazonOrderReferenceId", amazon_order_reference_id),
        "AuthorizationReferenceId": reference_id("AuthorizationReferenceId", authorization_reference_id),
        # Sent always, as Amazon's Python SDK does, so the request says what it means.
        "TransactionTimeout": str(transaction_timeout),
        "CaptureNow": flag(capture_now),
    }
    _put_money(parameters, "AuthorizationAmount", transaction_amount("AuthorizationAmount", amount))
    _put_optional(parameters, "SellerAuthorizationNote", seller_note, max_length=NOTE_MAX)
    _put_optional(parameters, "SoftDescriptor", soft_descriptor, max_length=SOFT_DESCRIPTOR_MAX)
    return parameters


def authorization_only(amazon_authorization_id: str) -> dict[str, str]:
    return {"AmazonAuthorizationId": amazon_id("AmazonAuthorizationId", amazon_authorization_id)}


def close_authorization(amazon_authorization_id: str, *, reason: str | None) -> dict[str, str]:
    parameters = authorization_only(amazon_authorization_id)
    _put_optional(parameters, "ClosureReason", reason, max_length=AUTHORIZATION_CLOSURE_REASON_MAX)
    return parameters


def capture(
    amazon_authorization_id: str,
    *,
    capture_reference_id: str,
    amount: Money,
    seller_note: str | None,
    soft_descriptor: str | None,
) -> dict[str, str]:
    parameters = {
        "AmazonAuthorizationId": amazon_id("AmazonAuthorizationId", amazon_authorization_id),
        "CaptureReferenceId": reference_id("CaptureReferenceId", capture_reference_id),
    }
    _put_money(parameters, "CaptureAmount", transaction_amount("CaptureAmount", amount))
    _put_optional(parameters, "SellerCaptureNote", seller_note, max_length=NOTE_MAX)
    _put_optional(parameters, "SoftDescriptor", soft_descriptor, max_length=SOFT_DESCRIPTOR_MAX)
    return parameters


def capture_only(amazon_capture_id: str) -> dict[str, str]:
    return {"AmazonCaptureId": amazon_id("AmazonCaptureId", amazon_capture_id)}


def refund(
    amazon_capture_id: str,
    *,
    refund_reference_id: str,
    amount: Money,
    seller_note: str | None,
    soft_descriptor: str | None,
) -> dict[str, str]:
    parameters = {
        "AmazonCaptureId": amazon_id("AmazonCaptureId", amazon_capture_id),
        "RefundReferenceId": reference_id("RefundReferenceId", refund_reference_id),
    }
    _put_money(parameters, "RefundAmount", transaction_amount("RefundAmount", amount))
    _put_optional(parameters, "SellerRefundNote", seller_note, max_length=NOTE_MAX)
    _put_optional(parameters, "SoftDescriptor", soft_descriptor, max_length=SOFT_DESCRIPTOR_MAX)
    return parameters


def refund_only(amazon_refund_id: str) -> dict[str, str]:
    return {"AmazonRefundId": amazon_id("AmazonRefundId", amazon_refund_id)}
