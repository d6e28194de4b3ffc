"""Inputs no field can hold: refused with a 400 (or ignored, for a cursor no page could have made),
never a 500 - PostgreSQL text cannot hold NUL, and a date at the end of the calendar overflows."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from paydesk.amazonpay.models import PaymentEvent, Transaction
from paydesk.orders.search import decode_cursor

from .conftest import add_txn, make_order


@pytest.fixture
def authorized(amazon_settings):
    order, payment = make_order(status="authorized")
    add_txn(payment, "authorization", "Open", "S01-1111111-2222222-A000001", "1001-a1", notified=True)
    return order


@pytest.mark.parametrize(
    "url",
    ["/orders/?q=a%00b", "/orders/a%00b/", "/amazonpay/ipn-log/?type=a%00b", "/orders/?st%00atus=x"],
)
def test_a_nul_character_in_a_staff_page_request_is_a_400(client, operator, authorized, url):
    client.force_login(operator)
    response = client.get(url)
    assert response.status_code == 400
    assert "NUL character" in response.content.decode()


def test_a_nul_character_in_the_shops_thank_you_page_is_a_400(client, authorized):
    assert client.get("/shop/thanks/a%00b/").status_code == 400


def test_a_nul_character_in_an_action_form_changes_nothing(client, operator, authorized):
    client.force_login(operator)
    response = client.post("/amazonpay/orders/1001/capture/", {"key": "k\x00ey"})
    assert response.status_code == 400
    assert not Transaction.objects.filter(kind="capture").exists()
    assert not PaymentEvent.objects.exists()


def _cursor(moment: str, key: str = "1") -> str:
    return base64.urlsafe_b64encode(f"{moment}|{key}".encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        _cursor("0001-01-01T00:00:00+00:00"),
        _cursor("9999-12-31T23:59:59+00:00"),
        _cursor("2026-11-25T10:00:00+00:00", "99999999999999999999"),
        _cursor("2026-11-25T10:00:00+00:00", "0"),
        _cursor("2026-11-25T10:00:00"),  # no time zone
    ],
)
def test_a_cursor_no_page_could_have_made_is_not_a_cursor(cursor):
    assert decode_cursor(cursor) is None


def test_a_real_cursor_still_decodes():
    moment = datetime(2026, 11, 25, 10, tzinfo=UTC)
    assert decode_cursor(_cursor(moment.isoformat(), "42")) == (moment, 42)


@pytest.mark.parametrize("direction", ["after", "before"])
def test_a_name_search_with_a_cursor_at_the_end_of_the_calendar_answers(
    client, operator, authorized, direction
):
    client.force_login(operator)
    far = "0001-01-01T00:00:00+00:00" if direction == "after" else "9999-12-31T23:59:59+00:00"
    response = client.get("/orders/", {"q": "jane", direction: _cursor(far)})
    assert response.status_code == 200


@pytest.mark.parametrize("page", ["/amazonpay/log/", "/amazonpay/ipn-log/"])
@pytest.mark.parametrize("before", ["%C2%B2", "%D9%A3", "99999999999999999999", "-1", "1e3"])
def test_a_log_page_cursor_no_page_could_have_made_shows_the_first_page(
    client, operator, authorized, page, before
):
    # "²" and "٣" pass str.isdigit() but not int(); twenty digits pass int() but not bigint.
    from paydesk.amazonpay.models import Notification

    payment = authorized.amazon_payment
    PaymentEvent.objects.create(payment=payment, source="staff", operation="mark-first-page-event")
    Notification.objects.create(notification_type="MarkFirstPageNotification")
    client.force_login(operator)
    response = client.get(f"{page}?before={before}")
    assert response.status_code == 200
    shown = response.content.decode()
    assert "mark-first-page-event" in shown or "MarkFirstPageNotification" in shown
