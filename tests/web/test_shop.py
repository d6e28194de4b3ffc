"""The demo shop's thank-you page belongs to the buyer who placed the order."""

from __future__ import annotations

import re

from django.test import Client

from paydesk.orders.models import Order
from paydesk.shop.catalog import PRODUCTS


def test_only_the_buyers_own_session_sees_its_thank_you_page(client, desk):
    response = client.post(
        "/shop/checkout/",
        {f"qty-{PRODUCTS[0].sku}": "1", "name": "Jane Buyer", "email": "jane@example.com"},
    )
    assert response.status_code == 302
    thanks = response["Location"]
    number = re.fullmatch(r"/shop/thanks/(\d+)/", thanks).group(1)
    assert Order.objects.filter(number=number).exists()
    own = client.get(thanks)
    assert own.status_code == 200 and f"#{number}" in own.content.decode()

    # Order numbers are sequential: anyone else counting through them learns nothing.
    assert Client().get(thanks).status_code == 404
    assert client.get(f"/shop/thanks/{int(number) - 1}/").status_code == 404
