"""The OpenAPI 3.1 document of the API, served at `/api/v1/openapi.json`.

Handwritten here, once: the views answer what `paydesk.api.representations` builds, and these
schemas describe exactly those documents (every object closed with `additionalProperties:
false`, every field required), so a field added on one side and not the other fails the
schemathesis run in tests/api.
"""

from __future__ import annotations

from functools import cache

from paydesk.amazonpay.models import Outcome, Source
from paydesk.api import inputs, problems
from paydesk.payments.actions import Action
from paydesk.payments.status import OrderStatus

VERSION = "1.0.0"


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict) -> dict:
    if "$ref" in schema:
        return {"anyOf": [schema, {"type": "null"}]}
    return {**schema, "type": [schema["type"], "null"]}


def _object(properties: dict, *, description: str = "", optional: tuple[str, ...] = ()) -> dict:
    schema = {
        "type": "object",
        "properties": properties,
        "required": [name for name in properties if name not in optional],
        "additionalProperties": False,
    }
    if description:
        schema["description"] = description
    return schema


STRING = {"type": "string"}
TEXT = {"type": "string", "maxLength": 10000}
DATE_TIME = {"type": "string", "format": "date-time"}
BOOLEAN = {"type": "boolean"}
AMAZON_ID = {"type": "string", "maxLength": 40}
STATES = "Amazon's state (Open, Pending, Declined, Closed, Completed...) or Paydesk's Unknown/Failed."

