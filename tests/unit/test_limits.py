from decimal import Decimal

import pytest

from paydesk.payments.limits import allowance, ceiling
from paydesk.payments.money import Money


@pytest.mark.parametrize(
    ("base", "currency", "expected"),
    [
        ("100.00", "USD", "15.00"),  # 15 % is less than the cap
        ("500.00", "USD", "75.00"),  # the 75 USD cap is less than 15 %
        ("10.01", "EUR", "1.50"),  # 1.5015 rounds half up to 1.50
        ("21.85", "GBP", "3.28"),  # Amazon's live reply: the ceiling above 21.85 GBP is 25.13
        ("1000.00", "GBP", "75.00"),
        ("100000", "JPY", "8400"),
        ("1000.00", "CHF", "150.00"),  # no documented cap: 15 % only
    ],
)
def test_allowance_is_the_lesser_of_15_percent_and_the_cap(base, currency, expected):
    assert allowance(Money(Decimal(base), currency)) == Money(Decimal(expected), currency)


def test_ceiling_is_base_plus_allowance():
    assert ceiling(Money(Decimal("100.00"), "USD")) == Money(Decimal("115.00"), "USD")
