"""The offline Amazon Pay v1 sandbox: an MWS "Off-Amazon Payments" look-alike that Amazon's own
SDKs can talk to, with Amazon's rules, simulation strings, throttling, signed IPNs, faults on
demand and a movable clock. See docs/sandbox.md.

This package imports nothing from the rest of Paydesk, on purpose: it is the independent check
on the client in `paydesk.amazonpay`.
"""

from paydesk.sandbox.config import (
    DEMO_ACCESS_KEY,
    DEMO_SECRET_KEY,
    DEMO_SELLER_ID,
    IpnSettings,
    SandboxConfig,
    SellerAccount,
    Timings,
)
from paydesk.sandbox.remote import RemoteSandbox, RemoteSandboxError
from paydesk.sandbox.server import Sandbox

__all__ = [
    "DEMO_ACCESS_KEY",
    "DEMO_SECRET_KEY",
    "DEMO_SELLER_ID",
    "IpnSettings",
    "RemoteSandbox",
    "RemoteSandboxError",
    "Sandbox",
    "SandboxConfig",
    "SellerAccount",
    "Timings",
]
