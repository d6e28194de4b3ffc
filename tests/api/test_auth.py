"""Who may use the API: bearer tokens only, the staff pages' permissions, revocation, and the
management commands that make and revoke tokens."""

from __future__ import annotations

import hashlib
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from paydesk.api.models import ApiToken
from paydesk.api.tokens import create_token
from tests.web.conftest import _user, make_order

from .conftest import Api, assert_problem


@pytest.fixture
def order(db):
    return make_order("1001")[0]


def test_a_request_without_a_token_is_401_with_a_bearer_challenge(order):
    response = Api(None).get("/orders")
    assert_problem(response, 401)
    assert response["WWW-Authenticate"] == 'Bearer realm="Paydesk API"'


@pytest.mark.parametrize(
    "header",
    ["Bearer pdk_not-a-real-token", "Basic b3R0bzpzZWNyZXQ=", "Bearer", "pdk_x", "Bearer a b"],
)
def test_a_wrong_or_malformed_token_is_401_invalid_token(order, header):
    response = Client().get("/api/v1/orders", headers={"Authorization": header})
    assert_problem(response, 401)
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


def test_a_valid_token_reads_orders_and_the_bearer_scheme_is_case_insensitive(api, order):
    assert api.get("/orders").status_code == 200
    response = api.client.get("/api/v1/orders", headers={"Authorization": f"bearer {api.token}"})
    assert response.status_code == 200


def test_a_revoked_token_stops_working(api, order):
    assert api.get("/orders").status_code == 200
    call_command("revoke_api_token", api.token[:12], stdout=StringIO())
    assert_problem(api.get("/orders"), 401)


def test_the_token_of_an_inactive_user_stops_working(api, operator_user, order):
    operator_user.is_active = False
    operator_user.save()
    assert_problem(api.get("/orders"), 401)


def test_a_user_without_view_order_is_forbidden_to_read(order):
    nobody = _user("nora")
    response = Api(create_token(nobody)[1]).get("/orders/1001")
    body = assert_problem(response, 403)
    assert "orders.view_order" in body["detail"]


def test_a_viewer_reads_but_may_not_act(read_only_api, order):
    assert read_only_api.get("/orders/1001").status_code == 200
    body = assert_problem(read_only_api.act("1001", "capture"), 403)
    assert "orders.operate_payments" in body["detail"]


def test_a_logged_in_browser_session_is_not_an_api_credential(order):
    boss = _user("boss")
    boss.is_superuser = True
    boss.save()
    browser = Client()
    browser.force_login(boss)
    assert_problem(browser.get("/api/v1/orders"), 401)
    assert_problem(browser.post("/api/v1/orders/1001/actions/refresh"), 401)


def test_actions_need_no_csrf_token_because_no_cookie_authenticates_them(operator_user, order):
    strict = Client(enforce_csrf_checks=True)
    api = Api(create_token(operator_user)[1], client=strict)
    # Refused by the payment's rules (the test order has no authorization), not by CSRF.
    response = api.act("1001", "void")
    assert_problem(response, 409, type_suffix="/action-refused")


def test_only_the_tokens_digest_is_stored(operator_user):
    row, token = create_token(operator_user, name="warehouse")
    stored = ApiToken.objects.get(pk=row.pk)
    assert stored.digest == hashlib.sha256(token.encode()).hexdigest()
    assert token.startswith("pdk_") and len(token) > 40
    assert token not in [str(v) for v in ApiToken.objects.values_list().get(pk=row.pk)]
    assert stored.prefix == token[:12]


def test_using_a_token_records_when_it_was_last_used(api, order):
    row = ApiToken.objects.get()
    assert row.last_used_at is None
    api.get("/orders")
    row.refresh_from_db()
    assert row.last_used_at is not None


def test_create_api_token_prints_a_working_token_once(operator_user, order):
    out, err = StringIO(), StringIO()
    call_command("create_api_token", "otto", "--name", "warehouse sync", stdout=out, stderr=err)
    token = out.getvalue().strip()
    assert Api(token).get("/orders/1001").status_code == 200
    row = ApiToken.objects.get(name="warehouse sync")
    assert row.user == operator_user and token.startswith(row.prefix)


def test_create_api_token_refuses_an_unknown_user(db):
    with pytest.raises(CommandError, match="no user"):
        call_command("create_api_token", "ghost", stdout=StringIO())


def test_list_api_tokens_shows_prefixes_never_tokens(api, operator_user):
    out = StringIO()
    call_command("list_api_tokens", stdout=out)
    listing = out.getvalue()
    assert api.token[:12] in listing and api.token not in listing and "otto" in listing


def test_revoke_api_token_by_user_revokes_all_of_them(api, operator_user, order):
    _, second = create_token(operator_user)
    out = StringIO()
    call_command("revoke_api_token", "--user", "otto", stdout=out)
    assert "Revoked 2" in out.getvalue()
    assert_problem(api.get("/orders"), 401)
    assert_problem(Api(second).get("/orders"), 401)


def test_revoke_api_token_refuses_an_unknown_token(db):
    with pytest.raises(CommandError, match="No such token"):
        call_command("revoke_api_token", "pdk_nothing", stdout=StringIO())


def test_the_openapi_document_and_problem_types_need_no_token(db):
    assert Client().get("/api/v1/openapi.json").status_code == 200
    response = Client().get("/api/v1/problems/action-refused")
    assert response.status_code == 200 and response.json()["status"] == 409


def test_an_admin_revokes_a_token_in_django_admin(api, order):
    boss = _user("boss")
    boss.is_staff = boss.is_superuser = True
    boss.save()
    browser = Client()
    browser.force_login(boss)
    row = ApiToken.objects.get()
    listing = browser.get("/django-admin/api/apitoken/")
    assert listing.status_code == 200 and row.prefix in listing.content.decode()
    assert api.token not in listing.content.decode()
    browser.post(
        "/django-admin/api/apitoken/",
        {"action": "revoke_tokens", "_selected_action": [row.pk]},
    )
    assert_problem(api.get("/orders"), 401)
