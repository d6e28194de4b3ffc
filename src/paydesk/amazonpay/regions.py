"""Where Amazon Pay v1 lives: one MWS host per region, one path for live and one for sandbox.

Sandbox and live share the host; only the first path segment differs
(`/OffAmazonPayments_Sandbox/2013-01-01` vs `/OffAmazonPayments/2013-01-01`). Sources: Amazon's
SDKs - Python `amazon_pay/ap_region.py` and `client.py::_set_endpoint`, PHP `Regions.php` and
`Client::createServiceUrl`, C# `Regions.cs` (docs/amazon-pay-v1.md §1.1).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from urllib.parse import urlsplit

API_VERSION = "2013-01-01"


class Region(enum.StrEnum):
    NA = "na"
    EU = "eu"
    UK = "uk"
    JP = "jp"


# UK and DE merchants both use the EU host (all five SDKs).
_HOSTS = {
    Region.NA: "mws.amazonservices.com",
    Region.EU: "mws-eu.amazonservices.com",
    Region.UK: "mws-eu.amazonservices.com",
    Region.JP: "mws.amazonservices.jp",
}
# The other names Amazon's SDKs accept for the same regions (Python SDK `ap_region.py`).
_ALIASES = {"us": Region.NA, "de": Region.EU}
_DEFAULT_PORTS = {"https": 443, "http": 80}


@dataclass(frozen=True, slots=True)
class Endpoint:
    """The URL the client POSTs to, split the way Signature Version 2 needs it."""

    scheme: str
    host: str  # lower-case, with ":port" only when the port is not the scheme's default
    path: str

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}{self.path}"


def region_named(name: str | Region) -> Region:
    """The region for a name such as "na", "EU", "us" or "de"."""
    key = str(name).strip().lower()
    if key in _ALIASES:
        return _ALIASES[key]
    try:
        return Region(key)
    except ValueError:
        known = ", ".join(sorted([r.value for r in Region] + list(_ALIASES)))
        raise ValueError(f"unknown Amazon Pay region {name!r} (known: {known})") from None


def service_path(*, sandbox: bool) -> str:
    return f"/OffAmazonPayments{'_Sandbox' if sandbox else ''}/{API_VERSION}"


def endpoint_for(region: str | Region, *, sandbox: bool, base_url: str | None = None) -> Endpoint:
    """Amazon's endpoint for a region, or `base_url`'s scheme, host and port with Amazon's path.

    `base_url` (e.g. "http://127.0.0.1:8001") points the client at `paydesk sandbox` or another
    stand-in; the path still follows `sandbox`, so the request is the one Amazon would get.
    """
    path = service_path(sandbox=sandbox)
    if base_url is None:
        return Endpoint("https", _HOSTS[region_named(region)], path)
    parts = urlsplit(base_url)
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"base_url must look like http(s)://host[:port], not {base_url!r}")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"base_url must be only scheme, host and port, not {base_url!r}")
    host = parts.hostname.lower()
    if ":" in host:  # an IPv6 literal keeps its brackets in a Host header
        host = f"[{host}]"
    port = parts.port  # raises ValueError for a non-numeric port
    if port is not None and port != _DEFAULT_PORTS[parts.scheme]:
        host = f"{host}:{port}"
    return Endpoint(parts.scheme, host, path)
