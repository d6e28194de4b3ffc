"""Money: a Decimal amount with its ISO 4217 currency, never a float.

Amounts are quantized to the currency's minor unit (JPY has none). An amount with more
precision than its currency allows is refused rather than rounded: silently rounding a
refund or a capture is how a store ends up a cent off with Amazon.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

# ISO 4217 minor units of the currencies Amazon Pay v1 presents (docs/amazon-pay-v1.md §4:
# USD, GBP, EUR, JPY and the UK/DE multi-currency list). Every one but JPY has two decimals.
_ZERO_DECIMAL_CURRENCIES = frozenset({"JPY"})
_CURRENCY_CODE = re.compile(r"^[A-Z]{3}$")
# Amazon's amounts are plain decimal strings: "1.00", "0", "0.0" (IPN), "1000" (JPY). ASCII
# digits only (\d also takes Arabic-Indic and full-width digits), and at most 12 before the point: what the
# database's amount columns hold (14 digits, 2 decimals) and the API accepts.
_AMOUNT_TEXT = re.compile(r"-?[0-9]{1,12}(\.[0-9]{1,10})?")


class MoneyError(ValueError):
    """An amount or currency that cannot be money."""


def minor_unit(currency: str) -> Decimal:
    """The currency's smallest amount: 0.01 USD, 1 JPY."""
    return Decimal(1).scaleb(-minor_unit_exponent(currency))


def minor_unit_exponent(currency: str) -> int:
    return 0 if currency in _ZERO_DECIMAL_CURRENCIES else 2


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.currency, str) or not _CURRENCY_CODE.match(self.currency):
            raise MoneyError(f"{self.currency!r} is not an ISO 4217 currency code")
        if isinstance(self.amount, bool) or not isinstance(self.amount, Decimal | int):
            raise MoneyError(f"money needs a Decimal amount, not {type(self.amount).__name__}")
        amount = Decimal(self.amount)
        if not amount.is_finite():
            raise MoneyError(f"{amount} is not an amount")
        quantized = amount.quantize(minor_unit(self.currency))
        if quantized != amount:
            raise MoneyError(f"{amount} {self.currency} has more decimals than {self.currency} allows")
        object.__setattr__(self, "amount", quantized)

    @classmethod
    def parse(cls, text: str, currency: str) -> Money:
        """Money from a decimal string such as Amazon or a form sends it."""
        cleaned = text.strip() if isinstance(text, str) else text
        if not isinstance(cleaned, str) or not _AMOUNT_TEXT.fullmatch(cleaned):
            raise MoneyError(f"{text!r} is not an amount")
        try:
            return cls(Decimal(cleaned), currency)
        except InvalidOperation as exc:  # pragma: no cover - the regex admits only valid decimals
            raise MoneyError(f"{text!r} is not an amount") from exc

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(Decimal(0), currency)

    def to_amazon(self) -> str:
        """The amount as Amazon's `…Amount.Amount` parameter wants it: "10.50", "1000"."""
        return f"{self.amount:f}"

    def _same_currency(self, other: object) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine money with {type(other).__name__}")
        if other.currency != self.currency:
            raise MoneyError(f"cannot mix {self.currency} and {other.currency}")
        return other

    def __add__(self, other: Money) -> Money:
        return Money(self.amount + self._same_currency(other).amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(self.amount - self._same_currency(other).amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        return self.amount < self._same_currency(other).amount

    def __le__(self, other: Money) -> bool:
        return self.amount <= self._same_currency(other).amount

    def __gt__(self, other: Money) -> bool:
        return self.amount > self._same_currency(other).amount

    def __ge__(self, other: Money) -> bool:
        return self.amount >= self._same_currency(other).amount

    @property
    def is_zero(self) -> bool:
        return self.amount == 0

    @property
    def is_positive(self) -> bool:
        return self.amount > 0

    def __str__(self) -> str:
        return f"{self.to_amazon()} {self.currency}"


def total(amounts: list[Money] | tuple[Money, ...], currency: str) -> Money:
    """The sum of amounts in one currency (zero when there are none)."""
    result = Money.zero(currency)
    for amount in amounts:
        result = result + amount
    return result
