from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    price: Decimal


PRODUCTS = (
    Product("MUG-01", "Paydesk mug", Decimal("12.50")),
    Product("TEE-02", "Ledger T-shirt", Decimal("24.00")),
    Product("NB-03", "Reconciliation notebook", Decimal("8.75")),
    Product("LAMP-04", "Desk lamp", Decimal("49.90")),
)
SHIPPING = Decimal("4.95")
BY_SKU = {p.sku: p for p in PRODUCTS}
