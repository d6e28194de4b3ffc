"""The order list's bulk buttons ask a question that says what will happen, and to how many
orders: a bulk capture moves money. Checked in the rendered page and in Debian's Chromium."""

from __future__ import annotations

import os

import pytest

from paydesk.amazonpay.models import PaymentEvent, Transaction

from .conftest import make_order

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "correct horse battery staple"


def _orders(count: int) -> list[str]:
    numbers = [str(1001 + i) for i in range(count)]
    for number in numbers:
        make_order(number, status="authorized", oro=f"S01-1111111-{number}000")
    return numbers


def test_each_bulk_button_carries_its_own_question(client, operator, amazon_settings):
    _orders(1)
    client.force_login(operator)
    page = client.get("/orders/").content.decode()
    assert "Run this on every ticked order?" not in page
    assert 'data-question="Capture the full authorized amount of {count} orders?' in page
    assert 'data-question-one="Capture the full authorized amount of 1 order?' in page
    assert 'data-question="Ask Amazon for the current state of {count} orders?' in page


def test_without_javascript_the_bulk_form_still_names_its_action(client, operator, amazon_settings):
    """No script: no question, but each button still sends its own action and the ticked orders."""
    _orders(1)
    client.force_login(operator)
    page = client.get("/orders/").content.decode()
    assert 'name="action" value="capture"' in page and 'name="action" value="refresh"' in page
    assert 'name="order" value="1001" form="bulk"' in page
    nothing_ticked = client.post("/amazonpay/orders/bulk/", {"action": "capture"}, follow=True)
    assert "Tick at least one order" in nothing_ticked.content.decode()


def test_the_browser_asks_how_many_orders_will_be_captured_or_refreshed(
    transactional_db, live_server, operator, amazon_settings
):
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing: run scripts/bootstrap test (it installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    # The database work is done before Playwright starts its event loop in this thread.
    numbers = _orders(3)
    questions: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page()
            page.set_default_timeout(15_000)
            page.goto(f"{live_server.url}/login/")
            page.fill("#id_username", operator.username)
            page.fill("#id_password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{live_server.url}/orders/")

            # The staff member says no: nothing is sent.
            page.on("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
            for number in numbers:
                page.check(f"input[name=order][value='{number}']")
            page.click("button[data-bulk=capture]")
            page.uncheck(f"input[name=order][value='{numbers[0]}']")
            page.click("button[data-bulk=refresh]")
            page.uncheck(f"input[name=order][value='{numbers[1]}']")
            page.click("button[data-bulk=capture]")
            assert page.url == f"{live_server.url}/orders/"
            assert questions == [
                "Capture the full authorized amount of 3 orders? The buyers are charged now.",
                "Ask Amazon for the current state of 2 orders? Nothing is charged.",
                "Capture the full authorized amount of 1 order? The buyer is charged now.",
            ]

            # Nothing ticked: no question; the server says what to do.
            page.uncheck(f"input[name=order][value='{numbers[2]}']")
            with page.expect_navigation():
                page.click("button[data-bulk=capture]")
            assert "Tick at least one order" in page.inner_text("ul.messages")
            assert len(questions) == 3
        finally:
            browser.close()
    assert not Transaction.objects.filter(kind="capture").exists()
    assert not PaymentEvent.objects.exists()