_TRANSACTION = _object(
    {
        "kind": {"type": "string", "enum": ["authorization", "capture", "refund"]},
        "amazon_id": {
            **_nullable(AMAZON_ID),
            "description": "Amazon's id; null until Amazon answered the request.",
        },
        "reference_id": {
            "type": "string",
            "description": "Paydesk's reference id, sent to Amazon as the Authorization, Capture "
            "or RefundReferenceId.",
        },
        "parent_amazon_id": {
            **_nullable(AMAZON_ID),
            "description": "A capture's authorization, a refund's capture.",
        },
        "amount": _ref("Money"),
        "state": {"type": "string", "description": STATES},
        "reason_code": {
            **_nullable(STRING),
            "description": "Amazon's reason code, e.g. InvalidPaymentMethod.",
        },
        "reason_description": _nullable(STRING),
        "soft_decline": BOOLEAN,
        "ipn_received": {"type": "boolean", "description": "An IPN from Amazon reported the state held."},
        "fee": _nullable(_ref("Money")),
        "requested_at": DATE_TIME,
        "updated_at": {**_nullable(DATE_TIME), "description": "Amazon's LastUpdateTimestamp."},
        "expires_at": _nullable(DATE_TIME),
        "error": _nullable(
            _object(
                {"code": STRING, "message": STRING},
                description="Why the request failed (Amazon's error code, or Paydesk's).",
            )
        ),
    },
    description="One authorization, capture or refund, as Amazon last reported it.",
)
_ORDER_SUMMARY = {
    "number": {"type": "string", "examples": ["1001"]},
    "placed_at": DATE_TIME,
    "status": _ref("OrderStatus"),
    "customer": _object({"name": _nullable(STRING), "email": _nullable(STRING)}),
    "total": _ref("Money"),
    "payment_method": {"type": "string", "examples": ["Amazon Pay"]},
    "amazon_order_reference_id": _nullable(AMAZON_ID),
    "fulfilled": BOOLEAN,
}
_PAYMENT = _object(
    {
        "amazon_order_reference_id": AMAZON_ID,
        "order_reference_state": {
            "type": "string",
            "description": "Draft, Open, Suspended, Canceled, Closed.",
        },
        "order_reference_reason": _nullable(STRING),
        "mode": {"type": "string", "enum": ["authorize_then_capture", "authorize_and_capture"]},
        "order_total": _ref("Money"),
        "balances": _object(
            {"authorized": _ref("Money"), "captured": _ref("Money"), "refunded": _ref("Money")},
            description="Derived from the transactions: open authorizations, completed captures and refunds.",
        ),
        "awaiting_sync": {
            "type": "boolean",
            "description": "A request's outcome is unknown: no money moves until refresh has asked Amazon.",
        },
        "authorizations": {"type": "array", "items": _ref("Transaction")},
        "captures": {"type": "array", "items": _ref("Transaction")},
        "refunds": {"type": "array", "items": _ref("Transaction")},
    },
    description="The order's Amazon Pay payment: its order reference and everything made on it.",
)
_AVAILABLE_ACTION = _object(
    {
        "name": {"type": "string", "enum": [a.value for a in Action]},
        "label": STRING,
        "targets": {
            "type": "array",
            "items": _object({"amazon_id": AMAZON_ID, "amount": _nullable(_ref("Money"))}),
            "description": "What capture and void (open authorizations) or refund (completed captures, "
            "with what is left to refund: null when all of it is refunded or on its way back, and only "
            "Amazon's allowance can be refunded, with an amount sent) can act on; the first is the "
            "default `target` (for a refund without an amount, the first with something left).",
        },
        "amount": {
            **_nullable(_ref("Money")),
            "description": "What authorize/reauthorize asks Amazon for by default.",
        },
    }
)
_ORDER = _object(
    {
        **_ORDER_SUMMARY,
        "lines": {
            "type": "array",
            "items": _object(
                {
                    "sku": STRING,
                    "name": STRING,
                    "quantity": {"type": "integer", "minimum": 0},
                    "unit_price": _ref("Money"),
                    "total": _ref("Money"),
                }
            ),
        },
        "totals": _object(
            {
                "subtotal": _ref("Money"),
                "shipping": _ref("Money"),
                "tax": _ref("Money"),
                "total": _ref("Money"),
            }
        ),
        "shipping": _object({"name": _nullable(STRING), "address": _nullable(STRING)}),
        "payment": _nullable(_ref("Payment")),
        "available_actions": {
            "type": "array",
            "items": _ref("AvailableAction"),
            "description": 'The "Amazon Pay available order actions", as the order page offers them.',
        },
    }
)
_EVENT = _object(
    {
        "id": {"type": "integer"},
        "at": DATE_TIME,
        "source": {"type": "string", "enum": list(Source.values)},
        "actor": {
            **_nullable(STRING),
            "description": "The staff user or API user; null for IPNs, the reconciler and the checkout.",
        },
        "operation": {"type": "string", "examples": ["Capture", "GetAuthorizationDetails", "Refresh status"]},
        "outcome": {"type": "string", "enum": list(Outcome.values)},
        "amazon_id": _nullable(AMAZON_ID),
        "reference_id": _nullable(STRING),
        "amount": _nullable(_ref("Money")),
        "state": _nullable(STRING),
        "reason_code": _nullable(STRING),
        "message": _nullable(TEXT),
        "request_id": _nullable(STRING),
    },
    description="One API call, notification or staff action on the payment.",
)
_PROBLEM = _object(
    {
        "type": {
            "type": "string",
            "format": "uri-reference",
            "description": "about:blank, or /api/v1/problems/<slug> (which describes the problem type).",
        },
        "title": STRING,
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string", "description": "What went wrong this time, for people."},
        "field": {"type": "string", "description": "The parameter, header or body field at fault."},
        "outcome": {"type": "string", "enum": ["refused"]},
    },
    description="RFC 9457 problem details.",
    optional=("field", "outcome"),
)

