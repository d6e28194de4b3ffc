"""Amazon Pay v1's amount and count limits, in one place.

Every money movement is checked against these before Paydesk calls Amazon, so a merchant
reads a message that names the limit instead of an Amazon error code.
Sources: docs/amazon-pay-v1.md §4 (Amazon's refund.html, capture.html and the order
reference and capture state pages).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from paydesk.payments.money import Money, minor_unit

# Amazon lets the captured total exceed the order total, and the refunded total exceed the
# captured amount, by at most 15% or 75 units of USD/EUR/GBP, whichever is less.
ALLOWANCE_RATE = Decimal("0.15")
ALLOWANCE_CAP = {
    "USD": Decimal(75),
    "EUR": Decimal(75),
    "GBP": Decimal(75),
    # Japan: 8,400 yen (Amazon's refund pages, v2 and the Japanese v1 API reference).
    "JPY": Decimal(8400),
}
# Amazon: "Amazon allows only one capture per authorization".
CAPTURES_PER_AUTHORIZATION = 1
REFUNDS_PER_CAPTURE = 10
# Amazon closes the order reference (MaxAuthorizationsCaptured) once 10 authorizations were
# captured, and takes at most 25 authorizations on one (docs/amazon-pay-v1.md §3.5, §4: the
# current terminology pages say 25; older text said 10).
CAPTURED_AUTHORIZATIONS_PER_ORDER_REFERENCE = 10
AUTHORIZATIONS_PER_ORDER_REFERENCE = 25
# The most one Authorize, Capture or Refund may be: 150,000 USD/GBP/EUR (API reference), and
# for a refund 10,000,000 JPY (Amazon's refund pages). No JPY figure is published for
# authorizations and captures, nor any for other presentment currencies: those are not checked.
MAX_TRANSACTION_AMOUNT = {"USD": Decimal(150_000), "GBP": Decimal(150_000), "EUR": Decimal(150_000)}
MAX_REFUND_AMOUNT = {**MAX_TRANSACTION_AMOUNT, "JPY": Decimal(10_000_000)}
REFERENCE_ID_MAX_LENGTH = 32
# Authorizations stay open for 30 days; captures within 7 days are processed at once.
AUTHORIZATION_VALIDITY_DAYS = 30
# Amazon's sandbox closes an unused authorization after two days, though its
# ExpirationTimestamp says thirty (docs/amazon-pay-v1.md §4).
SANDBOX_AUTHORIZATION_VALIDITY_DAYS = 2
ORDER_REFERENCE_VALIDITY_DAYS = 180


def allowance(base: Money) -> Money:
    """How far above `base` Amazon lets a total go: min(15 %, the currency's cap).

    Rounded half up to the currency's minor unit, as Amazon does: a live reply names 25.13 GBP
    as the ceiling above 21.85 (15 % is 3.2775; rounding down, Paydesk refused the 25.13 that
    Amazon takes). Whether Amazon rounds half up or always up is not known; half up is never
    above either (docs/amazon-pay-v1.md §4). For presentment currencies with no documented cap
    only the 15 % applies (UNCONFIRMED: Amazon documents the cap for USD, EUR and GBP).
    """
    share = (base.amount * ALLOWANCE_RATE).quantize(minor_unit(base.currency), rounding=ROUND_HALF_UP)
    cap = ALLOWANCE_CAP.get(base.currency)
    return Money(min(share, cap) if cap is not None else share, base.currency)


def ceiling(base: Money) -> Money:
    """`base` plus Amazon's allowance: the most that may be captured (or refunded) against it."""
    return base + allowance(base)
