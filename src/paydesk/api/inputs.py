"""Reading what a client sent: query parameters, the Idempotency-Key header, action bodies
and amounts. Anything that is not what the OpenAPI document describes is refused with a
problem that names the field, before anything is looked up or changed."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.http import HttpRequest, QueryDict

from paydesk.api import problems
from paydesk.api.problems import ApiProblem, invalid
from paydesk.orders.search import decode_cursor
from paydesk.payments.money import Money, MoneyError
from paydesk.payments.status import OrderStatus

MAX_BODY_BYTES = 16 * 1024
MAX_TEXT_SEARCH = 100
ORDER_PAGE = (1, 100, 50)  # smallest, largest, default `limit`
EVENT_PAGE = (1, 200, 100)
_BIGINT = 2**63 - 1

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CURSOR = re.compile(r"^[A-Za-z0-9_-]{1,200}$")
_DIGITS = re.compile(r"^[0-9]{1,19}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Idempotency keys: visible ASCII. The IETF draft sends the key as a structured-field
# string ("..."); clients that follow it and clients that send it bare both work.
IDEMPOTENCY_KEY = re.compile(r"^[!-~]{1,64}$")
# The header as a whole, quoted or not: what the OpenAPI document promises is accepted.
IDEMPOTENCY_HEADER = re.compile(r'^("[!-~]{1,64}"|[!-~]{1,64})$')
# A decimal string: digits, optionally a fraction; the currency's own precision is checked
# afterwards (422), so a JPY amount with cents is told apart from text that is no amount.
AMOUNT = re.compile(r"^[0-9]{1,12}(\.[0-9]{1,12})?$")
# Amazon's authorization and capture ids: S01-1234567-1234567-A012345 (at most 40 in our rows).
AMAZON_ID = re.compile(r"^[A-Za-z0-9-]{1,40}$")


def _limit(params: QueryDict, bounds: tuple[int, int, int]) -> int:
    low, high, default = bounds
    text = params.get("limit")
    if text is None:
        return default
    if not _DIGITS.fullmatch(text) or not low <= int(text) <= high:
        raise invalid("limit", f"limit must be a whole number from {low} to {high}.")
    return int(text)


def _date(params: QueryDict, name: str) -> date | None:
    text = params.get(name)
    if text is None:
        return None
    try:
        if not _DATE.fullmatch(text):
            raise ValueError(text)
        day = date.fromisoformat(text)
        # Far-off years overflow when the day's bounds are converted to UTC for the database.
        if not 1900 <= day.year <= 9998:
            raise ValueError(text)
        return day
    except ValueError:
        raise invalid(
            name, f"{name} must be a date from 1900-01-01 to 9998-12-31, such as 2026-01-31."
        ) from None


def _cursor(params: QueryDict, name: str) -> str:
    text = params.get(name)
    if text is None:
        return ""
    decoded = decode_cursor(text) if _CURSOR.fullmatch(text) else None
    if decoded is None or not 0 < decoded[1] <= _BIGINT:
        raise invalid(name, f"{name} must be a cursor from a previous page's `next` or `previous`.")
    return text


@dataclass(frozen=True)
class OrderQuery:
    status: str
    date_from: date | None
    date_to: date | None
    text: str
    after: str
    before: str
    limit: int


def order_query(params: QueryDict) -> OrderQuery:
    status = params.get("status")
    # Present means one of the statuses: `status=` (empty) is refused like any other unknown
    # value, as the OpenAPI document's enum says, rather than read as "no filter".
    if status is not None and status not in OrderStatus._value2member_map_:
        raise invalid("status", f"status must be one of: {', '.join(s.value for s in OrderStatus)}.")
    text = params.get("q", "")
    if len(text) > MAX_TEXT_SEARCH or _CONTROL.search(text):
        raise invalid("q", f"q must be at most {MAX_TEXT_SEARCH} characters, without control characters.")
    after, before = _cursor(params, "after"), _cursor(params, "before")
    if after and before:
        raise invalid("before", "Send either after or before, not both.")
    return OrderQuery(
        status=status or "",
        date_from=_date(params, "from"),
        date_to=_date(params, "to"),
        text=text,
        after=after,
        before=before,
        limit=_limit(params, ORDER_PAGE),
    )


@dataclass(frozen=True)
class EventQuery:
    after: int | None
    limit: int


def event_query(params: QueryDict) -> EventQuery:
    text = params.get("after")
    after = None
    if text is not None:
        if not _DIGITS.fullmatch(text) or not 0 < int(text) <= _BIGINT:
            raise invalid("after", "after must be an event id from a previous page's `next`.")
        after = int(text)
    return EventQuery(after=after, limit=_limit(params, EVENT_PAGE))


def idempotency_key(request: HttpRequest) -> str:
    raw = request.headers.get("Idempotency-Key")
    if raw is None or not raw.strip():
        raise ApiProblem(
            problems.IDEMPOTENCY_KEY_REQUIRED,
            "This action needs an Idempotency-Key header, e.g. a new UUID for each action.",
            {"field": "Idempotency-Key"},
        )
    key = raw.strip()
    if len(key) >= 3 and key[0] == key[-1] == '"':
        key = key[1:-1]
    if not IDEMPOTENCY_KEY.fullmatch(key):
        raise ApiProblem(
            problems.IDEMPOTENCY_KEY_REQUIRED,
            "The Idempotency-Key must be 1 to 64 visible ASCII characters (no spaces).",
            {"field": "Idempotency-Key"},
        )
    return key


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def json_body(request: HttpRequest) -> dict:
    """The request's JSON object; an empty body is `{}`."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BODY_BYTES:
        raise ApiProblem(problems.CONTENT_TOO_LARGE, f"The body may be at most {MAX_BODY_BYTES} bytes.")
    raw = request.body
    if not raw.strip():
        return {}
    if len(raw) > MAX_BODY_BYTES:
        raise ApiProblem(problems.CONTENT_TOO_LARGE, f"The body may be at most {MAX_BODY_BYTES} bytes.")
    media_type = request.content_type.split(";")[0].strip().lower() if request.content_type else ""
    if media_type != "application/json":
        raise ApiProblem(
            problems.UNSUPPORTED_MEDIA_TYPE,
            f"Send the body as application/json, not {media_type or 'without a Content-Type'}.",
        )
    try:
        body = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError):
        raise invalid("body", "The body is not valid JSON (UTF-8).") from None
    except RecursionError:
        # Nesting deeper than Python's stack: no action's body is nested at all.
        raise invalid("body", "The body is nested too deeply to be an action's fields.") from None
    if not isinstance(body, dict):
        raise invalid("body", 'The body must be a JSON object, e.g. {"amount": "10.50"}.')
    return body


