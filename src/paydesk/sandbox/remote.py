"""`RemoteSandbox`: the control API of a sandbox running in another process, with the same method
names as `Sandbox`, so that a test can drive either one the same way.

    remote = RemoteSandbox("http://127.0.0.1:8001")
    order_id = remote.create_order_reference(amount="25.00", currency="USD")
    remote.advance_clock("P3D")
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any


class RemoteSandboxError(RuntimeError):
    """The control API refused a call; the message is its explanation."""


class RemoteSandbox:
    def __init__(self, url: str, timeout: float = 30.0) -> None:
        if not url.startswith(("http://127.0.0.1", "http://localhost", "http://[::1]")):
            raise ValueError("the sandbox's control API only answers on the local machine")
        self.url = url.rstrip("/")
        self._timeout = timeout

    def _call(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        data = None if payload is None else json.dumps(payload, default=str).encode("utf-8")
        request = urllib.request.Request(  # noqa: S310 - the URL scheme is checked in __init__
            f"{self.url}/sandbox{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310
                return json.loads(response.read())
        except urllib.error.HTTPError as failure:
            try:
                message = json.loads(failure.read()).get("error", failure.reason)
            except ValueError:
                message = failure.reason
            raise RemoteSandboxError(f"{method} {path}: {failure.code} {message}") from None

    # Same names and arguments as Sandbox's methods.

    @property
    def endpoint(self) -> str:
        return str(self._call("GET", "")["endpoint"])

    def info(self) -> dict[str, Any]:
        return dict(self._call("GET", ""))

    def create_order_reference(self, *, amount: str | Decimal, currency: str, **options: Any) -> str:
        """options: seller_id, buyer_name, buyer_email, buyer_phone, address (dict or None),
        payment_method ("valid", "declined" or None)."""
        payload = {"amount": str(amount), "currency": currency, **options}
        return str(self._call("POST", "/buyer/order-references", payload)["AmazonOrderReferenceId"])

    def change_payment_method(self, order_reference_id: str, payment_method: str) -> None:
        self._call(
            "POST",
            f"/buyer/order-references/{order_reference_id}/payment-method",
            {"payment_method": payment_method},
        )

    def now(self) -> datetime:
        return datetime.fromisoformat(self._call("GET", "/clock")["now"])

    def advance_clock(self, by: timedelta | str | float) -> datetime:
        advance: str | float = by.total_seconds() if isinstance(by, timedelta) else by
        return datetime.fromisoformat(self._call("POST", "/clock", {"advance": advance})["now"])

    def arm_fault(self, operation: str, mode: str, count: int = 1, hold_seconds: float = 10.0) -> None:
        self._call(
            "POST",
            "/faults",
            {"operation": operation, "mode": mode, "count": count, "hold_seconds": hold_seconds},
        )

    def armed_faults(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/faults")["faults"])

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def set_throttling(self, enabled: bool) -> None:
        self._call("PUT", "/throttling", {"enabled": enabled})

    def pause_ipn(self) -> None:
        self._call("POST", "/ipn/pause", {})

    def resume_ipn(self) -> None:
        self._call("POST", "/ipn/resume", {})

    def configure_ipn(
        self, *, enabled: bool | None = None, paused: bool | None = None, urls: list[str] | None = None
    ) -> dict[str, Any]:
        changes = {
            k: v for k, v in {"enabled": enabled, "paused": paused, "urls": urls}.items() if v is not None
        }
        return dict(self._call("PUT", "/ipn", changes))

    def arm_ipn_fault(self, action: str, count: int = 1, delay_seconds: float = 0.0) -> None:
        self._call("POST", "/ipn/faults", {"action": action, "count": count, "delay_seconds": delay_seconds})

    def ipn_deliveries(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/ipn/deliveries")["deliveries"])

    def wait_for_ipn_idle(self, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while not self._call("GET", "/ipn/deliveries")["idle"]:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def object_state(self, object_id: str) -> dict[str, Any]:
        try:
            return dict(self._call("GET", f"/objects/{object_id}"))
        except RemoteSandboxError as failure:
            if " 404 " in str(failure):
                raise KeyError(object_id) from None
            raise
