"""The settings page keeps "Refresh after minutes" to a range the order pages can use, and its
link is shown only to those who may change the settings."""

from __future__ import annotations

import pytest

from paydesk.amazonpay.models import AmazonPaySettings

from .conftest import SETTINGS_FORM, make_order


@pytest.mark.parametrize("minutes", ["99999999999999", "10081", "-1"])
def test_refresh_after_minutes_out_of_range_is_refused_with_a_clear_error(
    client, operator, amazon_settings, minutes
):
    client.force_login(operator)
    response = client.post("/amazonpay/settings/", {**SETTINGS_FORM, "refresh_after_minutes": minutes})
    assert response.status_code == 200
    assert "between 0 and 10080 minutes (one week)" in response.content.decode()
    assert AmazonPaySettings.load().refresh_after_minutes == 0
    make_order()
    assert client.get("/orders/1001/").status_code == 200


@pytest.mark.parametrize("minutes", ["0", "15", "10080"])
def test_refresh_after_minutes_within_a_week_is_saved_and_order_pages_still_show(
    client, operator, amazon_settings, minutes
):
    client.force_login(operator)
    response = client.post("/amazonpay/settings/", {**SETTINGS_FORM, "refresh_after_minutes": minutes})
    assert response.status_code == 302
    assert AmazonPaySettings.load().refresh_after_minutes == int(minutes)
    make_order()
    assert client.get("/orders/1001/").status_code == 200


def test_a_huge_value_saved_before_the_form_had_a_limit_does_not_break_order_pages(
    client, operator, amazon_settings
):
    from django.db import connection

    # The largest the column holds: SQLite's overflows a date (PostgreSQL's integer stops
    # short of that, but must work too).
    largest = 2**31 - 1 if connection.vendor == "postgresql" else 99_999_999_999
    AmazonPaySettings.objects.filter(pk=1).update(refresh_after_minutes=largest)
    client.force_login(operator)
    make_order()
    assert client.get("/orders/1001/").status_code == 200


def test_only_those_who_may_change_settings_see_the_settings_link(client, operator, viewer, amazon_settings):
    client.force_login(viewer)
    assert client.get("/amazonpay/settings/").status_code == 403
    page = client.get("/orders/").content.decode()
    assert "/amazonpay/settings/" not in page and "Amazon Pay settings" not in page

    client.force_login(operator)
    page = client.get("/orders/").content.decode()
    assert 'href="/amazonpay/settings/"' in page
