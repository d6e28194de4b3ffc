"""Amazon-shaped identifiers (docs/amazon-pay-v1.md §1.5, from SDK fixtures).

Order reference  S01-9111020-6707923        (S = sandbox, P = live; 01 = North America)
Authorization    S01-9111020-6707923-A077760
Capture          S01-9111020-6707923-C077760
Refund           S01-9111020-6707923-R072290
RequestId        a UUID
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Callable

ORDER_REFERENCE_ID = re.compile(r"^[PS]\d{2}-\d{7}-\d{7}$")
_CHILD_ID = re.compile(r"^(?P<order>[PS]\d{2}-\d{7}-\d{7})-(?P<kind>[ACR])(?P<number>\d{6})$")

# Merchant-chosen reference ids (AuthorizationReferenceId, CaptureReferenceId, RefundReferenceId):
# at most 32 characters from a-z A-Z 0-9 - _ (https://developer.amazon.com/docs/amazon-pay-api/
# authorize.html, refund.html; docs/amazon-pay-v1.md §2.2).
REFERENCE_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")

# UNCONFIRMED: Amazon's sandbox ids all seen start S01 (US) / S02 (EU); this sandbox presents
# itself as the North American one.
_SANDBOX_ORDER_PREFIX = "S01"


def new_request_id() -> str:
    return str(uuid.uuid4())


def _digits(count: int) -> str:
    return "".join(str(secrets.randbelow(10)) for _ in range(count))


def new_order_reference_id(taken: Callable[[str], bool]) -> str:
    while True:
        candidate = f"{_SANDBOX_ORDER_PREFIX}-{_digits(7)}-{_digits(7)}"
        if not taken(candidate):
            return candidate


def new_child_id(order_reference_id: str, kind: str, taken: Callable[[str], bool]) -> str:
    """kind: "A" authorization, "C" capture, "R" refund."""
    while True:
        candidate = f"{order_reference_id}-{kind}{_digits(6)}"
        if not taken(candidate):
            return candidate


def sibling_id(child_id: str, kind: str) -> str:
    """The capture Amazon creates for a CaptureNow authorization reuses the authorization's number:
    -A041953 -> -C041953 (CS SDK fixtures AuthorizeResponse.xml / GetAuthorizationDetails.xml)."""
    match = _CHILD_ID.match(child_id)
    if not match:
        raise ValueError(f"{child_id!r} is not an authorization/capture/refund id")
    return f"{match['order']}-{kind}{match['number']}"


def kind_of(object_id: str) -> str | None:
    """ "O" for an order reference, "A"/"C"/"R" for its children, None if it is no Amazon id."""
    if ORDER_REFERENCE_ID.match(object_id):
        return "O"
    match = _CHILD_ID.match(object_id)
    return match["kind"] if match else None
