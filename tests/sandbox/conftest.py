"""Fixtures for the sandbox tests: a running sandbox (throttling off), Amazon's own Python SDK
pointed at it, and a local HTTP server that records the IPNs it receives."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from amazon_pay.client import AmazonPayClient
from amazon_pay.payment_request import PaymentRequest

from paydesk.sandbox import DEMO_ACCESS_KEY, DEMO_SECRET_KEY, DEMO_SELLER_ID, Sandbox, SandboxConfig, Timings
from paydesk.sandbox.config import IpnSettings

GENEROUS = 15.0  # seconds to wait for something asynchronous; shared machines are slow


def wait_for(condition: Callable[[], Any], timeout: float = GENEROUS, what: str = "the condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def quiet_timings() -> Timings:
    """Long real-time delays, so that only moving the clock settles things in tests."""
    return Timings(
        authorization_settle=timedelta(seconds=30),
        capture_settle=timedelta(seconds=30),
        refund_settle=timedelta(seconds=30),
        tick=timedelta(milliseconds=50),
    )


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(throttling=False, timings=quiet_timings())) as running:
        yield running


def sdk_client(
    sandbox: Sandbox,
    *,
    secret_key: str = DEMO_SECRET_KEY,
    access_key: str = DEMO_ACCESS_KEY,
    seller_id: str = DEMO_SELLER_ID,
    currency: str = "USD",
) -> AmazonPayClient:
    """Amazon's SDK as a merchant would configure it for the sandbox, then pointed here
    (docs/amazon-pay-v1.md §8.4: `_mws_endpoint` is the only way in)."""
    client = AmazonPayClient(
        mws_access_key=access_key,
        mws_secret_key=secret_key,
        merchant_id=seller_id,
        region="na",
        currency_code=currency,
        sandbox=True,
        handle_throttle=False,  # else the SDK sleeps 1+4+10 s on every 500/503
    )
    client._mws_endpoint = sandbox.endpoint
    return client


def signed_body(
    endpoint: str,
    params: dict[str, str],
    *,
    secret: str = DEMO_SECRET_KEY,
    access_key: str = DEMO_ACCESS_KEY,
    seller: str = DEMO_SELLER_ID,
) -> bytes:
    """The body Amazon's Python SDK would send; params given here override its defaults
    (Timestamp, Version, SellerId...), and are signed as given."""
    config = {
        "mws_access_key": access_key,
        "mws_secret_key": secret,
        "api_version": "2013-01-01",
        "merchant_id": seller,
        "mws_endpoint": endpoint,
        "headers": {},
        "handle_throttle": False,
    }
    return PaymentRequest(dict(params), config)._querystring(dict(params))


@pytest.fixture
def amazon(sandbox: Sandbox) -> AmazonPayClient:
    return sdk_client(sandbox)


def result(response: Any, action: str) -> dict[str, Any]:
    """The `<{action}Result>` of an SDK response, as the SDK parsed it."""
    assert response.success, response.to_xml()
    return response.to_dict()[f"{action}Response"][f"{action}Result"]


def error(response: Any) -> dict[str, Any]:
    assert not response.success, response.to_xml()
    return response.to_dict()["ErrorResponse"]["Error"]


def open_order(sandbox: Sandbox, amazon: AmazonPayClient, amount: str = "100.00", **buyer: Any) -> str:
    """What a checkout leaves behind, then the merchant's first two calls: set details, confirm."""
    order_id = sandbox.create_order_reference(amount=amount, currency="USD", **buyer)
    result(
        amazon.set_order_reference_details(order_id, amount, seller_order_id="order-1"),
        "SetOrderReferenceDetails",
    )
    assert amazon.confirm_order_reference(order_id).success
    return order_id


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def envelope(self) -> dict[str, str]:
        return json.loads(self.body)

    def message(self) -> dict[str, Any]:
        return json.loads(self.envelope()["Message"])


@dataclass
class IpnReceiver:
    """A merchant's IPN endpoint: records every POST; answers with `statuses` in turn (then 200)."""

    url: str = ""
    received: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self) -> int:
        with self.lock:
            return self.statuses.pop(0) if self.statuses else 200

    def record(self, item: Received) -> None:
        with self.lock:
            self.received.append(item)

    def messages(self) -> list[Received]:
        with self.lock:
            return list(self.received)

    def wait_for(self, count: int, timeout: float = GENEROUS) -> list[Received]:
        wait_for(lambda: len(self.messages()) >= count, timeout, f"{count} IPN(s)")
        return self.messages()


@pytest.fixture
def ipn_receiver() -> Iterator[IpnReceiver]:
    receiver = IpnReceiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            receiver.record(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(receiver.answer())
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/amazon/ipn"
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def sandbox_with_ipn(ipn_receiver: IpnReceiver) -> Iterator[Sandbox]:
    ipn = IpnSettings(urls=(ipn_receiver.url,), retry_first_delay=timedelta(milliseconds=50), max_attempts=3)
    with Sandbox(SandboxConfig(throttling=False, timings=quiet_timings(), ipn=ipn)) as running:
        yield running
