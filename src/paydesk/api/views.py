"""The API's views: thin adapters from HTTP to `paydesk.orders.search`, the representations
and the payment service. No business rule lives here: which action is allowed, and how much,
is the pure core's answer, reached through the service exactly as the order page reaches it."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

from paydesk.amazonpay import services
from paydesk.amazonpay.models import Outcome, Payment, Source, Transaction
from paydesk.api import idempotency, inputs, problems, representations
from paydesk.api.auth import OPERATE, VIEW, endpoint
from paydesk.api.openapi import document
from paydesk.api.problems import ApiProblem
from paydesk.orders.models import Order
from paydesk.orders.search import OrderFilters, page_of
from paydesk.payments.actions import Action
from paydesk.payments.money import Money

ORDER_NUMBER = re.compile(r"^[^\x00-\x1f\x7f]{1,32}$")


def _not_found(what: str) -> ApiProblem:
    return ApiProblem(problems.NOT_FOUND, what)


def _order(number: str) -> Order:
    # A NUL byte would reach the database (PostgreSQL refuses it outright); no order number
    # has control characters, so such a number is simply not found.
    if not ORDER_NUMBER.fullmatch(number):
        raise _not_found(f"There is no order {number[:40]!r}.")
    order = Order.objects.select_related("amazon_payment").filter(number=number).first()
    if order is None:
        raise _not_found(f"There is no order {number[:40]!r}.")
    return order


@endpoint(methods=("GET",), public=True)
def openapi(request: HttpRequest) -> HttpResponse:
    return JsonResponse(document())


@endpoint(methods=("GET",), public=True)
def problem_type(request: HttpRequest, slug: str) -> HttpResponse:
    kind = problems.DOCUMENTED.get(slug)
    if kind is None:
        raise _not_found(f"There is no problem type {slug[:40]!r}.")
    return JsonResponse(
        {"type": kind.uri, "title": kind.title, "status": kind.status, "description": kind.description}
    )


@endpoint(methods=("GET", "POST", "PUT", "PATCH", "DELETE"), public=True)
def unknown_path(request: HttpRequest, path: str = "") -> HttpResponse:
    raise _not_found("There is no such API resource; see /api/v1/openapi.json.")


@endpoint(methods=("GET",), permissions=(VIEW,))
def order_list(request: HttpRequest) -> HttpResponse:
    query = inputs.order_query(request.GET)
    filters = OrderFilters(
        status=query.status, date_from=query.date_from, date_to=query.date_to, text=query.text
    )
    orders = filters.apply(Order.objects.select_related("amazon_payment"))
    page = page_of(orders, after=query.after, before=query.before, size=query.limit, window=filters.window)
    return JsonResponse(
        {
            "orders": [representations.order_summary(o) for o in page.orders],
            "next": page.older,
            "previous": page.newer,
        }
    )


@endpoint(methods=("GET",), permissions=(VIEW,))
def order_detail(request: HttpRequest, number: str) -> HttpResponse:
    order = _order(number)
    return JsonResponse(representations.order_detail(order, now=timezone.now()))


@endpoint(methods=("GET",), permissions=(VIEW,))
def order_events(request: HttpRequest, number: str) -> HttpResponse:
    query = inputs.event_query(request.GET)
    order = _order(number)
    payment = Payment.objects.filter(order=order).first()
    if payment is None:
        return JsonResponse({"events": [], "next": None})
    events = payment.events.order_by("-at", "-id")
    if query.after is not None:
        # Keyset on (at, id) as the list is ordered: the page after event `after`.
        anchor = payment.events.filter(pk=query.after).values_list("at", flat=True).first()
        if anchor is None:
            raise inputs.invalid("after", "after must be an event id of this order's history.")
        events = events.filter(at__lte=anchor).exclude(at=anchor, pk__gte=query.after)
    rows = list(events[: query.limit + 1])
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    return JsonResponse(
        {
            "events": [representations.event(row) for row in rows],
            "next": str(rows[-1].pk) if more else None,
        }
    )


# --- actions ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionSpec:
    """One POST /orders/{number}/actions/{name}: the body fields it takes."""

    action: Action
    fields: tuple[str, ...]


ACTIONS: dict[str, ActionSpec] = {
    spec.action.value: spec
    for spec in (
        ActionSpec(Action.CAPTURE, ("amount", "target")),
        ActionSpec(Action.VOID, ("target",)),
        ActionSpec(Action.REFUND, ("amount", "target")),
        ActionSpec(Action.REFRESH, ()),
        ActionSpec(Action.AUTHORIZE, ("amount",)),
        ActionSpec(Action.REAUTHORIZE, ("amount",)),
        ActionSpec(Action.CLOSE, ()),
        ActionSpec(Action.CANCEL, ()),
    )
}


def _action_reply(result: services.ActionResult, order: Order) -> tuple[int, dict, str]:
    """The status, document and content type answering a service result."""
    if result.outcome == Outcome.REFUSED:
        problem = ApiProblem(problems.ACTION_REFUSED, result.message, {"outcome": Outcome.REFUSED.value})
        return problem.kind.status, problem.body(), problems.PROBLEM_CONTENT_TYPE
    txn = Transaction.objects.filter(pk=result.transaction_id).first() if result.transaction_id else None
    order.refresh_from_db()
    document = {
        "outcome": result.outcome.value,
        "message": result.message,
        "transaction": representations.transaction(txn) if txn is not None else None,
        "order": representations.order_detail(order, now=timezone.now()),
    }
    return 200, document, "application/json"


def _stored(row, *, replayed: bool) -> HttpResponse:
    response = HttpResponse(row.body, status=row.status_code, content_type=row.content_type)
    if replayed:
        response["Idempotent-Replayed"] = "true"
    return response


@endpoint(methods=("POST",), permissions=(VIEW, OPERATE))
def order_action(request: HttpRequest, number: str, action: str) -> HttpResponse:
    spec = ACTIONS.get(action)
    if spec is None:
        raise _not_found(f"There is no action {action[:40]!r}; the actions are {', '.join(ACTIONS)}.")
    key = inputs.idempotency_key(request)
    body = inputs.json_body(request)
    fields = inputs.action_fields(body, action, spec.fields)
    order = _order(number)
    payment = Payment.objects.select_related("order").filter(order=order).first()
    if payment is None:
        raise ApiProblem(
            problems.ACTION_REFUSED,
            f"Order {order.number} has no Amazon Pay payment.",
            {"outcome": Outcome.REFUSED.value},
        )
    amount: Money | None = (
        inputs.amount_in(fields["amount"], payment.currency) if "amount" in fields else None
    )

    user = request.api_user
    claim = idempotency.claim(user, key, method=request.method, path=request.path, body=body)
    if isinstance(claim, idempotency.Finished):
        return _stored(claim.row, replayed=True)
    if isinstance(claim, idempotency.Reused):
        raise ApiProblem(
            problems.IDEMPOTENCY_KEY_REUSED,
            f"Idempotency-Key {key!r} was used for {claim.row.method} {claim.row.path} with a different "
            "request. Nothing was done; use a new key for a new action.",
            {"field": "Idempotency-Key"},
        )
    if isinstance(claim, idempotency.Running):
        raise ApiProblem(
            problems.IDEMPOTENCY_KEY_IN_USE,
            f"A request with Idempotency-Key {key!r} is still running. Retry it in a moment for its reply.",
            {"field": "Idempotency-Key"},
            headers={"Retry-After": "2"},
        )
    try:
        result = services.run_action(
            spec.action,
            payment.pk,
            actor=services.Actor(Source.API, user.get_username()),
            amount=amount,
            target=fields.get("target"),
            idempotency_key=idempotency.service_key(user.pk, key),
        )
        status, document, content_type = _action_reply(result, order)
        text = json.dumps(document)
        idempotency.finish(claim, status=status, content_type=content_type, body=text)
    except BaseException:
        idempotency.release(claim)
        raise
    return HttpResponse(text, status=status, content_type=content_type)
