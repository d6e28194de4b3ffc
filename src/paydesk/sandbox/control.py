"""The control API: JSON over HTTP under /sandbox/, for tests and demos in another process.

Every route mirrors a `Sandbox` method; docs/sandbox.md lists them with examples. Only loopback
clients are answered (the HTTP handler checks), because this is a test tool that can move money
in a pretend world and should never be reachable from elsewhere.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from paydesk.sandbox.amounts import AmountError
from paydesk.sandbox.model import Address, Buyer

if TYPE_CHECKING:
    from paydesk.sandbox.server import Sandbox

_UNSET = object()


@dataclass(frozen=True, slots=True)
class ControlReply:
    status: int
    body: bytes
    content_type: str = "application/json"


class _BadRequest(ValueError):
    pass


def _json(status: int, payload: object) -> ControlReply:
    return ControlReply(status, json.dumps(payload, default=str, indent=2).encode("utf-8"))


def error_body(message: str) -> bytes:
    return json.dumps({"error": message}).encode("utf-8")


def _text(payload: dict[str, Any], name: str, default: Any = _UNSET) -> Any:
    if name not in payload:
        if default is _UNSET:
            raise _BadRequest(f'"{name}" is required')
        return default
    return payload[name]


def _address(payload: dict[str, Any], default: Address | None) -> Address | None:
    if "address" not in payload:
        return default
    raw = payload["address"]
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise _BadRequest('"address" must be an object or null')
    try:
        return Address(**{key: str(value) for key, value in raw.items()})
    except TypeError as problem:
        raise _BadRequest(f"bad address: {problem}") from None


def _create_order_reference(sandbox: Sandbox, payload: dict[str, Any], _: str) -> ControlReply:
    from paydesk.sandbox.server import DEFAULT_ADDRESS, DEFAULT_BUYER

    amount = _text(payload, "amount")
    if not isinstance(amount, str | int | Decimal) or isinstance(amount, bool):
        raise _BadRequest('"amount" must be a decimal string like "25.00"')
    buyer = Buyer(
        name=str(payload.get("buyer_name", DEFAULT_BUYER.name)),
        email=str(payload.get("buyer_email", DEFAULT_BUYER.email)),
        phone=payload.get("buyer_phone", DEFAULT_BUYER.phone),
    )
    order_id = sandbox.create_order_reference(
        amount=str(amount),
        currency=str(_text(payload, "currency")),
        seller_id=payload.get("seller_id"),
        buyer=buyer,
        address=_address(payload, DEFAULT_ADDRESS),
        payment_method=payload.get("payment_method", "valid"),
    )
    return _json(201, {"AmazonOrderReferenceId": order_id})


def _change_payment_method(sandbox: Sandbox, payload: dict[str, Any], order_id: str) -> ControlReply:
    sandbox.change_payment_method(order_id, str(_text(payload, "payment_method")))
    return _json(200, sandbox.object_state(order_id))


def _clock(sandbox: Sandbox) -> dict[str, object]:
    return {"now": sandbox.now().isoformat(), "offset_seconds": sandbox.clock.offset.total_seconds()}


def _advance_clock(sandbox: Sandbox, payload: dict[str, Any], _: str) -> ControlReply:
    advance = _text(payload, "advance")
    if isinstance(advance, bool) or not isinstance(advance, str | int | Decimal):
        raise _BadRequest('"advance" is an ISO 8601 duration like "P3D" or a number of seconds')
    sandbox.advance_clock(advance if isinstance(advance, str) else float(advance))
    return _json(200, _clock(sandbox))


def _arm_fault(sandbox: Sandbox, payload: dict[str, Any], _: str) -> ControlReply:
    sandbox.arm_fault(
        str(_text(payload, "operation")),
        str(_text(payload, "mode")),
        int(payload.get("count", 1)),
        float(payload.get("hold_seconds", 10.0)),
    )
    return _json(201, {"faults": sandbox.armed_faults()})


def _configure_ipn(sandbox: Sandbox, payload: dict[str, Any], _: str) -> ControlReply:
    urls = payload.get("urls")
    if urls is not None and not (isinstance(urls, list) and all(isinstance(url, str) for url in urls)):
        raise _BadRequest('"urls" must be a list of strings')
    settings = sandbox.configure_ipn(enabled=payload.get("enabled"), paused=payload.get("paused"), urls=urls)
    return _json(200, settings)


def _arm_ipn_fault(sandbox: Sandbox, payload: dict[str, Any], _: str) -> ControlReply:
    sandbox.arm_ipn_fault(
        str(_text(payload, "action")), int(payload.get("count", 1)), float(payload.get("delay_seconds", 0))
    )
    return _json(201, sandbox.ipn.settings())


def _set_throttling(sandbox: Sandbox, payload: dict[str, Any], _: str) -> ControlReply:
    enabled = _text(payload, "enabled")
    if not isinstance(enabled, bool):
        raise _BadRequest('"enabled" must be true or false')
    sandbox.set_throttling(enabled)
    return _json(200, {"enabled": sandbox.throttle.enabled})


def _certificate(sandbox: Sandbox, name: str) -> ControlReply:
    if name != sandbox.signing_certificate_name:
        return _json(404, {"error": "no such certificate"})
    return ControlReply(200, sandbox.signing_certificate_pem(), "application/x-pem-file")


def _clear_faults(sandbox: Sandbox, payload: dict[str, Any], _: str) -> ControlReply:
    sandbox.clear_faults()
    return _json(200, {"faults": []})


def _clear_deliveries(sandbox: Sandbox, payload: dict[str, Any], _: str) -> ControlReply:
    sandbox.ipn.clear_log()
    return _json(200, {"idle": sandbox.ipn.idle(), "deliveries": sandbox.ipn_deliveries()})


Route = Callable[["Sandbox", dict[str, Any], str], ControlReply]

# (method, path pattern) -> handler(sandbox, json payload, the pattern's one group or "")
_ROUTES: list[tuple[str, re.Pattern[str], Route]] = [
    ("GET", re.compile(r"/sandbox/?"), lambda s, p, g: _json(200, s.info())),
    ("POST", re.compile(r"/sandbox/buyer/order-references"), _create_order_reference),
    (
        "POST",
        re.compile(r"/sandbox/buyer/order-references/([A-Z0-9-]+)/payment-method"),
        _change_payment_method,
    ),
    ("GET", re.compile(r"/sandbox/clock"), lambda s, p, g: _json(200, _clock(s))),
    ("POST", re.compile(r"/sandbox/clock"), _advance_clock),
    ("GET", re.compile(r"/sandbox/faults"), lambda s, p, g: _json(200, {"faults": s.armed_faults()})),
    ("POST", re.compile(r"/sandbox/faults"), _arm_fault),
    (
        "DELETE",
        re.compile(r"/sandbox/faults"),
        lambda s, p, g: (s.clear_faults(), _json(200, {"faults": []}))[1],
    ),
    ("GET", re.compile(r"/sandbox/ipn"), lambda s, p, g: _json(200, s.ipn.settings())),
    ("PUT", re.compile(r"/sandbox/ipn"), _configure_ipn),
    ("POST", re.compile(r"/sandbox/ipn/pause"), lambda s, p, g: _configure_ipn(s, {"paused": True}, g)),
    ("POST", re.compile(r"/sandbox/ipn/resume"), lambda s, p, g: _configure_ipn(s, {"paused": False}, g)),
    ("POST", re.compile(r"/sandbox/ipn/faults"), _arm_ipn_fault),
    (
        "GET",
        re.compile(r"/sandbox/ipn/deliveries"),
        lambda s, p, g: _json(200, {"idle": s.ipn.idle(), "deliveries": s.ipn_deliveries()}),
    ),
    (
        "DELETE",
        re.compile(r"/sandbox/ipn/deliveries"),
        lambda s, p, g: (s.ipn.clear_log(), _json(200, {}))[1],
    ),
    ("GET", re.compile(r"/sandbox/throttling"), lambda s, p, g: _json(200, {"enabled": s.throttle.enabled})),
    ("PUT", re.compile(r"/sandbox/throttling"), _set_throttling),
    ("GET", re.compile(r"/sandbox/objects/([A-Z0-9-]+)"), lambda s, p, g: _json(200, s.object_state(g))),
    (
        "GET",
        re.compile(r"/sandbox/sns/(SimpleNotificationService-[0-9a-f]+\.pem)"),
        lambda s, p, g: _certificate(s, g),
    ),
    (
        "GET",
        re.compile(r"/sandbox/sns/unsubscribe"),
        lambda s, p, g: _json(
            200, {"unsubscribed": False, "why": "the sandbox's IPN URLs are set by its config"}
        ),
    ),
]


def dispatch(sandbox: Sandbox, method: str, path: str, query: str, body: bytes) -> ControlReply:
    del query  # no route reads the query string (the unsubscribe stub ignores it)
    matched_path = False
    for route_method, pattern, handler in _ROUTES:
        match = pattern.fullmatch(path)
        if match is None:
            continue
        matched_path = True
        if route_method != method:
            continue
        try:
            payload = json.loads(body, parse_float=Decimal) if body.strip() else {}
            if not isinstance(payload, dict):
                raise _BadRequest("the body must be a JSON object")
            return handler(sandbox, payload, match.group(1) if match.groups() else "")
        except KeyError as missing_object:
            return _json(404, {"error": f"no object {missing_object}"})
        except (_BadRequest, AmountError, ValueError, TypeError) as problem:
            return _json(400, {"error": str(problem)})
    if matched_path:
        return _json(405, {"error": f"{method} is not allowed on {path}"})
    return _json(404, {"error": f"no control route {path}"})
