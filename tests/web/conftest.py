from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission, User

from paydesk.amazonpay.models import AmazonPaySettings, Payment, Transaction
from paydesk.orders.models import Order

from .sns_factory import SELLER_ID


@pytest.fixture
def amazon_settings(db):
    settings = AmazonPaySettings.load()
    settings.seller_id = SELLER_ID
    settings.access_key = "AKIATESTACCESSKEY001"
    settings.secret_key = "test-secret-key"
    settings.save()
    return settings


def _user(username: str, *perms: str) -> User:
    user = User.objects.create_user(username, password="correct horse battery staple")
    for perm in perms:
        app, codename = perm.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app, codename=codename))
    return user


@pytest.fixture
def operator(db):
    return _user("olga", "orders.view_order", "orders.operate_payments", "amazonpay.change_amazonpaysettings")


@pytest.fixture
def viewer(db):
    return _user("victor", "orders.view_order")


ORO = "S01-1111111-2222222"


def make_order(
    number="1001", *, total="100.00", status="processed", oro=ORO, email="buyer@example.com", **kw
):
    order = Order.objects.create(
        number=number,
        customer_name=kw.pop("name", "Jane Buyer"),
        customer_email=email,
        currency="USD",
        subtotal=Decimal(total),
        total=Decimal(total),
        status=status,
        **kw,
    )
    payment = Payment.objects.create(
        order=order,
        amazon_order_reference_id=oro,
        order_reference_state="Open",
        order_total=Decimal(total),
        currency="USD",
        mode="authorize_then_capture",
    )
    return order, payment


def add_txn(payment, kind, state, amazon_id, reference_id, amount="100.00", parent="", **kw):
    return Transaction.objects.create(
        payment=payment,
        kind=kind,
        state=state,
        amazon_id=amazon_id,
        reference_id=reference_id,
        amount=Decimal(amount),
        currency="USD",
        parent_amazon_id=parent,
        **kw,
    )


@pytest.fixture(scope="session")
def sandbox():
    from paydesk.sandbox import IpnSettings, Sandbox, SandboxConfig

    with Sandbox(SandboxConfig(throttling=False, ipn=IpnSettings(enabled=False))) as running:
        yield running


@pytest.fixture
def desk(db, sandbox):
    """The store configured for the offline sandbox, with a clean sandbox session."""
    from paydesk.amazonpay import services

    from .sandboxed import configure_store, use_fast_client

    sandbox.clear_faults()
    sandbox.set_throttling(False)
    sandbox.configure_ipn(enabled=False)
    settings = configure_store(sandbox)
    use_fast_client(sandbox)
    yield settings
    services.use_client_factory(None)
    sandbox.clear_faults()


# The settings page's form as a browser posts it: a valid store on Amazon's sandbox.
SETTINGS_FORM = {
    "environment": "sandbox",
    "offline_sandbox_url": "",
    "seller_id": "A2TESTSELLER01",
    "access_key": "AKIATESTACCESSKEY001",
    "secret_key": "",
    "region": "na",
    "currency": "USD",
    "payment_mode": "authorize_then_capture",
    "authorization_mode": "sync",
    "ipn_topic_arn": "",
    "refresh_after_minutes": "0",
    "save": "",
}
