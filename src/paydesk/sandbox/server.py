"""`Sandbox`: the offline Amazon Pay v1 look-alike as one object you start, use and stop.

    with Sandbox(SandboxConfig(throttling=False)) as sandbox:
        client._mws_endpoint = sandbox.endpoint          # Amazon's SDK, pointed here
        order_id = sandbox.create_order_reference(amount="25.00", currency="USD")
        sandbox.advance_clock("PT1M")                     # settle what is pending

It serves Amazon's API at `/OffAmazonPayments_Sandbox/2013-01-01` (and `/OffAmazonPayments/...`)
and a JSON control API under `/sandbox/` (see `control` and docs/sandbox.md), on a threaded
HTTP server in a background thread. A second background thread fires timers that fall due on the
real clock; IPN delivery has threads of its own.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import socket
import struct
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from paydesk.sandbox import control
from paydesk.sandbox.amounts import parse_wire_amount
from paydesk.sandbox.clock import SandboxClock, parse_duration
from paydesk.sandbox.config import SandboxConfig
from paydesk.sandbox.engine import Engine
from paydesk.sandbox.errors import AmazonError
from paydesk.sandbox.faults import Fault, FaultPlan
from paydesk.sandbox.gateway import ApiReply, Gateway
from paydesk.sandbox.ipn import IpnDispatcher, SnsSigner
from paydesk.sandbox.model import PAYMENT_DECLINED, PAYMENT_VALID, Address, Buyer
from paydesk.sandbox.store import Store, encode
from paydesk.sandbox.throttle import Throttle
from paydesk.sandbox.wire import LIVE_PATH, SANDBOX_PATH

logger = logging.getLogger(__name__)

DEFAULT_BUYER = Buyer(name="Jane Buyer", email="jane.buyer@example.com", phone="800-000-0000")
DEFAULT_ADDRESS = Address(
    name="Jane Buyer",
    address_line1="123 Any Street",
    city="Seattle",
    state_or_region="WA",
    postal_code="98101",
    country_code="US",
    phone="800-000-0000",
)
_PAYMENT_METHODS = (PAYMENT_VALID, PAYMENT_DECLINED)


class Sandbox:
    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self._store = Store(self.config.state_file) if self.config.state_file else None
        self.clock = SandboxClock(self._stored_clock_offset())
        self.engine = Engine(self.clock, self.config.timings, self._store)
        self.throttle = Throttle(enabled=self.config.throttling)
        self.faults = FaultPlan()
        self.gateway = Gateway(self.config, self.engine, self.clock, self.throttle, self.faults)
        self._signer = self._load_or_make_signer()
        self.ipn = IpnDispatcher(
            self.config.ipn, self._signer, self.clock, lambda: self.url, journal=self._store
        )
        self.engine.add_listener(self.ipn.publish)
        self._server: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> Sandbox:
        """Serve on a background thread. A Sandbox starts once; make a new one to start again
        (with the same state file, if it should remember)."""
        if self._server is not None or self._stopping.is_set():
            raise RuntimeError("a Sandbox starts once; create a new one (same state_file to carry on)")
        handler = type("SandboxRequestHandler", (_RequestHandler,), {"sandbox": self})
        server = _Server((self.config.host, self.config.port), handler)
        self._server = server
        self.ipn.start()
        serve = functools.partial(server.serve_forever, poll_interval=0.05)  # quick to stop
        for target, name in ((serve, "sandbox-http"), (self._tick, "sandbox-timers")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        logger.info("Amazon Pay sandbox listening on %s", self.url)
        return self

    def stop(self) -> None:
        self._stopping.set()  # also releases connections held by "timeout" faults
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()
        self.ipn.stop()
        self._server = None
        if self._store is not None:
            self._store.close()
            self._store = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the sandbox is not running; call start() first")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:8001 (a wildcard bind is reached via 127.0.0.1)."""
        host = self.config.host
        if host in ("", "0.0.0.0", "::"):  # noqa: S104 - comparing, not binding
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def endpoint(self) -> str:
        """What Amazon's SDKs call `_mws_endpoint` in sandbox mode."""
        return f"{self.url}{SANDBOX_PATH}"

    @property
    def live_endpoint(self) -> str:
        return f"{self.url}{LIVE_PATH}"

    @property
    def control_url(self) -> str:
        return f"{self.url}/sandbox"

    # -- buyer stand-in ---------------------------------------------------------------------------

    def create_order_reference(
        self,
        *,
        amount: str | Decimal,
        currency: str,
        seller_id: str | None = None,
        buyer: Buyer = DEFAULT_BUYER,
        address: Address | None = DEFAULT_ADDRESS,
        payment_method: str | None = PAYMENT_VALID,
    ) -> str:
        """A Draft order reference as Amazon's widgets leave it after checkout: buyer, shipping
        address and payment method chosen. `address=None` / `payment_method=None` leave them
        unset (ShippingAddressNotSet / PaymentPlanNotSet constraints)."""
        seller = seller_id or self.config.seller_id
        if seller not in {account.seller_id for account in self.config.sellers}:
            raise ValueError(f"unknown seller id {seller!r}")
        if payment_method not in (*_PAYMENT_METHODS, None):
            raise ValueError(f"payment_method must be one of {_PAYMENT_METHODS} or None")
        total = parse_wire_amount(str(amount), currency)
        order = self.engine.create_order_reference(
            seller_id=seller,
            order_total=total,
            buyer=buyer,
            destination=address,
            payment_method=payment_method,
        )
        return order.id

    def change_payment_method(self, order_reference_id: str, payment_method: str) -> None:
        if payment_method not in _PAYMENT_METHODS:
            raise ValueError(f"payment_method must be one of {_PAYMENT_METHODS}")
        self.engine.change_payment_method(order_reference_id, payment_method)

    # -- clock ------------------------------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock.now()

    def advance_clock(self, by: timedelta | str | float) -> datetime:
        """Move the sandbox clock forward (timedelta, ISO 8601 duration like "P3D", or seconds)
        and fire every timer that fell due, before returning."""
        if isinstance(by, str):
            by = parse_duration(by)
        elif not isinstance(by, timedelta):
            by = timedelta(seconds=float(by))
        now = self.clock.advance(by)
        if self._store is not None:
            self._store.set_meta("clock_offset", str(self.clock.offset.total_seconds()).encode())
        self.engine.advance_to(now)
        return now

    def run_due_timers(self) -> int:
        return self.engine.advance_to(self.clock.now())

    # -- faults, throttling, IPN --------------------------------------------------------------

    def arm_fault(self, operation: str, mode: str, count: int = 1, hold_seconds: float = 10.0) -> None:
        """The next `count` calls of `operation` ("*" = any) fail as `mode` (see faults.MODES)."""
        self.faults.arm(Fault(operation, mode, count, hold_seconds))

    def armed_faults(self) -> list[dict[str, object]]:
        return [fault.as_json() for fault in self.faults.armed()]

    def clear_faults(self) -> None:
        self.faults.clear()

    def set_throttling(self, enabled: bool) -> None:
        self.throttle.enabled = enabled
        self.throttle.reset()

    def pause_ipn(self) -> None:
        self.ipn.configure(paused=True)

    def resume_ipn(self) -> None:
        self.ipn.configure(paused=False)

    def configure_ipn(
        self, *, enabled: bool | None = None, paused: bool | None = None, urls: list[str] | None = None
    ) -> dict[str, object]:
        self.ipn.configure(enabled=enabled, paused=paused, urls=urls)
        return self.ipn.settings()

    def arm_ipn_fault(self, action: str, count: int = 1, delay_seconds: float = 0.0) -> None:
        """drop / duplicate / delay / reorder the next `count` notifications."""
        self.ipn.arm(action, count, delay_seconds)

    def ipn_deliveries(self) -> list[dict[str, object]]:
        return self.ipn.deliveries()

    def wait_for_ipn_idle(self, timeout: float = 10.0) -> bool:
        """True once nothing is queued or in flight (held reorders count as queued)."""
        return _wait_until(self.ipn.idle, timeout, self._stopping)

    def signing_certificate_pem(self) -> bytes:
        return self._signer.certificate_pem()

    @property
    def signing_certificate_name(self) -> str:
        return self._signer.certificate_file_name

    # -- inspection -----------------------------------------------------------------------------

    def object_state(self, object_id: str) -> dict[str, Any]:
        """Everything the sandbox knows about an order reference, authorization, capture or
        refund, as JSON-ready data (amounts as strings, times ISO 8601)."""
        obj = self.engine.find(object_id)
        if obj is None:
            raise KeyError(object_id)
        return {"kind": obj.kind, **encode(obj)}

    def info(self) -> dict[str, object]:
        return {
            "endpoint": self.endpoint,
            "live_endpoint": self.live_endpoint,
            "control": self.control_url,
            "seller_id": self.config.seller_id,
            "access_key": self.config.access_key,
            "now": self.clock.now().isoformat(),
            "throttling": self.throttle.enabled,
            "ipn": self.ipn.settings(),
            "signing_certificate_url": f"{self.url}/sandbox/sns/{self.signing_certificate_name}",
        }

    # -- internals ------------------------------------------------------------------------------

    def _stored_clock_offset(self) -> timedelta:
        stored = self._store.get_meta("clock_offset") if self._store else None
        return timedelta(seconds=float(stored.decode())) if stored else timedelta(0)

    def _load_or_make_signer(self) -> SnsSigner:
        if self._store is not None:
            key, certificate = self._store.get_meta("sns_key"), self._store.get_meta("sns_certificate")
            if key and certificate:
                return SnsSigner.from_pem(key, certificate)
        signer = SnsSigner.generate()
        if self._store is not None:
            self._store.set_meta("sns_key", signer.key_pem())
            self._store.set_meta("sns_certificate", signer.certificate_pem())
        return signer

    def hold(self, seconds: float) -> None:
        """Wait, but never past stop(): a held connection must not keep the sandbox alive."""
        self._stopping.wait(seconds)

    def _tick(self) -> None:
        interval = self.config.timings.tick.total_seconds()
        while not self._stopping.wait(interval):
            try:
                self.engine.advance_to(self.clock.now())
            except Exception:  # keep the timer loop alive; the failure is logged with its traceback
                logger.exception("a sandbox timer failed")


