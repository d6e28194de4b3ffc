"""Issue #6 in a real browser: partial and split captures, partial refunds up to Amazon's limit,
reauthorize, close and cancel the order reference, and a bulk capture."""

from __future__ import annotations

import re

from .test_order_desk import buy, labels, open_order, status, wait_for_status


def act(page, action: str, amount: str | None = None) -> str:
    if amount is not None:
        page.fill(f"input[data-action-amount={action}]", amount)
    with page.expect_navigation():
        page.click(f"button[data-action={action}]")
    return page.inner_text("ul.messages")


def test_a_split_shipment_partial_capture_then_authorize_and_capture_the_rest(page, desk):
    number = buy(page, desk)  # 17.45 USD
    open_order(page, desk, number)
    assert page.input_value("input[data-action-amount=capture]") == "17.45"
    assert "Capture of 10.00 USD done" in act(page, "capture", "10.00")
    assert status(page) == "Partially captured"
    assert page.input_value("input[data-action-amount=authorize]") == "7.45"
    assert "Authorize of 7.45 USD done" in act(page, "authorize")
    assert page.input_value("input[data-action-amount=capture]") == "7.45"
    assert "Capture of 7.45 USD done" in act(page, "capture")
    assert status(page) == "Processed"
    assert "Captured" in page.inner_text("#payment-info") and "17.45 USD" in page.inner_text("#payment-info")


def test_partial_refunds_up_to_the_captured_amount_plus_amazons_allowance(page, desk):
    number = buy(page, desk)
    open_order(page, desk, number)
    act(page, "capture")
    assert "pending at Amazon" in act(page, "refund", "10.00")
    assert page.input_value("input[data-action-amount=refund]") == "7.45"  # what is left
    assert "pending at Amazon" in act(page, "refund", "7.45")
    hint = page.inner_text("#amazon-pay-actions")
    # 15 % of 17.45 is 2.6175, rounded half up as Amazon does.
    assert "The captured 17.45 USD is refunded or being refunded" in hint and "up to 2.62 USD" in hint
    # Nothing captured is left: the field proposes nothing, and left blank it sends nothing.
    assert page.input_value("input[data-action-amount=refund]") == ""
    page.click("button[data-action=refund]")  # the browser refuses the empty required field
    assert page.locator("input[data-action-amount=refund]:invalid").count() == 1
    refused = act(page, "refund", "2.63")
    assert "2.62 USD is left to refund" in refused
    assert "pending at Amazon" in act(page, "refund", "2.62")
    assert not page.locator("button[data-action=refund]").count()  # Amazon's ceiling reached


def test_an_expired_authorization_is_reauthorized(page, desk):
    number = buy(page, desk)
    desk.sandbox("POST", "/clock", json={"advance": "P31D"})  # Amazon closes it: ExpiredUnused
    open_order(page, desk, number)
    wait_for_status(page, "Failed")  # Amazon's IPN tells Paydesk
    assert "ExpiredUnused" in page.inner_text("#amazon-pay-transactions")
    assert page.input_value("input[data-action-amount=reauthorize]") == "17.45"
    assert "Authorize of 17.45 USD done" in act(page, "reauthorize")
    assert status(page) == "Authorized"


def test_cancel_and_close_the_order_reference(page, desk):
    canceled = buy(page, desk)
    open_order(page, desk, canceled)
    assert "canceled" in act(page, "cancel")
    assert status(page) == "Canceled"
    assert "OrderReferenceCanceled" in page.inner_text("#amazon-pay-transactions")

    closed = buy(page, desk)
    open_order(page, desk, closed)
    act(page, "capture", "5.00")
    assert page.locator("button[data-action=authorize]").count() == 1
    assert "closed" in act(page, "close")
    assert page.locator("button[data-action=authorize]").count() == 0
    assert "Closed" in page.inner_text("#payment-info")


def test_bulk_capture_from_the_order_list(page, desk):
    numbers = [buy(page, desk), buy(page, desk)]
    page.goto(f"{desk.url}/orders/")
    for number in numbers:
        page.check(f"input[name=order][value='{number}']")
    with page.expect_navigation():
        page.click("button[data-bulk=capture]")
    rows = page.locator("#bulk-results tbody tr").all_inner_texts()
    assert len(rows) == 2 and all(re.search(r"Done\s+Capture of 17\.45 USD done", row) for row in rows)
    for number in numbers:
        open_order(page, desk, number)
        assert status(page) == "Processed"
    assert labels(page)[0].startswith("Refund")
