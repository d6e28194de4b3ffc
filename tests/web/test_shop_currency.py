"""The demo shop sells in the store's currency, whole yen included."""

from __future__ import annotations

import pytest

from paydesk.amazonpay.models import AmazonPaySettings, Payment
from paydesk.orders.models import Order
from paydesk.payments.money import Money
from paydesk.shop.catalog import PRODUCTS


def _store_currency(currency: str, region: str) -> None:
    settings = AmazonPaySettings.load()
    settings.currency = currency
    settings.region = region
    settings.save()


def test_a_yen_store_shows_whole_yen_prices(client, desk):
    _store_currency("JPY", "jp")
    page = client.get("/shop/").content.decode()
    assert "1250 JPY" in page and "495 JPY" in page
    assert "12.50 JPY" not in page and "4.95 JPY" not in page


def test_a_yen_store_takes_an_order_in_whole_yen(client, desk):
    _store_currency("JPY", "jp")
    response = client.post(
        "/shop/checkout/",
        {f"qty-{PRODUCTS[0].sku}": "2", "name": "Jane Buyer", "email": "jane@example.com"},
    )
    assert response.status_code == 302 and "/shop/thanks/" in response["Location"]
    order = Order.objects.get()
    assert order.currency == "JPY" and order.total_money == Money.parse("2995", "JPY")  # 2 x 1250 + 495
    assert [line.unit_price for line in order.lines.all()] == [1250]
    assert Payment.objects.get(order=order).order_total_money == Money.parse("2995", "JPY")
    assert order.status == "authorized"


@pytest.mark.parametrize("currency", ["USD", "EUR", "GBP"])
def test_two_decimal_stores_keep_the_catalog_prices(client, desk, currency):
    _store_currency(currency, "uk" if currency != "USD" else "na")
    page = client.get("/shop/").content.decode()
    assert f"12.50 {currency}" in page and f"4.95 {currency}" in page
