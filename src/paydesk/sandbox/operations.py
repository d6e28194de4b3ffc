"""The API operations: read an operation's parameters (Amazon's names, limits and formats), ask
the engine, and shape the reply payload. One function per Action.

Parameter names and limits: each operation's page on developer.amazon.com/docs/amazon-pay-api/
and docs/amazon-pay-v1.md §2. Text over a documented maximum, a malformed amount or reference id
and an unknown boolean are all InvalidParameterValue.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET  # only ever used to *write* XML
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from paydesk.sandbox import replies, simulation
from paydesk.sandbox.amounts import Amount, AmountError, parse_wire_amount
from paydesk.sandbox.clock import SandboxClock, amazon_timestamp
from paydesk.sandbox.engine import MAX_TRANSACTION_TIMEOUT, Engine
from paydesk.sandbox.errors import AmazonError, invalid, invalid_value, missing
from paydesk.sandbox.ids import REFERENCE_ID
from paydesk.sandbox.model import DRAFT, Origin, Outcome

# Parameters every request carries; they are not part of what makes two requests "the same"
# for Amazon's reference-id idempotency.
COMMON_PARAMETERS = frozenset(
    {
        "AWSAccessKeyId",
        "Action",
        "MWSAuthToken",
        "SellerId",
        "Signature",
        "SignatureMethod",
        "SignatureVersion",
        "Timestamp",
        "Version",
    }
)
_CURRENCY = re.compile(r"^[A-Z]{3}$")

# Documented maxima (docs/amazon-pay-v1.md §2.2; SellerAuthorizationNote 255 per Amazon's API
# reference - the Python SDK's "225" is a typo). 1024: SellerNote ("Maximum: 1024 characters",
# orderreferenceattributes.html and orderattributes.html), CancelationReason (API reference) and
# CloseOrderReference's ClosureReason. Sandbox choice: sellerorderattributes.html gives SellerOrderId,
# StoreName, CustomInformation, SupplementaryData and PlatformId no maximum; we cap them at 1024 too.
NOTE_LIMIT = 255
ORDER_TEXT_LIMIT = 1024
SOFT_DESCRIPTOR_LIMIT = 16


@dataclass(frozen=True, slots=True)
class Call:
    """One authenticated API call."""

    seller_id: str
    sandbox: bool  # the /OffAmazonPayments_Sandbox/ path: simulation strings apply
    params: Mapping[str, str]

    def required(self, name: str) -> str:
        value = self.params.get(name)
        if value is None or value == "":
            raise missing(name)
        return value

    def optional(self, name: str, limit: int | None = None) -> str | None:
        value = self.params.get(name) or None
        if value is not None and limit is not None and len(value) > limit:
            raise invalid(name, f"at most {limit} characters are allowed")
        return value

    def reference_id(self, name: str) -> str:
        value = self.required(name)
        if not REFERENCE_ID.match(value):
            raise invalid(name, "use at most 32 characters from a-z, A-Z, 0-9, - and _")
        return value

    def amount(self, prefix: str) -> Amount:
        return self.amount_of(
            prefix, self.required(f"{prefix}.Amount"), self.required(f"{prefix}.CurrencyCode")
        )

    def amount_of(self, prefix: str, text: str, currency: str) -> Amount:
        if not _CURRENCY.match(currency):
            raise invalid(f"{prefix}.CurrencyCode", f"{currency!r} is not an ISO 4217 currency code")
        try:
            return parse_wire_amount(text, currency)
        except AmountError:
            raise invalid_value(f"{prefix}.Amount", text) from None

    def boolean(self, name: str, default: bool) -> bool:
        value = self.params.get(name)
        if value is None or value == "":
            return default
        if value.lower() not in ("true", "false"):
            raise invalid(name, "expected true or false")
        return value.lower() == "true"

    def origin(self, action: str, reference_name: str) -> Origin:
        """The idempotency key of a money-moving request: its reference id plus every
        operation parameter, so that a changed amount or note is a *different* request."""
        significant = sorted((k, v) for k, v in self.params.items() if k not in COMMON_PARAMETERS)
        fingerprint = "&".join(f"{k}={v}" for k, v in significant)
        return Origin(action, self.reference_id(reference_name), fingerprint)

    def simulated(self, read: Callable[[str | None], Outcome | None], text: str | None) -> Outcome | None:
        return read(text) if self.sandbox else None


Handler = Callable[[Engine, SandboxClock, Call], ET.Element | None]


def _seller_attributes(call: Call, prefix: str) -> dict[str, str | None]:
    names = {
        "platform_id": f"{prefix}.PlatformId",
        "seller_order_id": f"{prefix}.SellerOrderAttributes.SellerOrderId",
        "store_name": f"{prefix}.SellerOrderAttributes.StoreName",
        "custom_information": f"{prefix}.SellerOrderAttributes.CustomInformation",
        "supplementary_data": f"{prefix}.SellerOrderAttributes.SupplementaryData",
    }
    found = {field: call.optional(name, ORDER_TEXT_LIMIT) for field, name in names.items()}
    return {field: value for field, value in found.items() if value is not None}


def _numbered(call: Call, prefix: str) -> tuple[str, ...]:
    """A list parameter: prefix.1, prefix.2, ... in number order (MWS list convention)."""
    found = {}
    for name, value in call.params.items():
        head, _, number = name.rpartition(".")
        if head == prefix and number.isdigit():
            found[int(number)] = value
    return tuple(found[number] for number in sorted(found))


def get_order_reference_details(engine: Engine, clock: SandboxClock, call: Call) -> ET.Element:
    order = engine.get_order_reference(call.seller_id, call.required("AmazonOrderReferenceId"))
    access_token, consent_token = call.optional("AccessToken"), call.optional("AddressConsentToken")
    if access_token and consent_token:
        raise AmazonError("AmbiguousToken", "Send either AccessToken or AddressConsentToken, not both.")
    full = order.status.state != DRAFT or bool(access_token or consent_token)
    return replies.order_reference_details(order, full=full)


def set_order_reference_details(engine: Engine, clock: SandboxClock, call: Call) -> ET.Element:
    prefix = "OrderReferenceAttributes"
    attributes = _seller_attributes(call, prefix)
    constraint = None
    # Only a SellerNote that is sent replaces the old one (an empty one clears it), and with it a
    # simulated constraint; a request without one keeps both (engine.set_order_reference_details).
    if f"{prefix}.SellerNote" in call.params:
        note = call.optional(f"{prefix}.SellerNote", ORDER_TEXT_LIMIT)
        attributes["seller_note"] = note
        constraint = simulation.order_constraint(note) if call.sandbox else None
    order = engine.set_order_reference_details(
        call.seller_id,
        call.required("AmazonOrderReferenceId"),
        order_total=call.amount(f"{prefix}.OrderTotal"),
        simulated_constraint=constraint,
        attributes=attributes,
    )
    return replies.order_reference_details(order, full=order.status.state != DRAFT)


def set_order_attributes(engine: Engine, clock: SandboxClock, call: Call) -> ET.Element:
    prefix = "OrderAttributes"
    order_id = call.required("AmazonOrderReferenceId")
    attributes: dict[str, object] = dict(_seller_attributes(call, prefix))
    note = call.optional(f"{prefix}.SellerNote", ORDER_TEXT_LIMIT)
    # As in SetOrderReferenceDetails: a SellerNote that is sent, even an empty one, replaces the
    # note and its simulated constraint; one left out changes neither.
    if f"{prefix}.SellerNote" in call.params:
        attributes["seller_note"] = note
    categories = _numbered(call, f"{prefix}.SellerOrderAttributes.OrderItemCategories.OrderItemCategory")
    if categories:
        attributes["order_item_categories"] = categories
    psp_id = call.optional(f"{prefix}.PaymentServiceProviderAttributes.PaymentServiceProviderId")
    psp_order_id = call.optional(f"{prefix}.PaymentServiceProviderAttributes.PaymentServiceProviderOrderId")
    if psp_id is not None:
        attributes["psp_id"] = psp_id
    if psp_order_id is not None:
        attributes["psp_order_id"] = psp_order_id
    if call.params.get(f"{prefix}.RequestPaymentAuthorization"):
        attributes["request_payment_authorization"] = call.boolean(
            f"{prefix}.RequestPaymentAuthorization", False
        )
    amount_text = call.optional(f"{prefix}.OrderTotal.Amount")
    order_total = None
    if amount_text is not None:
        currency = call.optional(f"{prefix}.OrderTotal.CurrencyCode")
        if currency is None:
            current = engine.get_order_reference(call.seller_id, order_id).order_total
            if current is None:
                raise missing(f"{prefix}.OrderTotal.CurrencyCode")
            currency = current.currency
        order_total = call.amount_of(f"{prefix}.OrderTotal", amount_text, currency)
    constraint = simulation.order_constraint(note) if call.sandbox else None
    order = engine.set_order_attributes(
        call.seller_id,
        order_id,
        order_total=order_total,
        simulated_constraint=constraint,
        attributes=attributes,
    )
    return replies.order_reference_details(order, full=order.status.state != DRAFT)


def confirm_order_reference(engine: Engine, clock: SandboxClock, call: Call) -> None:
    # SuccessUrl/FailureUrl/AuthorizationAmount/ExpectImmediateAuthorization (SCA) are accepted
    # and ignored: this sandbox does not simulate the buyer's multi-factor step.
    engine.confirm_order_reference(call.seller_id, call.required("AmazonOrderReferenceId"))
    return None


def cancel_order_reference(engine: Engine, clock: SandboxClock, call: Call) -> None:
    engine.cancel_order_reference(
        call.seller_id,
        call.required("AmazonOrderReferenceId"),
        call.optional("CancelationReason", ORDER_TEXT_LIMIT),
    )
    return None


def close_order_reference(engine: Engine, clock: SandboxClock, call: Call) -> None:
    reason = call.optional("ClosureReason", ORDER_TEXT_LIMIT)
    engine.close_order_reference(
        call.seller_id,
        call.required("AmazonOrderReferenceId"),
        reason,
        call.simulated(simulation.closure_outcome, reason),
    )
    return None


def _transaction_timeout(call: Call) -> int:
    """0 (synchronous) or a multiple of 5 from 5 to 1440 minutes, default 1440 (Amazon's API
    reference for Authorize, docs/amazon-pay-v1.md §2.9). UNCONFIRMED: the error for other
    values; we answer InvalidParameterValue."""
    text = call.params.get("TransactionTimeout") or str(MAX_TRANSACTION_TIMEOUT)
    minutes = int(text) if text.isdigit() else -1
    if not (minutes == 0 or (minutes % 5 == 0 and 5 <= minutes <= MAX_TRANSACTION_TIMEOUT)):
        raise invalid("TransactionTimeout", f"use 0, or a multiple of 5 from 5 to {MAX_TRANSACTION_TIMEOUT}")
    return minutes


def authorize(engine: Engine, clock: SandboxClock, call: Call) -> ET.Element:
    note = call.optional("SellerAuthorizationNote", NOTE_LIMIT)
    authorization, created = engine.authorize(
        call.seller_id,
        call.required("AmazonOrderReferenceId"),
        origin=call.origin("Authorize", "AuthorizationReferenceId"),
        amount=call.amount("AuthorizationAmount"),
        note=note,
        transaction_timeout_minutes=_transaction_timeout(call),
        capture_now=call.boolean("CaptureNow", False),
        soft_descriptor=call.optional("SoftDescriptor", SOFT_DESCRIPTOR_LIMIT),
        simulated=call.simulated(simulation.authorization_outcome, note),
        sandbox_path=call.sandbox,
    )
    # Amazon's fixtures show CapturedAmount 0 only in the synchronous CaptureNow reply that made
    # the authorization (replies.authorization_details). A replay is to "return the result of the
    # initial call" (lpwa/201954950), which could mean that very reply or the object as it is now;
    # we answer with what the object holds, as GetAuthorizationDetails would, so that a client
    # recovering a lost reply learns the real captured amount.
    return replies.authorization_details(authorization, as_first_reply=created)


def get_authorization_details(engine: Engine, clock: SandboxClock, call: Call) -> ET.Element:
    return replies.authorization_details(
        engine.get_authorization(call.seller_id, call.required("AmazonAuthorizationId"))
    )


def close_authorization(engine: Engine, clock: SandboxClock, call: Call) -> None:
    engine.close_authorization(
        call.seller_id, call.required("AmazonAuthorizationId"), call.optional("ClosureReason", NOTE_LIMIT)
    )
    return None


def capture(engine: Engine, clock: SandboxClock, call: Call) -> ET.Element:
    note = call.optional("SellerCaptureNote", NOTE_LIMIT)
    captured = engine.capture(
        call.seller_id,
        call.required("AmazonAuthorizationId"),
        origin=call.origin("Capture", "CaptureReferenceId"),
        amount=call.amount("CaptureAmount"),
        note=note,
        soft_descriptor=call.optional("SoftDescriptor", SOFT_DESCRIPTOR_LIMIT),
        simulated=call.simulated(simulation.capture_outcome, note),
    )
    return replies.capture_details(captured)


def get_capture_details(engine: Engine, clock: SandboxClock, call: Call) -> ET.Element:
    return replies.capture_details(engine.get_capture(call.seller_id, call.required("AmazonCaptureId")))


def refund(engine: Engine, clock: SandboxClock, call: Call) -> ET.Element:
    note = call.optional("SellerRefundNote", NOTE_LIMIT)
    refunded = engine.refund(
        call.seller_id,
        call.required("AmazonCaptureId"),
        origin=call.origin("Refund", "RefundReferenceId"),
        amount=call.amount("RefundAmount"),
        note=note,
        soft_descriptor=call.optional("SoftDescriptor", SOFT_DESCRIPTOR_LIMIT),
        simulated=call.simulated(simulation.refund_outcome, note),
    )
    return replies.refund_details(refunded)


def get_refund_details(engine: Engine, clock: SandboxClock, call: Call) -> ET.Element:
    return replies.refund_details(engine.get_refund(call.seller_id, call.required("AmazonRefundId")))


def get_service_status(engine: Engine, clock: SandboxClock, call: Call) -> ET.Element:
    return replies.service_status("GREEN", amazon_timestamp(clock.now()))


OPERATIONS: dict[str, Handler] = {
    "GetOrderReferenceDetails": get_order_reference_details,
    "SetOrderReferenceDetails": set_order_reference_details,
    "SetOrderAttributes": set_order_attributes,
    "ConfirmOrderReference": confirm_order_reference,
    "CancelOrderReference": cancel_order_reference,
    "CloseOrderReference": close_order_reference,
    "Authorize": authorize,
    "GetAuthorizationDetails": get_authorization_details,
    "CloseAuthorization": close_authorization,
    "Capture": capture,
    "GetCaptureDetails": get_capture_details,
    "Refund": refund,
    "GetRefundDetails": get_refund_details,
    "GetServiceStatus": get_service_status,
}
