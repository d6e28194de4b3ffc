"""Amazon's sample replies (tests/fixtures/amazon, see SOURCES.md) and an independent signature check."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl

from amazon_pay.payment_request import PaymentRequest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "amazon"


def sample(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def form_fields(body: bytes) -> dict[str, str]:
    """A POST body decoded the way a server decodes a form (`+` and `%20` both a space)."""
    return dict(parse_qsl(body.decode("ascii"), keep_blank_values=True, strict_parsing=True))


def sdk_signature(parameters: dict[str, str], *, endpoint_url: str, secret_key: str) -> str:
    """The signature Amazon's own Python SDK (amazon-pay 2.7.1) computes for these parameters.

    `PaymentRequest._querystring` adds its common parameters and then overwrites them with the
    ones passed in, so handing it every parameter we sent (Timestamp included) makes it sign
    exactly our request with its own code.
    """
    unsigned = {name: value for name, value in parameters.items() if name != "Signature"}
    request = PaymentRequest(
        unsigned,
        {
            "mws_access_key": unsigned["AWSAccessKeyId"],
            "mws_secret_key": secret_key,
            "merchant_id": unsigned["SellerId"],
            "handle_throttle": False,
            "api_version": "2013-01-01",
            "mws_endpoint": endpoint_url,
            "headers": {},
        },
    )
    return form_fields(request._querystring(unsigned))["Signature"]
