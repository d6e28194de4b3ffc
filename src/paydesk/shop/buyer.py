"""The buyer's side of Amazon Pay, played by the offline sandbox's buyer stand-in.

In a real checkout Amazon's widgets create the order reference in the buyer's browser and hand
the store its id; the offline sandbox offers the same through `POST /sandbox/buyer/order-references`.
"""

from __future__ import annotations

import httpx

from paydesk.amazonpay.models import AmazonPaySettings, Environment
from paydesk.payments.money import Money


class BuyerUnavailable(Exception):
    """The demo shop cannot create an order reference (not the offline sandbox, or it is down)."""


def create_order_reference(
    settings: AmazonPaySettings, *, amount: Money, name: str, email: str, payment_method: str
) -> str:
    if settings.environment != Environment.OFFLINE_SANDBOX:
        raise BuyerUnavailable(
            "The demo shop works only with the offline sandbox: real buyers use Amazon's own widgets."
        )
    url = settings.offline_sandbox_url.rstrip("/") + "/sandbox/buyer/order-references"
    payload = {
        "seller_id": settings.seller_id,
        "amount": amount.to_amazon(),
        "currency": amount.currency,
        "payment_method": payment_method,
    }
    if name:
        payload["buyer_name"] = name
    if email:
        payload["buyer_email"] = email
    try:
        response = httpx.post(url, json=payload, timeout=10)
    except httpx.HTTPError as exc:
        raise BuyerUnavailable(
            f"The offline sandbox at {settings.offline_sandbox_url} did not answer: {exc}"
        ) from exc
    if response.status_code != 201:
        raise BuyerUnavailable(f"The offline sandbox refused the order reference: {response.text[:300]}")
    return response.json()["AmazonOrderReferenceId"]