SCHEMAS = {
    "Money": _object(
        {
            "amount": {
                "type": "string",
                "pattern": r"^-?[0-9]+(\.[0-9]+)?$",
                "description": "A decimal string with the currency's decimals (2; JPY 0). Never a number.",
                "examples": ["10.50"],
            },
            "currency": {"type": "string", "pattern": "^[A-Z]{3}$", "examples": ["USD"]},
        }
    ),
    "OrderStatus": _object(
        {
            "code": {"type": "string", "enum": [s.value for s in OrderStatus]},
            "label": STRING,
            "meaning": STRING,
        }
    ),
    "OrderSummary": _object(_ORDER_SUMMARY),
    "OrderList": _object(
        {
            "orders": {"type": "array", "items": _ref("OrderSummary")},
            "next": {**_nullable(STRING), "description": "Pass as `after` for the next (older) page."},
            "previous": {
                **_nullable(STRING),
                "description": "Pass as `before` for the previous (newer) page.",
            },
        },
        description="One page of orders, newest first.",
    ),
    "Order": _ORDER,
    "Payment": _PAYMENT,
    "Transaction": _TRANSACTION,
    "AvailableAction": _AVAILABLE_ACTION,
    "Event": _EVENT,
    "EventList": _object(
        {
            "events": {"type": "array", "items": _ref("Event")},
            "next": {**_nullable(STRING), "description": "Pass as `after` for the next (older) page."},
        },
        description="One page of the payment's history, newest first.",
    ),
    "ActionReply": _object(
        {
            "outcome": {
                "type": "string",
                "enum": ["done", "pending", "declined", "failed", "unknown"],
                "description": "done: Amazon did it. pending: Amazon decides later (IPN or refresh). "
                "declined: Amazon declined (reason in message). failed: Amazon refused the request or "
                "could not be reached; no money moved. unknown: no answer; refresh before anything else.",
            },
            "message": {"type": "string", "description": "What happened, for the person who asked."},
            "transaction": _nullable(_ref("Transaction")),
            "order": _ref("Order"),
        },
        description="The action was processed; `order` is the order as it is afterwards.",
    ),
    "Problem": _PROBLEM,
    "ProblemType": _object(
        {
            "type": {"type": "string", "format": "uri-reference"},
            "title": STRING,
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
            "description": STRING,
        }
    ),
}


def _problem(description: str, **headers: dict) -> dict:
    response = {
        "description": description,
        "content": {problems.PROBLEM_CONTENT_TYPE: {"schema": _ref("Problem")}},
    }
    if headers:
        response["headers"] = headers
    return response


RESPONSES = {
    "BadRequest": _problem("Invalid parameter, header or body field (`field` names it)."),
    "Unauthorized": _problem(
        "No bearer token, or a malformed, unknown or revoked one.",
        **{"WWW-Authenticate": {"required": True, "schema": STRING}},
    ),
    "Forbidden": _problem("The token's user lacks the permission."),
    "NotFound": _problem("No such order (or resource)."),
    "Conflict": _problem(
        "The action is refused in the payment's current state (type action-refused, outcome refused), "
        "or a request with the same Idempotency-Key is still running (type idempotency-key-in-use).",
        **{"Retry-After": {"schema": STRING}},
    ),
    "ContentTooLarge": _problem(f"The body is larger than {inputs.MAX_BODY_BYTES} bytes."),
    "UnsupportedMediaType": _problem("The body is not application/json."),
    "Unprocessable": _problem(
        "The amount has more decimals than the order's currency, or is zero (type invalid-amount); "
        "or the Idempotency-Key was used for a different request (type idempotency-key-reused)."
    ),
}


def _responses(ok: dict, *errors: str) -> dict:
    codes = {
        "BadRequest": "400",
        "Unauthorized": "401",
        "Forbidden": "403",
        "NotFound": "404",
        "Conflict": "409",
        "ContentTooLarge": "413",
        "UnsupportedMediaType": "415",
        "Unprocessable": "422",
    }
    return {"200": ok, **{codes[e]: {"$ref": f"#/components/responses/{e}"} for e in errors}}


def _ok(schema: str, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}


NUMBER = {
    "name": "number",
    "in": "path",
    "required": True,
    "description": "The order number.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 32},
    "example": "1001",
}


def _query(name: str, schema: dict, description: str) -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


_CURSOR = {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,200}$"}

AMOUNT_FIELD = {
    "type": "string",
    "pattern": inputs.AMOUNT.pattern,
    "description": 'A decimal string in the order\'s currency, e.g. "10.50" (JPY: "1000"). '
    "Never a JSON number.",
    "examples": ["10.50"],
}
TARGET_FIELD = {"type": "string", "pattern": inputs.AMAZON_ID.pattern}

