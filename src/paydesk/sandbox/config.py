"""How a sandbox is set up: who may call it, where IPNs go, how fast time-driven things happen.

The demo credentials below are public on purpose: they only ever open this offline sandbox.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

# Shaped like Amazon's ids: a seller id is 13-14 upper-case letters and digits (docs/amazon-pay-v1.md
# §1.5, e.g. A2K7NDRCTOTPW9); an MWS access key looks like an AWS key id (AKIA + 16).
DEMO_SELLER_ID = "A2PAYDESKDEMO1"
DEMO_ACCESS_KEY = "AKIAPAYDESKDEMO00001"
DEMO_SECRET_KEY = "paydesk-demo-secret-key-for-the-offline-sandbox"  # noqa: S105 - public on purpose

_SELLER_ID = re.compile(r"^[A-Z0-9]{10,20}$")

# Where IPN retries stop. Amazon Pay's own page says: 5xx (or any other non-2xx that is not 4xx)
# is retried hourly for 14 days, a 4xx answer or an unreachable endpoint is not retried at all
# (https://amazonpaylegacyintegrationguide.s3.amazonaws.com/docs/amazon-pay-onetime/ipn-response.html,
# docs/amazon-pay-v1.md §7.1). "any-failure" retries every failure instead, which is kinder to a
# demo whose web app starts after the sandbox.
IPN_RETRY_AMAZON = "amazon"
IPN_RETRY_ANY_FAILURE = "any-failure"


@dataclass(frozen=True, slots=True)
class SellerAccount:
    """One merchant the sandbox knows, with the MWS key pair that signs its requests."""

    seller_id: str
    access_key: str
    secret_key: str = field(repr=False)  # never printed, never logged

    def __post_init__(self) -> None:
        if not _SELLER_ID.match(self.seller_id):
            raise ValueError(f"{self.seller_id!r} does not look like an Amazon seller id (A-Z, 0-9)")
        if not self.access_key or not self.secret_key:
            raise ValueError("a seller account needs both an access key and a secret key")


@dataclass(frozen=True, slots=True)
class Timings:
    """How long Amazon's asynchronous steps take here, on the sandbox clock.

    Amazon takes "a minute or more" for an asynchronous authorization and about 30 seconds for a
    sandbox refund (docs/amazon-pay-v1.md §2.14, §6); these defaults are shorter so that the demo
    feels alive. Tests usually move the clock instead of waiting.
    """

    authorization_settle: timedelta = timedelta(seconds=3)
    capture_settle: timedelta = timedelta(seconds=3)
    refund_settle: timedelta = timedelta(seconds=5)
    # When an Open authorization nobody captured closes as ExpiredUnused. None = Amazon's rule for
    # the path the Authorize came through: 2 days on the sandbox path, 30 days on the live path
    # ("An Authorization object in the Open state - Moves to a Closed state in 30 days | Moves to a
    # Closed state in two days", developer.amazon.com/docs/eu/amazon-pay-onetime/
    # differences-between-environments.html; docs/amazon-pay-v1.md §4). A value set here wins on
    # both paths, e.g. 30 days for a demo whose authorizations should last as long as live ones.
    # The ExpirationTimestamp we report is creation + 30 days either way, as in Amazon's sandbox.
    authorization_expiry: timedelta | None = None
    # How often the background loop looks for timers that fell due on the real clock.
    tick: timedelta = timedelta(milliseconds=100)


@dataclass(frozen=True, slots=True)
class IpnSettings:
    """IPN delivery: where, how persistently, how many senders."""

    urls: tuple[str, ...] = ()
    enabled: bool = True
    retry_policy: str = IPN_RETRY_AMAZON
    # Amazon retries hourly for 14 days; scaled down to first retry after 1 s, doubling, 6 attempts.
    retry_first_delay: timedelta = timedelta(seconds=1)
    max_attempts: int = 6
    request_timeout: timedelta = timedelta(seconds=5)
    workers: int = 4

    def __post_init__(self) -> None:
        if self.retry_policy not in (IPN_RETRY_AMAZON, IPN_RETRY_ANY_FAILURE):
            raise ValueError(f"unknown IPN retry policy {self.retry_policy!r}")
        if self.max_attempts < 1 or self.workers < 1:
            raise ValueError("IPN delivery needs at least one attempt and one worker")
        for url in self.urls:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"IPN URL {url!r} must be http:// or https://")


@dataclass(frozen=True, slots=True)
class SandboxConfig:
    """Everything a `Sandbox` needs. The defaults give a demo sandbox on a free local port."""

    host: str = "127.0.0.1"
    port: int = 0  # 0 = let the operating system pick a free port
    seller_id: str = DEMO_SELLER_ID
    access_key: str = DEMO_ACCESS_KEY
    secret_key: str = field(default=DEMO_SECRET_KEY, repr=False)
    additional_sellers: tuple[SellerAccount, ...] = ()
    ipn: IpnSettings = IpnSettings()
    state_file: Path | None = None
    throttling: bool = True
    timings: Timings = Timings()
    # Requests carry a Timestamp; MWS rejects one more than 15 minutes off its clock
    # (MWS developer guide, DG_Timestamps.html).
    timestamp_tolerance: timedelta = timedelta(minutes=15)
    max_body_bytes: int = 1_000_000

    @property
    def sellers(self) -> tuple[SellerAccount, ...]:
        primary = SellerAccount(self.seller_id, self.access_key, self.secret_key)
        return (primary, *self.additional_sellers)

    def uses_demo_secret(self) -> bool:
        return self.secret_key == DEMO_SECRET_KEY
