"""Amazon Pay v1 objects as small immutable values.

The client returns these for API replies and the IPN parser returns the same types for
NotificationData, so the rest of Paydesk handles one shape whatever told it about an object.
Element names follow Amazon's datatypes (docs/amazon-pay-v1.md §2.2): `OrderReferenceDetails`,
`AuthorizationDetails`, `CaptureDetails`, `RefundDetails`.

- Amounts are `Money` (Decimal + currency); never floats.
- Ids and IdLists are strings and tuples of strings, in Amazon's order.
- Timestamps are timezone-aware `datetime`s.
- States and reason codes are Amazon's own strings ("Open", "Declined", "AmazonRejected"), the
  same words `paydesk.payments.states` uses.
- `request_id` is the RequestId of the API reply that carried the object; None for objects
  that came from an IPN.

Buyer names, e-mails, phones and addresses are personal data: their reprs are masked so they do
not end up in logs or tracebacks by way of a repr.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from paydesk.payments.money import Money


@dataclass(frozen=True, slots=True)
class Status:
    """`OrderReferenceStatus`, `AuthorizationStatus`, `CaptureStatus` or `RefundStatus`.

    `last_updated` is None only for a Draft order reference, which Amazon reports without a
    LastUpdateTimestamp (docs/amazon-pay-v1.md §2.2, `OrderReferenceStatus`).
    """

    state: str
    last_updated: datetime | None
    reason_code: str | None = None
    reason_description: str | None = None


@dataclass(frozen=True, slots=True, repr=False)
class Buyer:
    name: str | None
    email: str | None
    phone: str | None

    def __repr__(self) -> str:
        return "Buyer(<personal data masked>)"


@dataclass(frozen=True, slots=True, repr=False)
class Address:
    """A `PhysicalDestination`, `PhysicalAddress` or `AuthorizationBillingAddress`.

    Before the order reference is confirmed Amazon returns only city, region, postal code and
    country of the destination (docs/amazon-pay-v1.md §2.2), hence every field is optional.
    """

    name: str | None = None
    address_line1: str | None = None
    address_line2: str | None = None
    address_line3: str | None = None
    city: str | None = None
    county: str | None = None
    district: str | None = None
    state_or_region: str | None = None
    postal_code: str | None = None
    country_code: str | None = None
    phone: str | None = None

    def __repr__(self) -> str:
        return f"Address(country_code={self.country_code!r}, <personal data masked>)"


@dataclass(frozen=True, slots=True)
class Constraint:
    """Why an order reference cannot be confirmed yet, e.g. `AmountNotSet`, `PaymentPlanNotSet`."""

    constraint_id: str
    description: str | None


@dataclass(frozen=True, slots=True)
class OrderReference:
    """An `OrderReferenceDetails` (API) or `OrderReference` (IPN) element.

    IPN notifications carry only a subset (id, total, seller order attributes, status,
    timestamps); the fields they lack are None or empty.
    """

    amazon_order_reference_id: str
    status: Status
    order_total: Money | None = None
    seller_note: str | None = None
    platform_id: str | None = None
    seller_order_id: str | None = None
    store_name: str | None = None
    custom_information: str | None = None
    buyer: Buyer | None = None
    destination: Address | None = None
    billing_address: Address | None = None
    release_environment: str | None = None  # "Sandbox" or "Live"
    constraints: tuple[Constraint, ...] = ()
    authorization_ids: tuple[str, ...] = ()
    creation_timestamp: datetime | None = None
    expiration_timestamp: datetime | None = None
    request_payment_authorization: bool | None = None
    request_id: str | None = None


@dataclass(frozen=True, slots=True)
class Authorization:
    """An `AuthorizationDetails` element.

    A decline is a state (`status.state == "Declined"` with a reason code), not an error.
    `capture_ids` holds the capture made on this authorization (at most one; CaptureNow fills
    it at once). `captured_amount`, `authorization_fee`: None when the reply left them out.
    """

    amazon_authorization_id: str
    authorization_reference_id: str
    authorization_amount: Money
    status: Status
    captured_amount: Money | None = None
    authorization_fee: Money | None = None
    capture_ids: tuple[str, ...] = ()
    creation_timestamp: datetime | None = None
    expiration_timestamp: datetime | None = None
    capture_now: bool | None = None
    soft_decline: bool | None = None
    soft_descriptor: str | None = None
    seller_authorization_note: str | None = None
    billing_address: Address | None = None
    request_id: str | None = None


@dataclass(frozen=True, slots=True)
class Capture:
    """A `CaptureDetails` element. `refund_ids` lists the refunds made against it.

    In multi-currency (UK/DE) captures `converted_amount` is the amount in the settlement
    currency and `conversion_rate` the rate Amazon used (C# SDK `GetCaptureDetails_MultiCurrency`).
    """

    amazon_capture_id: str
    capture_reference_id: str
    capture_amount: Money
    status: Status
    refunded_amount: Money | None = None
    capture_fee: Money | None = None
    refund_ids: tuple[str, ...] = ()
    creation_timestamp: datetime | None = None
    soft_descriptor: str | None = None
    seller_capture_note: str | None = None
    converted_amount: Money | None = None
    conversion_rate: Decimal | None = None
    request_id: str | None = None


@dataclass(frozen=True, slots=True)
class Refund:
    """A `RefundDetails` element. Refunds always start `Pending` (docs/amazon-pay-v1.md §3.4)."""

    amazon_refund_id: str
    refund_reference_id: str
    refund_amount: Money
    status: Status
    fee_refunded: Money | None = None
    refund_type: str | None = None  # "SellerInitiated"
    creation_timestamp: datetime | None = None
    soft_descriptor: str | None = None
    seller_refund_note: str | None = None
    converted_amount: Money | None = None
    conversion_rate: Decimal | None = None
    request_id: str | None = None


@dataclass(frozen=True, slots=True)
class ServiceMessage:
    locale: str | None
    text: str | None


@dataclass(frozen=True, slots=True)
class ServiceStatus:
    """`GetServiceStatusResult`: `status` is GREEN, GREEN_I (green with information), YELLOW or RED."""

    status: str
    timestamp: datetime | None
    message_id: str | None = None
    messages: tuple[ServiceMessage, ...] = ()
    request_id: str | None = None
