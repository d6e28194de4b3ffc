"""The OpenAPI document: valid OpenAPI 3.1, in step with the URLs and actions the API has,
and describing exactly the documents the API answers."""

from __future__ import annotations

import jsonschema_rs
import pytest
from django.test import Client
from django.urls import URLPattern, get_resolver
from openapi_spec_validator import validate

from paydesk.api import problems, views
from paydesk.api.openapi import document
from tests.web.test_services import place

from .conftest import assert_problem


@pytest.fixture
def served(db) -> dict:
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    return response.json()


def test_the_document_is_valid_openapi_3_1(served):
    assert served["openapi"] == "3.1.0"
    validate(served)


def _api_routes() -> set[str]:
    (api,) = [p for p in get_resolver().url_patterns if str(p.pattern) == "api/v1/"]
    routes = set()
    for pattern in api.url_patterns:
        assert isinstance(pattern, URLPattern)
        route = str(pattern.pattern)
        if pattern.name != "unknown":
            routes.add("/" + route.replace("<str:", "{").replace(">", "}"))
    return routes


def test_every_route_is_documented_and_every_documented_path_is_served(served):
    documented = set(served["paths"])
    routes = _api_routes()
    action_route = "/orders/{number}/actions/{action}"
    assert action_route in routes
    expected = (routes - {action_route}) | {f"/orders/{{number}}/actions/{name}" for name in views.ACTIONS}
    assert documented == expected


def test_every_problem_type_with_a_page_is_documented_and_served(served):
    slugs = served["paths"]["/problems/{slug}"]["get"]["parameters"][0]["schema"]["enum"]
    assert set(slugs) == set(problems.DOCUMENTED)
    for slug in slugs:
        page = Client().get(f"/api/v1/problems/{slug}").json()
        assert page["type"] == f"/api/v1/problems/{slug}" and page["description"]
    assert_problem(Client().get("/api/v1/problems/nothing"), 404)


def test_only_the_document_and_the_problem_pages_are_public(served):
    public = {
        path
        for path, operations in served["paths"].items()
        for operation in operations.values()
        if operation.get("security") == []
    }
    assert public == {"/openapi.json", "/problems/{slug}"}
    assert served["security"] == [{"bearerAuth": []}]
    assert served["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def _validator(name: str):
    return jsonschema_rs.Draft202012Validator(
        {"$ref": f"#/components/schemas/{name}", "components": document()["components"]}
    )


def test_the_schemas_describe_what_the_api_answers_through_a_whole_order_life(api, desk, sandbox):
    order, _, _ = place(sandbox)
    replies = [
        api.act(order.number, "capture", {"amount": "10.00"}),
        api.act(order.number, "authorize"),
        api.act(order.number, "refund", {"amount": "1.00"}),
        api.act(order.number, "refresh"),
    ]
    for reply in replies:
        assert reply.status_code == 200, reply.content
        _validator("ActionReply").validate(reply.json())
    detail = api.get(f"/orders/{order.number}").json()
    assert detail["payment"]["refunds"] and detail["payment"]["captures"]
    _validator("Order").validate(detail)
    _validator("OrderList").validate(api.get("/orders").json())
    _validator("EventList").validate(api.get(f"/orders/{order.number}/events").json())
    _validator("Problem").validate(api.act(order.number, "cancel").json())


def test_the_schemas_refuse_a_float_amount_and_an_unknown_field(db):
    money = _validator("Money")
    assert money.is_valid({"amount": "10.50", "currency": "USD"})
    assert not money.is_valid({"amount": 10.5, "currency": "USD"})
    assert not money.is_valid({"amount": "10.50", "currency": "USD", "extra": 1})
