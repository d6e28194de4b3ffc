"""The sandbox's own money: a Decimal with its currency, and Amazon's allowance above a base amount.

Deliberately separate from `paydesk.payments.money` (see docs/sandbox.md, "Independence"): the
sandbox and the client are checked against each other, so they must not share this code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

# Amounts on the wire are plain decimal strings ("10.50", "1000"); no sign, no exponent.
_WIRE_AMOUNT = re.compile(r"^\d{1,15}(\.\d{1,15})?$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_NO_MINOR_UNIT = frozenset({"JPY"})

# Over-authorization / over-capture / over-refund allowance: "15% or 75 USD/GBP/EUR (whichever is
# less)" (https://developer.amazon.com/docs/amazon-pay-api/refund.html, docs/amazon-pay-v1.md §4);
# for Japan "15% or 8,400 yen, whichever is lower"
# (https://developer.amazon.com/ja/docs/amazon-pay-api/refund.html).
_ALLOWANCE_RATE = Decimal("0.15")
_ALLOWANCE_CAP = {"USD": Decimal(75), "GBP": Decimal(75), "EUR": Decimal(75), "JPY": Decimal(8400)}
# UNCONFIRMED: Amazon names no cap for the multi-currency presentment currencies (AUD, CHF, ...);
# we apply 75 units of that currency, the same number as for USD/GBP/EUR.
_DEFAULT_ALLOWANCE_CAP = Decimal(75)

# Largest single refund: 150,000 USD/GBP/EUR (refund.html); Japan: 10,000,000 yen (+ allowance,
# ja/refund.html). UNCONFIRMED for other currencies: 150,000 units.
_MAX_REFUND = {"JPY": Decimal(10_000_000)}
_DEFAULT_MAX_REFUND = Decimal(150_000)


class AmountError(ValueError):
    """Text that is not an amount in the given currency."""


def decimals_of(currency: str) -> int:
    return 0 if currency in _NO_MINOR_UNIT else 2


def _quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-decimals_of(currency))


@dataclass(frozen=True, slots=True)
class Amount:
    value: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not _CURRENCY.match(self.currency):
            raise AmountError(f"{self.currency!r} is not a currency code")
        if not isinstance(self.value, Decimal) or not self.value.is_finite():
            raise AmountError(f"{self.value!r} is not a Decimal amount")

    @classmethod
    def zero(cls, currency: str) -> Amount:
        return cls(Decimal(0), currency)

    def wire(self) -> str:
        """Amazon's string for this amount: "10.50", "0.00"; JPY without decimals."""
        return str(self.value.quantize(_quantum(self.currency)))

    def __add__(self, other: Amount) -> Amount:
        self._same_currency(other)
        return Amount(self.value + other.value, self.currency)

    def __sub__(self, other: Amount) -> Amount:
        self._same_currency(other)
        return Amount(self.value - other.value, self.currency)

    def __lt__(self, other: Amount) -> bool:
        self._same_currency(other)
        return self.value < other.value

    def __le__(self, other: Amount) -> bool:
        self._same_currency(other)
        return self.value <= other.value

    def _same_currency(self, other: Amount) -> None:
        if other.currency != self.currency:
            raise AmountError(f"cannot combine {self.currency} with {other.currency}")


def parse_wire_amount(text: str, currency: str) -> Amount:
    """A request amount: positive, with no more decimals than the currency has."""
    if not _WIRE_AMOUNT.match(text):
        raise AmountError(f"{text!r} is not a decimal amount")
    value = Decimal(text)
    if value.quantize(_quantum(currency), rounding=ROUND_DOWN) != value:
        raise AmountError(f"{text} has more decimals than {currency} allows")
    if value <= 0:
        raise AmountError("the amount must be greater than zero")
    return Amount(value, currency)


def allowance(base: Amount) -> Amount:
    """How far above `base` Amazon lets you go: min(15% of base, the currency's cap).

    15% is rounded half up to the minor unit: Amazon's live refusal above 21.85 GBP names a
    25.13 GBP ceiling (15% is 3.2775). Half up or always up, one example cannot tell; half up
    is the lower of the two, so the sandbox never takes what Amazon might refuse.
    """
    cap = _ALLOWANCE_CAP.get(base.currency, _DEFAULT_ALLOWANCE_CAP)
    fifteen_percent = (base.value * _ALLOWANCE_RATE).quantize(_quantum(base.currency), rounding=ROUND_HALF_UP)
    return Amount(min(fifteen_percent, cap), base.currency)


def ceiling(base: Amount) -> Amount:
    """`base` plus Amazon's allowance: the most that may be charged or refunded against it."""
    return base + allowance(base)


def max_single_refund(currency: str) -> Amount:
    return Amount(_MAX_REFUND.get(currency, _DEFAULT_MAX_REFUND), currency)
