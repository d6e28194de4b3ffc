from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paydesk.payments.money import Money, MoneyError, total


def test_amount_is_quantized_to_the_currency_minor_unit():
    assert Money(Decimal("10.5"), "USD").to_amazon() == "10.50"
    assert Money(Decimal("1000"), "JPY").to_amazon() == "1000"
    assert Money(Decimal("0"), "EUR").to_amazon() == "0.00"


def test_more_precision_than_the_currency_allows_is_refused_not_rounded():
    with pytest.raises(MoneyError, match="more decimals"):
        Money(Decimal("10.005"), "USD")
    with pytest.raises(MoneyError, match="more decimals"):
        Money(Decimal("1.5"), "JPY")


def test_floats_are_never_money():
    with pytest.raises(MoneyError, match="Decimal"):
        Money(10.5, "USD")  # type: ignore[arg-type]


@pytest.mark.parametrize("code", ["usd", "US", "USDX", "", "12A"])
def test_currency_must_be_an_iso_code(code):
    with pytest.raises(MoneyError, match="currency"):
        Money(Decimal(1), code)


@pytest.mark.parametrize("text", ["1.00", "0", "0.0", " 19.95 ", "150000", "999999999999.99"])
def test_parse_accepts_amazons_amount_strings(text):
    assert Money.parse(text, "USD").amount == Decimal(text.strip())


@pytest.mark.parametrize(
    "text",
    # Arabic-Indic and full-width digits are digits to str.isdigit and \d, not to an amount
    # field; 13 digits before the point do not fit the database's amount columns.
    [
        "",
        "1,00",
        "1e3",
        "NaN",
        "Infinity",
        "$1",
        "1.2.3",
        "--1",
        "\u0661\u0662",
        "\uff11\uff12",
        "1000000000000",
    ],
)
def test_parse_refuses_what_is_not_an_amount(text):
    with pytest.raises(MoneyError):
        Money.parse(text, "USD")


def test_arithmetic_keeps_the_currency_and_refuses_to_mix():
    a = Money.parse("10.00", "EUR")
    b = Money.parse("2.50", "EUR")
    assert a - b == Money.parse("7.50", "EUR")
    assert total([a, b, b], "EUR") == Money.parse("15.00", "EUR")
    assert b < a and a >= b
    with pytest.raises(MoneyError, match="mix"):
        a + Money.parse("1.00", "USD")
    with pytest.raises(TypeError):
        a + Decimal(1)  # type: ignore[operator]


@given(
    st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False, allow_infinity=False),
    st.sampled_from(["USD", "EUR", "GBP"]),
)
def test_amazon_string_round_trips(amount, currency):
    money = Money(amount, currency)
    assert Money.parse(money.to_amazon(), currency) == money
    assert "E" not in money.to_amazon()
