from decimal import Decimal

import pytest

from paydesk.sandbox.amounts import (
    Amount,
    AmountError,
    allowance,
    ceiling,
    max_single_refund,
    parse_wire_amount,
)


def usd(text: str) -> Amount:
    return Amount(Decimal(text), "USD")


def test_the_allowance_is_fifteen_percent_for_small_amounts():
    assert allowance(usd("100.00")) == usd("15.00")


def test_the_allowance_is_capped_at_75_dollars_pounds_or_euros():
    assert allowance(usd("1000.00")) == usd("75")
    assert allowance(Amount(Decimal("1000.00"), "EUR")).value == Decimal(75)
    assert allowance(Amount(Decimal("1000.00"), "GBP")).value == Decimal(75)


def test_the_yen_allowance_is_capped_at_8400_yen():
    assert allowance(Amount(Decimal(10_000), "JPY")).value == Decimal(1500)
    assert allowance(Amount(Decimal(100_000), "JPY")).value == Decimal(8400)


def test_fifteen_percent_of_an_odd_amount_rounds_half_up_to_the_cent():
    assert allowance(usd("0.99")) == usd("0.15")  # 0.1485
    assert allowance(usd("10.01")) == usd("1.50")  # 1.5015
    # Amazon's own refusal: "cannot exceed 25.13 GBP" above 21.85 GBP (15 % = 3.2775).
    assert ceiling(Amount(Decimal("21.85"), "GBP")) == Amount(Decimal("25.13"), "GBP")


def test_the_ceiling_is_the_base_plus_the_allowance():
    assert ceiling(usd("10.00")) == usd("11.50")


def test_wire_amounts_keep_the_currencys_decimals():
    assert parse_wire_amount("10.5", "USD").wire() == "10.50"
    assert parse_wire_amount("1000", "JPY").wire() == "1000"


@pytest.mark.parametrize(
    ("text", "currency"),
    [
        ("10.001", "USD"),
        ("10.5", "JPY"),
        ("0", "USD"),
        ("-1.00", "USD"),
        ("1e3", "USD"),
        ("", "USD"),
        ("ten", "USD"),
    ],
)
def test_an_amount_that_amazon_could_not_charge_is_refused(text: str, currency: str):
    with pytest.raises(AmountError):
        parse_wire_amount(text, currency)


def test_amounts_in_different_currencies_do_not_add_up():
    with pytest.raises(AmountError):
        usd("1.00") + Amount(Decimal("1.00"), "EUR")


def test_a_single_refund_is_at_most_150000_dollars_or_ten_million_yen():
    assert max_single_refund("USD").value == Decimal(150_000)
    assert max_single_refund("JPY").value == Decimal(10_000_000)