def _wait_until(condition: Callable[[], bool], timeout: float, stopping: threading.Event) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline or stopping.wait(0.02):
            return condition()
    return True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256


class _RequestHandler(BaseHTTPRequestHandler):
    """Thin: reads the request, hands it to the gateway or the control API, writes the reply."""

    sandbox: Sandbox
    protocol_version = "HTTP/1.1"
    server_version = "PaydeskAmazonPaySandbox"
    sys_version = ""
    timeout = 30  # seconds a silent client may hold a worker thread

    def setup(self) -> None:
        super().setup()
        # Headers and body leave in two writes; with Nagle's algorithm the body would wait for
        # the client's delayed ACK of the headers (~40 ms on Linux) on every reply.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_POST(self) -> None:
        self._route("POST")

    def do_GET(self) -> None:
        self._route("GET")

    def do_PUT(self) -> None:
        self._route("PUT")

    def do_DELETE(self) -> None:
        self._route("DELETE")

    def _route(self, method: str) -> None:
        path = urlsplit(self.path).path
        if method == "POST" and path in (SANDBOX_PATH, LIVE_PATH):
            self._api(path)
        elif path == "/sandbox" or path.startswith("/sandbox/"):
            self._control(method, path)
        else:
            # MWS common table: InvalidAddress 404 - "an invalid path was used".
            self.close_connection = True
            refused = self.sandbox.gateway.refuse(
                AmazonError("InvalidAddress", f"No Amazon Pay API at {path}.")
            )
            self._send(refused.status, refused.body)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s - %s", self.address_string(), format % args)

    # -- the API --------------------------------------------------------------------------------

    def _api(self, path: str) -> None:
        body, refusal = self._read_body()
        if refusal is not None:
            self.close_connection = True
            refused = self.sandbox.gateway.refuse(refusal)
            self._send(refused.status, refused.body)
            return
        reply = self.sandbox.gateway.handle(self.headers.get("Host"), path, body)
        if reply.connection is None:
            self._send(reply.status, reply.body)
            return
        if reply.connection == "hold":
            self.sandbox.hold(reply.hold_seconds)
        self._reset()

    def _read_body(self) -> tuple[bytes, AmazonError | None]:
        if self.headers.get("Transfer-Encoding"):
            return b"", AmazonError(
                "InvalidParameterValue", "Send the form with a Content-Length, not chunked."
            )
        length_text = self.headers.get("Content-Length")
        if length_text is None or not length_text.strip().isdigit():
            return b"", AmazonError(
                "InvalidParameterValue", "The request needs a valid Content-Length header."
            )
        length = int(length_text)
        if length > self.sandbox.config.max_body_bytes:
            # MWS: InvalidParameterValue also covers "the request size exceeded the maximum".
            return b"", AmazonError(
                "InvalidParameterValue",
                "The request size exceeded the maximum accepted size "
                f"({self.sandbox.config.max_body_bytes} bytes).",
            )
        return self.rfile.read(length), None

    def _send(self, status: int, body: bytes, content_type: str = "text/xml") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def _reset(self) -> None:
        """Abort the TCP connection (RST): the client sees "connection reset", no reply."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            logger.debug("the client had already gone when the sandbox reset the connection")

    # -- the control API ------------------------------------------------------------------------

    def _control(self, method: str, path: str) -> None:
        if not ipaddress.ip_address(self.client_address[0]).is_loopback:
            self._send(403, b'{"error": "the control API only answers 127.0.0.1"}', "application/json")
            return
        body = b""
        if method in ("POST", "PUT"):
            body, refusal = self._read_body()
            if refusal is not None:
                self.close_connection = True
                self._send(400, control.error_body(refusal.message), "application/json")
                return
        reply = control.dispatch(self.sandbox, method, path, urlsplit(self.path).query, body)
        self._send(reply.status, reply.body, reply.content_type)


__all__ = ["ApiReply", "Sandbox"]
