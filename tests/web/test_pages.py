"""The staff pages: who may see and do what, finding orders, the settings page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from paydesk.amazonpay.models import AmazonPaySettings, PaymentEvent
from paydesk.orders.models import Order
from paydesk.orders.search import PAGE_SIZE

from .conftest import SETTINGS_FORM, add_txn, make_order

ORO = "S01-1111111-2222222"


@pytest.fixture
def authorized_order(amazon_settings):
    order, payment = make_order(status="authorized")
    add_txn(payment, "authorization", "Open", f"{ORO}-A000001", "1001-a1", notified=True)
    return order


def test_anonymous_visitors_are_sent_to_the_login_page(client, authorized_order):
    for url in (
        "/orders/",
        "/orders/1001/",
        "/amazonpay/settings/",
        "/amazonpay/log/",
        "/amazonpay/ipn-log/",
    ):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_an_operator_sees_the_actions_of_an_authorized_order(client, operator, authorized_order):
    client.force_login(operator)
    page = client.get("/orders/1001/").content.decode()
    assert "Amazon Pay available order actions" in page
    assert 'data-action="capture"' in page and 'data-action="void"' in page
    assert "Amazon Pay" in page and ORO in page


def test_a_viewer_sees_the_order_but_no_buttons_and_cannot_post_actions(client, viewer, authorized_order):
    client.force_login(viewer)
    page = client.get("/orders/1001/").content.decode()
    assert "Amazon Pay available order actions" in page
    assert 'data-action="capture"' not in page
    assert client.post("/amazonpay/orders/1001/capture/").status_code == 403


def test_someone_without_view_permission_is_refused(client, authorized_order, db):
    from django.contrib.auth.models import User

    client.force_login(User.objects.create_user("nobody", password="x" * 12))
    assert client.get("/orders/").status_code == 403
    assert client.get("/orders/1001/").status_code == 403


def test_moving_money_needs_seeing_the_order_too(client, authorized_order):
    """As in the API: operate_payments without view_order opens no order, so it moves no money
    on one either, whatever order number is typed into a POST."""
    from .conftest import _user

    client.force_login(_user("blind", "orders.operate_payments"))
    assert client.get("/orders/1001/").status_code == 403
    for action in ("capture", "void", "refund", "authorize", "close", "cancel", "refresh"):
        assert client.post(f"/amazonpay/orders/1001/{action}/", {"amount": "1.00"}).status_code == 403
    assert client.post("/amazonpay/orders/bulk/", {"action": "capture", "order": "1001"}).status_code == 403
    assert client.post("/orders/1001/fulfilled/").status_code == 403
    assert not PaymentEvent.objects.exists()
    assert Order.objects.get(number="1001").fulfilled is False


def test_actions_need_a_csrf_token(operator, authorized_order):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(operator)
    assert strict.post("/amazonpay/orders/1001/capture/").status_code == 403


def test_only_whitelisted_actions_exist(client, operator, authorized_order):
    client.force_login(operator)
    assert client.post("/amazonpay/orders/1001/delete/").status_code == 404
    assert client.get("/amazonpay/orders/1001/capture/").status_code == 405


def test_a_bad_amount_is_refused_with_a_clear_message(client, operator, authorized_order):
    client.force_login(operator)
    response = client.post("/amazonpay/orders/1001/capture/", {"amount": "12,50"}, follow=True)
    assert "is not an amount in USD" in response.content.decode()


@pytest.mark.parametrize("action", ["capture", "refund"])
@pytest.mark.parametrize("blank", ["", "   "])
def test_a_blank_amount_moves_nothing_instead_of_everything(
    client, operator, authorized_order, action, blank
):
    client.force_login(operator)
    events = PaymentEvent.objects.count()
    response = client.post(f"/amazonpay/orders/1001/{action}/", {"amount": blank, "key": "k"}, follow=True)
    assert f"Enter the amount to {action}. Nothing was done." in response.content.decode()
    assert PaymentEvent.objects.count() == events  # the payment service was never asked


@pytest.mark.parametrize("typed", ["999999999999999", "١٢"])
def test_an_amount_no_money_column_can_hold_is_refused_before_anything_is_recorded(
    client, operator, authorized_order, typed
):
    # Fifteen digits passed the form and overflowed PostgreSQL's amount column (a 500) while
    # the refusal was being recorded; Arabic-Indic digits were read as 12.00.
    client.force_login(operator)
    response = client.post("/amazonpay/orders/1001/capture/", {"amount": typed, "key": "k"}, follow=True)
    assert response.status_code == 200
    assert "is not an amount in USD" in response.content.decode()
    assert not PaymentEvent.objects.exists()


def test_a_fully_refunded_capture_proposes_no_amount_to_refund(client, operator, amazon_settings):
    """Amazon accepts refunds up to 15% (at most 75) above a capture; with everything captured
    given back, the form must not propose that allowance for a one-click over-refund."""
    _order, payment = make_order(status="processed")
    add_txn(payment, "authorization", "Closed", f"{ORO}-A000001", "1001-a1", notified=True)
    add_txn(
        payment, "capture", "Completed", f"{ORO}-C000001", "1001-c1", parent=f"{ORO}-A000001", notified=True
    )
    add_txn(payment, "refund", "Pending", f"{ORO}-R000001", "1001-r1", parent=f"{ORO}-C000001", notified=True)
    client.force_login(operator)
    page = client.get("/orders/1001/").content.decode()
    assert 'data-action="refund"' in page  # Amazon still allows more, on purpose
    assert "The captured 100.00 USD is refunded or being refunded" in page and "up to 15.00 USD" in page
    field = page[page.index('data-action-amount="refund"') - 300 : page.index('data-action-amount="refund"')]
    assert 'value=""' in field and "required" in field


def _orders(n: int):
    now = timezone.now()
    for i in range(n):
        order, _ = make_order(
            str(2000 + i),
            oro=f"S01-{i:07d}-0000000",
            email=f"buyer{i}@example.com",
            name=f"Buyer {i}",
            status="authorized" if i % 2 else "refunded",
        )
        Order.objects.filter(pk=order.pk).update(placed_at=now - timedelta(hours=i))


def test_the_order_list_pages_through_every_order_once_without_counting(client, operator, amazon_settings):
    _orders(PAGE_SIZE * 2 + 7)
    client.force_login(operator)
    seen: list[str] = []
    url = "/orders/"
    while url:
        response = client.get(url)
        page = response.context["page"]
        seen += [o.number for o in page.orders]
        url = f"/orders/?after={page.older}" if page.older else ""
    assert len(seen) == len(set(seen)) == PAGE_SIZE * 2 + 7
    assert seen == sorted(seen)  # newest first = highest number first here
    last = client.get(f"/orders/?after={client.get('/orders/').context['page'].older}").context["page"]
    back = client.get(f"/orders/?before={last.newer}").context["page"]
    assert [o.number for o in back.orders] == seen[:PAGE_SIZE]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "2003"}, {"2003"}),
        ({"q": "buyer4@example.com"}, {"2004"}),
        ({"q": "S01-0000005"}, {"2005"}),
        ({"q": "Buyer 6"}, {"2006"}),
        ({"status": "refunded", "q": "200"}, {"2000", "2002", "2004", "2006", "2008"}),
    ],
)
def test_the_order_list_filters(client, operator, amazon_settings, params, expected):
    _orders(10)
    client.force_login(operator)
    page = client.get("/orders/", params).context["page"]
    assert {o.number for o in page.orders} == expected


def test_a_date_filter_it_cannot_read_is_said_and_ignored(client, operator, amazon_settings):
    _orders(3)
    client.force_login(operator)
    response = client.get("/orders/", {"from": "yesterday"})
    assert len(response.context["page"].orders) == 3
    assert "A date was not understood" in response.content.decode()


def test_the_secret_key_is_write_only(client, operator, amazon_settings):
    client.force_login(operator)
    page = client.get("/amazonpay/settings/").content.decode()
    assert "test-secret-key" not in page and "A secret key is saved" in page
    form = SETTINGS_FORM
    assert client.post("/amazonpay/settings/", form).status_code == 302
    assert AmazonPaySettings.load().secret_key == "test-secret-key"  # kept when left empty
    client.post("/amazonpay/settings/", {**form, "secret_key": "a-new-secret"})
    assert AmazonPaySettings.load().secret_key == "a-new-secret"
    assert AmazonPaySettings.load().secret_key_sealed != "a-new-secret"  # sealed at rest


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"region": "jp", "currency": "USD"}, "Japan accounts take JPY"),
        ({"seller_id": "not-a-seller"}, "A Seller ID is 10 to 20 capital letters"),
        ({"environment": "offline_sandbox", "offline_sandbox_url": ""}, "needs its URL"),
        ({"access_key": ""}, "MWS access key is required"),
    ],
)
def test_invalid_settings_get_clear_errors_and_change_nothing(
    client, operator, amazon_settings, change, error
):
    client.force_login(operator)
    form = SETTINGS_FORM
    response = client.post("/amazonpay/settings/", {**form, **change})
    assert response.status_code == 200 and error in response.content.decode()
    assert AmazonPaySettings.load().environment == amazon_settings.environment


def test_the_settings_page_shows_the_ipn_url_to_paste_into_seller_central(client, operator, amazon_settings):
    client.force_login(operator)
    assert "http://testserver/amazonpay/ipn/" in client.get("/amazonpay/settings/").content.decode()


def test_test_connection_reports_amazons_answer(client, operator, desk):
    from paydesk.amazonpay import services

    services.use_client_factory(None)  # the client the settings page builds, not the tests' own
    client.force_login(operator)
    settings = AmazonPaySettings.load()
    form = {k: v for k, v in SETTINGS_FORM.items() if k != "save"} | {
        "environment": "offline_sandbox",
        "offline_sandbox_url": settings.offline_sandbox_url,
        "seller_id": settings.seller_id,
        "access_key": settings.access_key,
        "test": "",
    }
    page = client.post("/amazonpay/settings/", form, follow=True).content.decode()
    assert "Amazon Pay answered: service status GREEN" in page
    page = client.post(
        "/amazonpay/settings/", {**form, "secret_key": "wrong-secret"}, follow=True
    ).content.decode()
    assert "connection test failed" in page and "SignatureDoesNotMatch" in page


def test_two_capture_forms_on_one_page_capture_two_authorizations(client, operator, desk, sandbox):
    """A split shipment: two open authorizations, two Capture forms on one page, both sent
    (a second tab, or the Back button). Each form carries its own key, so the second is a
    capture of its own, not a replay of the first aimed at another authorization."""
    import re

    from paydesk.amazonpay import services
    from paydesk.amazonpay.models import Transaction

    from .test_services import STAFF, place, usd

    order, _, payment = place(sandbox)
    services.authorize_more(payment.pk, amount=usd("5.00"), actor=STAFF)
    client.force_login(operator)
    page = client.get(f"/orders/{order.number}/").content.decode()
    forms = re.findall(r'<form[^>]*action="/amazonpay/orders/[^/]+/capture/".*?</form>', page, re.S)
    assert len(forms) == 2
    for form in forms:
        fields = dict(re.findall(r'name="(target|key)" value="([^"]*)"', form))
        response = client.post(f"/amazonpay/orders/{order.number}/capture/", {**fields, "amount": "5.00"})
        assert response.status_code == 302
    captures = Transaction.objects.filter(payment=payment, kind="capture", state="Completed")
    assert captures.count() == 2
    assert len(set(captures.values_list("parent_amazon_id", flat=True))) == 2
