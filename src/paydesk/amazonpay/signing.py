"""Signature Version 2 (HmacSHA256), the way MWS checks every Amazon Pay v1 request.

    StringToSign = "POST\\n" + host + "\\n" + path + "\\n" + CanonicalQuery
    CanonicalQuery = name=value pairs sorted by name (byte order), each side RFC 3986-encoded
                     (unreserved A-Z a-z 0-9 - _ . ~ kept, everything else %XX upper-case hex,
                     space as %20), joined by "&"; every parameter except Signature.
    Signature = base64(HMAC-SHA256(secret key, StringToSign))

Sources (docs/amazon-pay-v1.md §1.3): Amazon's Python SDK `payment_request.py::_querystring`,
PHP SDK `Client::calculateStringToSignV2` and `urlEncode`, C# `Signature.cs`, MWS developer
guide "Required request parameters". The host is lower-case and carries ":port" when the
port is not the scheme's default: the Python SDK signs `urlparse(endpoint).netloc`, and a
server checks against its Host header, which carries the port the same way.

The secret key lives only inside a `SecretKey`; nothing in this module returns or logs it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import quote

from paydesk.amazonpay.regions import API_VERSION, Endpoint

SIGNATURE_METHOD = "HmacSHA256"
SIGNATURE_VERSION = "2"


class SecretKey:
    """An MWS secret key that cannot leak by accident.

    Its repr and str are masked, so it can sit in objects that get logged, printed or shown in
    tracebacks with their locals; it refuses to be pickled or copied; the only thing it does
    with its value is sign.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str):
        if not isinstance(value, str) or not value:
            del value  # keep it out of tracebacks that show local variables
            raise ValueError("the MWS secret key must be a non-empty string")
        self._value = value

    def sign(self, string_to_sign: str) -> str:
        """base64(HMAC-SHA256(key, string_to_sign)), both sides UTF-8."""
        digest = hmac.new(self._value.encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha256)
        return base64.b64encode(digest.digest()).decode("ascii")

    def __repr__(self) -> str:
        return "SecretKey('********')"

    __str__ = __repr__

    def __reduce_ex__(self, protocol: object) -> object:
        raise TypeError("an MWS secret key is never pickled or copied")


def percent_encode(value: str) -> str:
    """RFC 3986 encoding of a UTF-8 string as MWS wants it (space -> %20, `~` kept, `*` -> %2A)."""
    return quote(value, safe="-_.~")


def canonical_query(parameters: Mapping[str, str]) -> str:
    """The sorted, encoded name=value list that is signed (and, plus Signature, sent as the body)."""
    for name, value in parameters.items():
        if not isinstance(value, str):
            raise TypeError(f"parameter {name} must be a string, not {type(value).__name__}")
    # Python orders str by code point, which is UTF-8 byte order; Amazon's names are ASCII anyway.
    return "&".join(
        f"{percent_encode(name)}={percent_encode(parameters[name])}" for name in sorted(parameters)
    )


def string_to_sign(*, host: str, path: str, parameters: Mapping[str, str], method: str = "POST") -> str:
    return f"{method}\n{host.lower()}\n{path or '/'}\n{canonical_query(parameters)}"


def amazon_timestamp(moment: datetime) -> str:
    """ISO 8601 UTC without fractions, as Amazon's Python SDK sends it: 2024-01-02T03:04:05Z."""
    if moment.tzinfo is None:
        raise ValueError("the request Timestamp needs a timezone-aware datetime")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def signed_parameters(
    operation_parameters: Mapping[str, str],
    *,
    action: str,
    endpoint: Endpoint,
    seller_id: str,
    access_key: str,
    secret_key: SecretKey,
    timestamp: datetime,
    mws_auth_token: str | None = None,
) -> dict[str, str]:
    """Every parameter of one request, the common ones and `Signature` included."""
    parameters = dict(operation_parameters)
    parameters.update(
        {
            "Action": action,
            "AWSAccessKeyId": access_key,
            "SellerId": seller_id,
            "SignatureMethod": SIGNATURE_METHOD,
            "SignatureVersion": SIGNATURE_VERSION,
            "Timestamp": amazon_timestamp(timestamp),
            "Version": API_VERSION,
        }
    )
    # MWSAuthToken only on delegated (solution provider) calls; it is signed like the rest.
    if mws_auth_token:
        parameters["MWSAuthToken"] = mws_auth_token
    parameters["Signature"] = secret_key.sign(
        string_to_sign(host=endpoint.host, path=endpoint.path, parameters=parameters)
    )
    return parameters


def form_body(parameters: Mapping[str, str]) -> bytes:
    """The POST body: the canonical query with `Signature` last.

    Sent RFC 3986-encoded exactly as signed, as Amazon's PHP SDK does; a form decoder reads
    `%20` and `+` alike, so Amazon recovers the same values either way.
    """
    unsigned = {name: value for name, value in parameters.items() if name != "Signature"}
    body = canonical_query(unsigned)
    if "Signature" in parameters:
        body += f"&Signature={percent_encode(parameters['Signature'])}"
    return body.encode("ascii")
