from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from paydesk.payments.money import Money, minor_unit_exponent


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    # In a currency with cents (USD, EUR, GBP and the other two-decimal currencies).
    price: Decimal

    def price_in(self, currency: str) -> Money:
        return demo_price(self.price, currency)


def demo_price(price: Decimal, currency: str) -> Money:
    """A list price in the store's currency, which may be any Amazon presents.

    The list is written with cents. In a currency without minor units (JPY) Amazon refuses
    decimals, so there the same figure counts whole units, a hundred to the dollar — about
    what a yen is worth: the 12.50 mug costs 1250 JPY.
    """
    return Money(price.scaleb(2 - minor_unit_exponent(currency)), currency)


PRODUCTS = (
    Product("MUG-01", "Paydesk mug", Decimal("12.50")),
    Product("TEE-02", "Ledger T-shirt", Decimal("24.00")),
    Product("NB-03", "Reconciliation notebook", Decimal("8.75")),
    Product("LAMP-04", "Desk lamp", Decimal("49.90")),
)
SHIPPING = Decimal("4.95")
BY_SKU = {p.sku: p for p in PRODUCTS}
