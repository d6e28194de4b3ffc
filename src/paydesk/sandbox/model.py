"""Amazon's objects as the sandbox keeps them: frozen snapshots, replaced (never mutated) on change.

Field names follow Amazon's element names (docs/amazon-pay-v1.md §2.2) so that rendering them is
a plain mapping. Everything here is data; the rules that move it live in `engine`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from paydesk.sandbox.amounts import Amount

# States (docs/amazon-pay-v1.md §3; developer.amazon.com/docs/amazon-pay-api/*-states-and-reason-codes.html)
DRAFT = "Draft"
OPEN = "Open"
SUSPENDED = "Suspended"
CANCELED = "Canceled"
CLOSED = "Closed"
PENDING = "Pending"
DECLINED = "Declined"
COMPLETED = "Completed"

SANDBOX = "Sandbox"
LIVE = "Live"

# Payment methods the buyer stand-in can put on an order reference.
PAYMENT_VALID = "valid"
PAYMENT_DECLINED = "declined"


@dataclass(frozen=True, slots=True)
class Status:
    state: str
    last_update: datetime | None = None
    reason_code: str | None = None
    reason_description: str | None = None


@dataclass(frozen=True, slots=True)
class Buyer:
    name: str
    email: str
    phone: str | None = None


@dataclass(frozen=True, slots=True)
class Address:
    name: str
    address_line1: str
    city: str
    postal_code: str
    country_code: str
    state_or_region: str | None = None
    address_line2: str | None = None
    phone: str | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a Pending object becomes when Amazon gets round to it (or a simulation forces)."""

    state: str
    reason_code: str | None = None
    soft_decline: bool = False
    # InvalidPaymentMethod simulation: the buyer fixes the wallet after this many minutes.
    payment_method_update_minutes: int | None = None
    # ExpiredUnused simulation: the authorization closes this many minutes after it opened.
    expiration_minutes: int | None = None


@dataclass(frozen=True, slots=True)
class Origin:
    """The request that created an object, for Amazon's idempotency rules on reference ids."""

    action: str
    reference_id: str
    fingerprint: str


@dataclass(frozen=True, slots=True)
class OrderReference:
    id: str
    seller_id: str
    environment: str
    status: Status
    created: datetime
    expires: datetime
    buyer: Buyer
    destination: Address | None
    payment_method: str | None
    order_total: Amount | None = None
    seller_note: str | None = None
    platform_id: str | None = None
    seller_order_id: str | None = None
    store_name: str | None = None
    custom_information: str | None = None
    supplementary_data: str | None = None
    order_item_categories: tuple[str, ...] = ()
    psp_id: str | None = None
    psp_order_id: str | None = None
    request_payment_authorization: bool | None = None
    simulated_constraint: str | None = None
    authorization_ids: tuple[str, ...] = ()
    reopen_at: datetime | None = None  # Suspended -> Open when the buyer fixes the wallet

    @property
    def kind(self) -> str:
        return "OrderReference"


@dataclass(frozen=True, slots=True)
class Authorization:
    id: str
    order_reference_id: str
    seller_id: str
    origin: Origin
    amount: Amount
    captured: Amount
    fee: Amount
    status: Status
    created: datetime
    expires: datetime  # ExpirationTimestamp as reported: creation + 30 days
    expire_at: datetime  # when it actually closes as ExpiredUnused if still Open
    transaction_timeout_minutes: int
    capture_now: bool
    note: str | None = None
    soft_descriptor: str | None = None
    soft_decline: bool = False
    capture_ids: tuple[str, ...] = ()
    settle_at: datetime | None = None
    planned: Outcome | None = None

    @property
    def kind(self) -> str:
        return "Authorization"


@dataclass(frozen=True, slots=True)
class Capture:
    id: str
    authorization_id: str
    order_reference_id: str
    seller_id: str
    origin: Origin
    amount: Amount
    refunded: Amount
    fee: Amount
    status: Status
    created: datetime
    note: str | None = None
    soft_descriptor: str | None = None
    refund_ids: tuple[str, ...] = ()
    settle_at: datetime | None = None
    planned: Outcome | None = None

    @property
    def kind(self) -> str:
        return "Capture"


@dataclass(frozen=True, slots=True)
class Refund:
    id: str
    capture_id: str
    order_reference_id: str
    seller_id: str
    origin: Origin
    amount: Amount
    fee_refunded: Amount
    status: Status
    created: datetime
    note: str | None = None
    soft_descriptor: str | None = None
    settle_at: datetime | None = None
    planned: Outcome | None = None

    @property
    def kind(self) -> str:
        return "Refund"


AmazonObject = OrderReference | Authorization | Capture | Refund