def action_fields(body: dict, action: str, allowed: tuple[str, ...]) -> dict[str, str]:
    """The body's fields for this action: only `allowed` ones, each a string of the right form."""
    for name in body:
        if name not in allowed:
            takes = f"takes only {', '.join(allowed)}" if allowed else "takes no fields"
            raise invalid(name, f"{action} {takes}; {name!r} is not one of them.")
    fields: dict[str, str] = {}
    if "amount" in body:
        value = body["amount"]
        if not isinstance(value, str):
            raise invalid(
                "amount",
                'amount must be a decimal string such as "10.50", not a JSON '
                f"{_json_kind(value)}: binary floating point cannot hold every amount exactly.",
            )
        if value.startswith("-"):
            raise invalid("amount", "amount must not be negative.")
        if not AMOUNT.fullmatch(value):
            raise invalid(
                "amount", f'amount must be a decimal string such as "10.50"; {value[:40]!r} is not.'
            )
        fields["amount"] = value
    if "target" in body:
        value = body["target"]
        if not isinstance(value, str) or not AMAZON_ID.fullmatch(value):
            raise invalid("target", "target must be an Amazon authorization or capture id of this order.")
        fields["target"] = value
    return fields


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "array" if isinstance(value, list) else "object"


def amount_in(text: str, currency: str) -> Money:
    """The amount of a checked decimal string in the order's currency (422 if it cannot be)."""
    try:
        amount = Money(Decimal(text), currency)
    except MoneyError:
        raise ApiProblem(
            problems.INVALID_AMOUNT,
            f"amount {text} has more decimals than {currency} allows.",
            {"field": "amount"},
        ) from None
    if not amount.is_positive:
        raise ApiProblem(problems.INVALID_AMOUNT, "amount must be greater than zero.", {"field": "amount"})
    return amount