# name -> (summary, body properties, description)
_ACTIONS = {
    "capture": (
        "Capture an open authorization",
        {
            "amount": {
                **AMOUNT_FIELD,
                "description": "Default: the authorization's full amount. " + AMOUNT_FIELD["description"],
            },
            "target": {
                **TARGET_FIELD,
                "description": "The Amazon authorization id; default: the first open one.",
            },
        },
        "Amazon's Capture. At most the authorized amount; one capture per authorization.",
    ),
    "void": (
        "Void an open authorization",
        {
            "target": {
                **TARGET_FIELD,
                "description": "The Amazon authorization id; default: the first open one.",
            }
        },
        "Amazon's CloseAuthorization; when nothing was captured on the order and no other "
        "authorization is open or under way, its order reference is canceled too, so the buyer is "
        "not charged.",
    ),
    "refund": (
        "Refund a completed capture",
        {
            "amount": {
                **AMOUNT_FIELD,
                "description": "Default: what is left to refund. " + AMOUNT_FIELD["description"],
            },
            "target": {
                **TARGET_FIELD,
                "description": "The Amazon capture id; default: the first refundable one.",
            },
        },
        "Amazon's Refund. Amazon's refunds start Pending (outcome pending) and complete later.",
    ),
    "refresh": (
        "Refresh status from Amazon",
        {},
        "Ask Amazon where the order reference and every authorization, capture and refund stand.",
    ),
    "authorize": (
        "Authorize what is still owed",
        {
            "amount": {
                **AMOUNT_FIELD,
                "description": "Default: what is left to collect. " + AMOUNT_FIELD["description"],
            }
        },
        "Amazon's Authorize on the open order reference (split shipments). On an “Authorize and "
        "capture” order whose charge at checkout failed or was declined: Authorize with CaptureNow, "
        "which charges the buyer at once.",
    ),
    "reauthorize": (
        "Reauthorize after a lost authorization",
        {
            "amount": {
                **AMOUNT_FIELD,
                "description": "Default: the lost authorization's amount. " + AMOUNT_FIELD["description"],
            }
        },
        "The same call as authorize, offered when the latest authorization expired, was declined or closed.",
    ),
    "close": (
        "Close the order reference",
        {},
        "Amazon's CloseOrderReference: no further authorizations; open ones can still be captured.",
    ),
    "cancel": (
        "Cancel the order reference",
        {},
        "Amazon's CancelOrderReference; only while nothing was captured.",
    ),
}

IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": True,
    "description": "A key new for each action (a UUID is fine). Repeating a request with the same key "
    "answers the first reply again; the same key with a different request is 422. A key sent as "
    'a structured-field string ("...") is the key without its quotes.',
    "schema": {"type": "string", "pattern": inputs.IDEMPOTENCY_HEADER.pattern},
    "example": "5f0c3a52-4d6e-4b8e-9d62-0c1f2a7b9e31",
}


def _action_operation(name: str) -> dict:
    summary, fields, description = _ACTIONS[name]
    body = {"type": "object", "properties": fields, "additionalProperties": False}
    return {
        "post": {
            "operationId": f"{name}Order",
            "tags": ["actions"],
            "summary": summary,
            "description": description + " Needs orders.view_order and orders.operate_payments.",
            "parameters": [NUMBER, IDEMPOTENCY_KEY],
            "requestBody": {"required": False, "content": {"application/json": {"schema": body}}},
            "responses": _responses(
                {
                    **_ok(
                        "ActionReply",
                        "Processed: read `outcome` (Amazon's declines and failures are here too).",
                    ),
                    "headers": {
                        "Idempotent-Replayed": {
                            "description": "`true` when this is the stored reply of an earlier "
                            "request with the same Idempotency-Key; nothing was done again.",
                            "schema": {"type": "string", "enum": ["true"]},
                        }
                    },
                },
                "BadRequest",
                "Unauthorized",
                "Forbidden",
                "NotFound",
                "Conflict",
                "ContentTooLarge",
                "UnsupportedMediaType",
                "Unprocessable",
            ),
        }
    }


