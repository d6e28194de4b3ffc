"""The MWS request format: a form-encoded POST body signed with Signature Version 2.

String to sign (docs/amazon-pay-v1.md §1.3; MWS developer guide "Required request parameters";
Amazon's SDKs: PY payment_request.py, PHP calculateStringToSignV2, CS Signature.cs):

    POST \\n lowercase(Host header, with :port when the client had one) \\n path \\n
    name=value&... over every parameter except Signature, sorted by name (byte order),
    each name and value percent-encoded per RFC 3986 (A-Z a-z 0-9 - _ . ~ kept, space = %20).

The signature is Base64(HMAC(secret, string to sign)) with SHA-256 (SignatureMethod HmacSHA256, what
every SDK sends; MWS also accepts HmacSHA1). We rebuild the canonical form from the *decoded*
parameters, never from the raw body: the body uses form encoding (+ for space) and the signature
does not.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import parse_qsl, quote

from paydesk.sandbox.errors import AmazonError

API_VERSION = "2013-01-01"
SANDBOX_PATH = f"/OffAmazonPayments_Sandbox/{API_VERSION}"
LIVE_PATH = f"/OffAmazonPayments/{API_VERSION}"

_DIGESTS = {"HmacSHA256": hashlib.sha256, "HmacSHA1": hashlib.sha1}
# More fields than any operation has; a body with more is refused, not parsed.
_MAX_FIELDS = 500


def parse_form(body: bytes) -> dict[str, str]:
    """The parameters of a form-encoded body. Refuses what MWS could not read either."""
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(
            text,
            keep_blank_values=True,
            strict_parsing=bool(text),
            encoding="utf-8",
            errors="strict",
            max_num_fields=_MAX_FIELDS,
        )
    except (UnicodeDecodeError, ValueError):
        raise AmazonError(
            "InvalidParameterValue", "The request body is not a valid application/x-www-form-urlencoded form."
        ) from None
    params: dict[str, str] = {}
    for name, value in pairs:
        if name in params:
            raise AmazonError("InvalidParameterValue", f"The parameter {name} appears more than once.")
        params[name] = value
    return params


def rfc3986(text: str) -> str:
    return quote(text.encode("utf-8"), safe="-_.~")


def canonical_query(params: Mapping[str, str]) -> str:
    return "&".join(f"{rfc3986(name)}={rfc3986(params[name])}" for name in sorted(params))


def string_to_sign(host: str, path: str, params: Mapping[str, str]) -> str:
    unsigned = {name: value for name, value in params.items() if name != "Signature"}
    return f"POST\n{host.lower()}\n{path or '/'}\n{canonical_query(unsigned)}"


def sign(secret_key: str, text: str, method: str = "HmacSHA256") -> str:
    digest = hmac.new(secret_key.encode("utf-8"), text.encode("utf-8"), _DIGESTS[method]).digest()
    return base64.b64encode(digest).decode("ascii")


def signature_matches(secret_key: str, host: str, path: str, params: Mapping[str, str]) -> bool:
    method = params.get("SignatureMethod", "")
    given = params.get("Signature")
    if method not in _DIGESTS or not given or params.get("SignatureVersion") != "2":
        return False
    expected = sign(secret_key, string_to_sign(host, path, params), method)
    return hmac.compare_digest(expected.encode("ascii"), given.encode("utf-8", "replace"))
