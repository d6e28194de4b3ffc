"""Amazon's sandbox simulation strings: JSON in a free-text field that forces an outcome.

Mechanism and the complete list of what Amazon's sandbox accepts: "Sandbox simulations"
(https://pay.amazon.com/us/developer/documentation/lpwa/201956480, docs/amazon-pay-v1.md §6), with
the field each one goes in confirmed by Amazon's Magento 2 plugin (Helper/Data.php
getSandboxSimulationStrings) and bestit's OXID module, and the minute ranges (1-240, 1-60) by the
Solidus gateway. Anything else that claims to be a simulation is refused with
InvalidSandboxSimulationSpecified, as Amazon does for an invalid State/ReasonCode combination.
Only the sandbox endpoint reads these; on the live path the text is just a note.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from paydesk.sandbox.errors import AmazonError
from paydesk.sandbox.model import CLOSED, DECLINED, PENDING, Outcome

_MARKER = "SandboxSimulation"


@dataclass(frozen=True, slots=True)
class _Rule:
    state: str
    reason_code: str | None
    required: frozenset[str] = frozenset()
    optional: frozenset[str] = frozenset()


_AUTHORIZATION_RULES = (
    _Rule(
        DECLINED, "InvalidPaymentMethod", optional=frozenset({"PaymentMethodUpdateTimeInMins", "SoftDecline"})
    ),
    _Rule(DECLINED, "AmazonRejected"),
    _Rule(DECLINED, "TransactionTimedOut"),
    # UNCONFIRMED: Amazon's table always shows ExpirationTimeInMins with this one; we require it.
    _Rule(CLOSED, "ExpiredUnused", required=frozenset({"ExpirationTimeInMins"})),
    _Rule(CLOSED, "AmazonClosed"),
    # NOT Amazon's: Amazon lists no ProcessingFailure simulation. A Paydesk extension, so that
    # clients can rehearse the "retry later" decline (docs/amazon-pay-v1.md §6).
    _Rule(DECLINED, "ProcessingFailure"),
)
_CAPTURE_RULES = (
    _Rule(PENDING, None),
    _Rule(DECLINED, "AmazonRejected"),
    _Rule(CLOSED, "AmazonClosed"),
)
_REFUND_RULES = (_Rule(DECLINED, "AmazonRejected"),)
_CLOSURE_RULES = (_Rule(CLOSED, "AmazonClosed"),)
_CONSTRAINTS = frozenset({"PaymentMethodNotAllowed"})

# Minute ranges Amazon accepts (Solidus gateway comments; Amazon's sandbox-simulation page).
_MINUTE_RANGES = {"PaymentMethodUpdateTimeInMins": (1, 240), "ExpirationTimeInMins": (1, 60)}


def _refuse(field: str, why: str) -> AmazonError:
    return AmazonError("InvalidSandboxSimulationSpecified", f"{field}: {why}")


def _read(text: str | None, field: str) -> dict[str, Any] | None:
    """The SandboxSimulation object in `text`, or None when the text is an ordinary note."""
    if text is None or _MARKER not in text:
        return None
    try:
        document = json.loads(text)
    except ValueError:
        raise _refuse(field, "the sandbox simulation is not valid JSON") from None
    simulation = document.get(_MARKER) if isinstance(document, dict) else None
    if not isinstance(simulation, dict) or set(document) != {_MARKER}:
        raise _refuse(field, 'expected {"SandboxSimulation": {...}}')
    return simulation


def _minutes(simulation: dict[str, Any], key: str, field: str) -> int | None:
    if key not in simulation:
        return None
    value = simulation[key]
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    low, high = _MINUTE_RANGES[key]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _refuse(field, f"{key} must be a whole number from {low} to {high}")
    return value


def _soft_decline(simulation: dict[str, Any], field: str) -> bool:
    value = simulation.get("SoftDecline", "false")
    # Amazon's examples quote it: "SoftDecline":"true".
    if value in ("true", True):
        return True
    if value in ("false", False):
        return False
    raise _refuse(field, 'SoftDecline must be "true" or "false"')


def _outcome(text: str | None, field: str, rules: tuple[_Rule, ...]) -> Outcome | None:
    simulation = _read(text, field)
    if simulation is None:
        return None
    state, reason = simulation.get("State"), simulation.get("ReasonCode")
    for rule in rules:
        if rule.state != state or rule.reason_code != reason:
            continue
        extra = set(simulation) - {"State", "ReasonCode"} - rule.required - rule.optional
        if extra:
            raise _refuse(field, f"unexpected key(s) {sorted(extra)} for {state}/{reason}")
        absent = rule.required - set(simulation)
        if absent:
            raise _refuse(field, f"{state}/{reason} needs {sorted(absent)}")
        return Outcome(
            state=state,
            reason_code=reason,
            soft_decline=_soft_decline(simulation, field),
            payment_method_update_minutes=_minutes(simulation, "PaymentMethodUpdateTimeInMins", field),
            expiration_minutes=_minutes(simulation, "ExpirationTimeInMins", field),
        )
    raise _refuse(field, f"State {state!r} with ReasonCode {reason!r} cannot be simulated here")


def authorization_outcome(note: str | None) -> Outcome | None:
    """Authorize's SellerAuthorizationNote."""
    return _outcome(note, "SellerAuthorizationNote", _AUTHORIZATION_RULES)


def capture_outcome(note: str | None) -> Outcome | None:
    """Capture's SellerCaptureNote."""
    return _outcome(note, "SellerCaptureNote", _CAPTURE_RULES)


def refund_outcome(note: str | None) -> Outcome | None:
    """Refund's SellerRefundNote."""
    return _outcome(note, "SellerRefundNote", _REFUND_RULES)


def closure_outcome(reason: str | None) -> Outcome | None:
    """CloseOrderReference's ClosureReason."""
    return _outcome(reason, "ClosureReason", _CLOSURE_RULES)


def order_constraint(seller_note: str | None) -> str | None:
    """SetOrderReferenceDetails' SellerNote (UNCONFIRMED: also SetOrderAttributes' SellerNote,
    which we accept too): {"SandboxSimulation": {"Constraint": "PaymentMethodNotAllowed"}}."""
    simulation = _read(seller_note, "SellerNote")
    if simulation is None:
        return None
    constraint = simulation.get("Constraint")
    if set(simulation) != {"Constraint"} or constraint not in _CONSTRAINTS:
        raise _refuse("SellerNote", f"only {sorted(_CONSTRAINTS)} can be simulated as a constraint")
    return constraint