def _paths() -> dict:
    low, high, default = inputs.ORDER_PAGE
    event_low, event_high, event_default = inputs.EVENT_PAGE
    paths = {
        "/orders": {
            "get": {
                "operationId": "listOrders",
                "tags": ["orders"],
                "summary": "List orders, newest first",
                "description": "The order list's filters and keyset pages. Needs orders.view_order.",
                "parameters": [
                    _query(
                        "status", {"type": "string", "enum": [s.value for s in OrderStatus]}, "Order status."
                    ),
                    _query(
                        "from",
                        {"type": "string", "format": "date"},
                        "Placed on or after this day (1900-9998).",
                    ),
                    _query(
                        "to",
                        {"type": "string", "format": "date"},
                        "Placed on or before this day (1900-9998).",
                    ),
                    _query(
                        "q",
                        {"type": "string", "maxLength": inputs.MAX_TEXT_SEARCH},
                        "Order number, e-mail, Amazon order reference id or customer name.",
                    ),
                    _query("after", _CURSOR, "A previous page's `next`: the older orders after it."),
                    _query("before", _CURSOR, "A page's `previous`: the newer orders before it."),
                    _query(
                        "limit",
                        {"type": "integer", "minimum": low, "maximum": high, "default": default},
                        "Orders per page.",
                    ),
                ],
                "responses": _responses(
                    _ok("OrderList", "A page of orders."), "BadRequest", "Unauthorized", "Forbidden"
                ),
            }
        },
        "/orders/{number}": {
            "get": {
                "operationId": "getOrder",
                "tags": ["orders"],
                "summary": "An order with its payment and available actions",
                "description": "Needs orders.view_order.",
                "parameters": [NUMBER],
                "responses": _responses(_ok("Order", "The order."), "Unauthorized", "Forbidden", "NotFound"),
            }
        },
        "/orders/{number}/events": {
            "get": {
                "operationId": "listOrderEvents",
                "tags": ["orders"],
                "summary": "The payment's history, newest first",
                "description": "Every Amazon call, IPN and action on the payment. Needs orders.view_order.",
                "parameters": [
                    NUMBER,
                    _query(
                        "after", {"type": "string", "pattern": "^[0-9]{1,19}$"}, "A previous page's `next`."
                    ),
                    _query(
                        "limit",
                        {
                            "type": "integer",
                            "minimum": event_low,
                            "maximum": event_high,
                            "default": event_default,
                        },
                        "Events per page.",
                    ),
                ],
                "responses": _responses(
                    _ok("EventList", "A page of events."),
                    "BadRequest",
                    "Unauthorized",
                    "Forbidden",
                    "NotFound",
                ),
            }
        },
    }
    for name in _ACTIONS:
        paths[f"/orders/{{number}}/actions/{name}"] = _action_operation(name)
    paths["/openapi.json"] = {
        "get": {
            "operationId": "getOpenApi",
            "tags": ["meta"],
            "summary": "This document",
            "security": [],
            "responses": {
                "200": {
                    "description": "The OpenAPI 3.1 document.",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                }
            },
        }
    }
    paths["/problems/{slug}"] = {
        "get": {
            "operationId": "getProblemType",
            "tags": ["meta"],
            "summary": "What a problem type means",
            "security": [],
            "parameters": [
                {
                    "name": "slug",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "enum": sorted(problems.DOCUMENTED)},
                }
            ],
            "responses": {
                "200": _ok("ProblemType", "The problem type."),
                "404": {"$ref": "#/components/responses/NotFound"},
            },
        }
    }
    return paths


@cache
def document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Paydesk API",
            "version": VERSION,
            "description": "Orders paid with Amazon Pay (Checkout v1) and their payment actions. "
            "Authenticate with `Authorization: Bearer <token>` (`paydesk manage create_api_token USER`). "
            'Money is always {"amount": "10.50", "currency": "USD"}. Errors are RFC 9457 problem '
            "documents. Every action needs an Idempotency-Key header. See docs/api.md.",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearerAuth": []}],
        "tags": [
            {"name": "orders", "description": "Reading orders, payments and their history."},
            {"name": "actions", "description": "Capture, void, refund, refresh, authorize, close, cancel."},
            {"name": "meta", "description": "This document and the problem types."},
        ],
        "paths": _paths(),
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "pdk_ followed by 43 URL-safe characters",
                    "description": "An API token made with `paydesk manage create_api_token USER`.",
                }
            },
            "schemas": SCHEMAS,
            "responses": RESPONSES,
        },
    }
