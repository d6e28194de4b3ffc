"""The seeds' button paths, walked in a real browser against a real `paydesk demo` process."""

from __future__ import annotations

import re
import time

import pytest

from .conftest import ARTIFACTS


def buy(page, desk, *, card: str = "valid") -> str:
    """Place an order in the demo shop, paying with Amazon Pay (the sandbox's buyer)."""
    page.goto(f"{desk.url}/shop/")
    page.select_option("#payment_method", card)
    page.click("button.amazon")
    page.wait_for_url(re.compile(r".*/shop/thanks/\d+/$"))
    return page.url.rstrip("/").rsplit("/", 1)[-1]


def open_order(page, desk, number: str) -> None:
    page.goto(f"{desk.url}/orders/{number}/")


def status(page) -> str:
    return page.inner_text("#order-status").strip()


def labels(page) -> list[str]:
    return [b.inner_text().strip() for b in page.locator("#amazon-pay-actions button").all()]


def click(page, action: str) -> str:
    with page.expect_navigation():
        page.click(f"#amazon-pay-actions button[data-action={action}]")
    return page.inner_text("ul.messages")


def wait_for_status(page, expected: str, *, timeout: float = 40) -> None:
    deadline = time.monotonic() + timeout
    while status(page) != expected:
        if time.monotonic() > deadline:
            raise AssertionError(f"order stayed {status(page)!r}, expected {expected!r}")
        time.sleep(0.5)
        page.reload()


def set_authorization_mode(page, desk, mode: str) -> None:
    page.goto(f"{desk.url}/amazonpay/settings/")
    page.select_option("#id_authorization_mode", mode)
    with page.expect_navigation():
        page.click("button[name=save]")
    assert "settings saved" in page.inner_text("ul.messages")


def test_capture_then_refund(page, desk):
    number = buy(page, desk)
    open_order(page, desk, number)
    assert status(page) == "Authorized"
    assert [label.split()[0] for label in labels(page)][:2] == ["Capture", "Void"]

    assert "Capture of" in click(page, "capture") and status(page) == "Processed"
    assert labels(page)[0].startswith("Refund")
    assert "Capture" not in " ".join(labels(page))

    assert "pending at Amazon" in click(page, "refund")
    wait_for_status(page, "Refunded")  # the sandbox completes the refund and sends its IPN
    assert not [label for label in labels(page) if not label.startswith("Refresh")]
    assert "arrived" in page.inner_text("#amazon-pay-transactions")


def test_void_cancels_the_order(page, desk):
    number = buy(page, desk)
    open_order(page, desk, number)
    assert "voided" in click(page, "void")
    assert status(page) == "Canceled"
    assert "SellerClosed" in page.inner_text("#amazon-pay-transactions")


def test_a_declined_authorization_shows_amazons_reason(page, desk):
    number = buy(page, desk, card="declined")
    assert "declined" in page.inner_text("main").lower()
    open_order(page, desk, number)
    assert status(page) == "Declined"
    assert "InvalidPaymentMethod" in page.inner_text("#amazon-pay-transactions")
    assert not any(label.startswith(("Capture", "Void", "Refund")) for label in labels(page))


def test_refresh_status_syncs_the_order_when_no_ipn_arrives(page, desk):
    desk.sandbox("PUT", "/ipn", json={"enabled": False})
    set_authorization_mode(page, desk, "async")
    try:
        number = buy(page, desk)
        open_order(page, desk, number)
        assert status(page) == "Queued"
        assert labels(page) == ["Refresh status"]
        assert "not received" in page.inner_text("#amazon-pay-transactions")
        deadline = time.monotonic() + 40
        while status(page) != "Authorized":  # Amazon decides a few seconds later; no IPN tells us
            assert time.monotonic() < deadline, "the authorization never settled"
            time.sleep(1)
            assert "Status refreshed" in click(page, "refresh")
        assert [label.split()[0] for label in labels(page)] == ["Capture", "Void", "Refresh"]
    finally:
        set_authorization_mode(page, desk, "sync")
        desk.sandbox("PUT", "/ipn", json={"enabled": True})


def test_a_second_click_or_a_second_tab_never_captures_twice(page, desk, browser):
    number = buy(page, desk)
    open_order(page, desk, number)
    other_tab = page.context.new_page()
    other_tab.on("dialog", lambda dialog: dialog.accept())
    open_order(other_tab, desk, number)

    # A double click: the form is sent once, and were it sent twice the key makes it one.
    form = "#amazon-pay-actions form:has(button[data-action=capture])"
    replies = page.evaluate(
        """async (selector) => {
            const form = document.querySelector(selector);
            const send = () => fetch(
                form.action, {method: 'POST', body: new FormData(form), redirect: 'manual'});
            const answers = await Promise.all([send(), send()]);
            return answers.map(a => a.type);
        }""",
        form,
    )
    assert len(replies) == 2
    page.reload()
    assert status(page) == "Processed"

    # The second tab still shows Capture: clicking it is refused, nothing moves.
    message = click(other_tab, "capture")
    assert "cannot be captured" in message or "no open authorization" in message
    auth_id = page.locator("#amazon-pay-transactions td.mono").first.inner_text().strip()
    assert len(desk.sandbox("GET", f"/objects/{auth_id}").json()["capture_ids"]) == 1
    kinds = page.locator("#amazon-pay-transactions tbody tr > td:first-child").all_inner_texts()
    assert kinds.count("Capture") == 1


def _contrast(fg: str, bg: str) -> float:
    def luminance(css: str) -> float:
        r, g, b = (int(v) / 255 for v in re.findall(r"[\d.]+", css)[:3])
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    high, low = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("width", [1280, 390])
def test_the_order_page_reads_as_the_seeds_describe_it(page, desk, width):
    page.set_viewport_size({"width": width, "height": 900})
    number = buy(page, desk)
    open_order(page, desk, number)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"order-page-{width}.png"), full_page=True)

    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than the screen"
    title = page.locator("#amazon-pay-actions h2")
    assert title.inner_text() == "Amazon Pay available order actions"
    payment_info = page.inner_text("#payment-info")
    assert "Payment method" in payment_info and "Amazon Pay" in payment_info
    for action, word in (("capture", "Capture"), ("void", "Void")):
        button = page.locator(f"#amazon-pay-actions button[data-action={action}]")
        assert button.inner_text().startswith(word)
        box = button.bounding_box()
        assert box and box["width"] >= 60 and box["height"] >= 28 and box["x"] >= 0
        assert box["x"] + box["width"] <= width, "the button runs off the screen"
        style = button.evaluate(
            "b => { const s = getComputedStyle(b); return [s.color, s.backgroundColor, s.fontSize]; }"
        )
        background = style[1] if "0, 0, 0, 0" not in style[1] else "rgb(255, 255, 255)"
        assert _contrast(style[0], background) >= 4.5, f"{word} is hard to read: {style}"
        assert float(style[2].removesuffix("px")) >= 14
    capture_box = page.locator("#amazon-pay-actions button[data-action=capture]").bounding_box()
    void_box = page.locator("#amazon-pay-actions button[data-action=void]").bounding_box()
    overlap_x = min(capture_box["x"] + capture_box["width"], void_box["x"] + void_box["width"]) - max(
        capture_box["x"], void_box["x"]
    )
    overlap_y = min(capture_box["y"] + capture_box["height"], void_box["y"] + void_box["height"]) - max(
        capture_box["y"], void_box["y"]
    )
    assert overlap_x <= 0 or overlap_y <= 0, "Capture and Void overlap"
