"""Fixtures for the REST API tests: users with and without the staff permissions, their
tokens, and a small client that speaks the API (bearer token, JSON, an Idempotency-Key on
every POST). The offline sandbox and the store configured for it come from tests/web."""

from __future__ import annotations

import json
import uuid

import pytest
from django.test import Client

from paydesk.api.tokens import create_token
from tests.web.conftest import _user, desk, sandbox  # noqa: F401 - shared fixtures

VIEW, OPERATE = "orders.view_order", "orders.operate_payments"


class Api:
    """The API as a program sees it."""

    def __init__(self, token: str | None, client: Client | None = None):
        self.token = token
        self.client = client or Client()

    def _headers(self, extra: dict) -> dict:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return {**headers, **extra}

    def get(self, path: str, params: dict | None = None, **headers):
        return self.client.get(f"/api/v1{path}", params or {}, headers=self._headers(headers))

    def post(self, path: str, body=None, *, key: str | None = "new", raw: bytes | None = None, **headers):
        """POST `body` as JSON (or `raw` bytes); `key="new"` sends a fresh Idempotency-Key,
        None sends none."""
        extra = dict(headers)
        if key is not None:
            extra["Idempotency-Key"] = str(uuid.uuid4()) if key == "new" else key
        content_type = extra.pop("content_type", "application/json")
        data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        return self.client.post(
            f"/api/v1{path}", data=data, content_type=content_type, headers=self._headers(extra)
        )

    def act(self, number: str, action: str, body=None, **kwargs):
        return self.post(f"/orders/{number}/actions/{action}", body, **kwargs)


@pytest.fixture
def operator_user(db):
    return _user("otto", VIEW, OPERATE)


@pytest.fixture
def viewer_user(db):
    return _user("vera", VIEW)


@pytest.fixture
def api(operator_user) -> Api:
    """A program acting for a staff member who may read orders and operate payments."""
    return Api(create_token(operator_user, name="tests")[1])


@pytest.fixture
def read_only_api(viewer_user) -> Api:
    return Api(create_token(viewer_user, name="tests")[1])


def assert_problem(response, status: int, *, type_suffix: str = "", field: str | None = None) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    if type_suffix:
        assert body["type"].endswith(type_suffix), body["type"]
    if field is not None:
        assert body.get("field") == field, body
    return body
