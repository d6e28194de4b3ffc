from decimal import Decimal

import pytest

from paydesk.amazonpay import parameters as params
from paydesk.amazonpay.errors import InvalidRequest
from paydesk.amazonpay.regions import endpoint_for
from paydesk.payments.money import Money

EUR = "EUR"


def eur(text: str) -> Money:
    return Money(Decimal(text), EUR)


# --- regions ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("region", "host"),
    [
        ("na", "mws.amazonservices.com"),
        ("us", "mws.amazonservices.com"),
        ("eu", "mws-eu.amazonservices.com"),
        ("de", "mws-eu.amazonservices.com"),
        ("UK", "mws-eu.amazonservices.com"),
        ("jp", "mws.amazonservices.jp"),
    ],
)
def test_each_region_has_its_mws_host(region, host):
    assert endpoint_for(region, sandbox=False).url == f"https://{host}/OffAmazonPayments/2013-01-01"
    assert endpoint_for(region, sandbox=True).url == f"https://{host}/OffAmazonPayments_Sandbox/2013-01-01"


def test_an_unknown_region_is_refused_by_name():
    with pytest.raises(ValueError, match="'fr'"):
        endpoint_for("fr", sandbox=True)


@pytest.mark.parametrize(
    ("base_url", "url"),
    [
        ("http://127.0.0.1:8001", "http://127.0.0.1:8001/OffAmazonPayments_Sandbox/2013-01-01"),
        ("http://127.0.0.1:8001/", "http://127.0.0.1:8001/OffAmazonPayments_Sandbox/2013-01-01"),
        ("https://Sandbox.Example:443", "https://sandbox.example/OffAmazonPayments_Sandbox/2013-01-01"),
        ("http://[::1]:8001", "http://[::1]:8001/OffAmazonPayments_Sandbox/2013-01-01"),
    ],
)
def test_a_base_url_replaces_scheme_host_and_port_but_keeps_amazons_path(base_url, url):
    assert endpoint_for("eu", sandbox=True, base_url=base_url).url == url


@pytest.mark.parametrize(
    "base_url", ["ftp://x", "127.0.0.1:8001", "http://x/prefix", "http://u:p@x", "http://x:port"]
)
def test_a_base_url_with_more_than_scheme_host_and_port_is_refused(base_url):
    with pytest.raises(ValueError):
        endpoint_for("na", sandbox=True, base_url=base_url)


# --- parameters ---------------------------------------------------------------------------------


def test_authorize_sends_amazons_parameter_names():
    sent = params.authorize(
        "S02-1234567-1234567",
        authorization_reference_id="order-1042_auth-1",
        amount=eur("25.5"),
        seller_note="thanks",
        transaction_timeout=0,
        capture_now=True,
        soft_descriptor="Shop",
    )
    assert sent == {
        "AmazonOrderReferenceId": "S02-1234567-1234567",
        "AuthorizationReferenceId": "order-1042_auth-1",
        "AuthorizationAmount.Amount": "25.50",
        "AuthorizationAmount.CurrencyCode": "EUR",
        "TransactionTimeout": "0",
        "CaptureNow": "true",
        "SellerAuthorizationNote": "thanks",
        "SoftDescriptor": "Shop",
    }


def test_capture_and_refund_send_amazons_parameter_names():
    assert params.capture(
        "S02-1-1-A1", capture_reference_id="c-1", amount=eur("3"), seller_note=None, soft_descriptor=None
    ) == {
        "AmazonAuthorizationId": "S02-1-1-A1",
        "CaptureReferenceId": "c-1",
        "CaptureAmount.Amount": "3.00",
        "CaptureAmount.CurrencyCode": "EUR",
    }
    assert params.refund(
        "S02-1-1-C1", refund_reference_id="r-1", amount=eur("1"), seller_note="n", soft_descriptor=None
    ) == {
        "AmazonCaptureId": "S02-1-1-C1",
        "RefundReferenceId": "r-1",
        "RefundAmount.Amount": "1.00",
        "RefundAmount.CurrencyCode": "EUR",
        "SellerRefundNote": "n",
    }


def test_order_attributes_use_their_nested_names():
    assert params.set_order_reference_details(
        "S01-1-1",
        amount=Money(Decimal("10"), "USD"),
        seller_order_id="42",
        store_name="Shop",
        seller_note=None,
        custom_information="ci",
        platform_id=None,
    ) == {
        "AmazonOrderReferenceId": "S01-1-1",
        "OrderReferenceAttributes.OrderTotal.Amount": "10.00",
        "OrderReferenceAttributes.OrderTotal.CurrencyCode": "USD",
        "OrderReferenceAttributes.SellerOrderAttributes.SellerOrderId": "42",
        "OrderReferenceAttributes.SellerOrderAttributes.StoreName": "Shop",
        "OrderReferenceAttributes.SellerOrderAttributes.CustomInformation": "ci",
    }
    assert params.set_order_attributes(
        "S01-1-1",
        amount=None,
        seller_order_id=None,
        store_name=None,
        seller_note="later",
        custom_information=None,
        platform_id=None,
        request_payment_authorization=False,
    ) == {
        "AmazonOrderReferenceId": "S01-1-1",
        "OrderAttributes.SellerNote": "later",
        "OrderAttributes.RequestPaymentAuthorization": "false",
    }


@pytest.mark.parametrize(
    "reference_id", ["", "x" * 33, "has space", "dot.ted", "ümlaut", "semi;colon", None, 12]
)
def test_reference_ids_outside_amazons_alphabet_are_refused_before_sending(reference_id):
    with pytest.raises(InvalidRequest, match="AuthorizationReferenceId"):
        params.authorize(
            "S01-1-1",
            authorization_reference_id=reference_id,
            amount=eur("1"),
            seller_note=None,
            transaction_timeout=1440,
            capture_now=False,
            soft_descriptor=None,
        )


def test_a_32_character_reference_id_is_accepted():
    assert params.reference_id("CaptureReferenceId", "A-_" + "z" * 29) == "A-_" + "z" * 29


@pytest.mark.parametrize("amount", [eur("0"), eur("-1"), eur("150000.01"), Decimal("5"), 5.0])
def test_zero_negative_too_large_or_non_money_amounts_are_refused(amount):
    with pytest.raises(InvalidRequest):
        params.capture(
            "S01-1-1-A1", capture_reference_id="c", amount=amount, seller_note=None, soft_descriptor=None
        )


def test_the_largest_amount_amazon_allows_is_accepted():
    sent = params.refund(
        "S01-1-1-C1", refund_reference_id="r", amount=eur("150000"), seller_note=None, soft_descriptor=None
    )
    assert sent["RefundAmount.Amount"] == "150000.00"


@pytest.mark.parametrize("timeout", [1, 4, 7, 1445, -5, True, "5"])
def test_transaction_timeouts_amazon_does_not_document_are_refused(timeout):
    with pytest.raises(InvalidRequest, match="transaction_timeout"):
        params.authorize(
            "S01-1-1",
            authorization_reference_id="a",
            amount=eur("1"),
            seller_note=None,
            transaction_timeout=timeout,
            capture_now=False,
            soft_descriptor=None,
        )


@pytest.mark.parametrize("timeout", [0, 5, 60, 1440])
def test_documented_transaction_timeouts_are_sent(timeout):
    sent = params.authorize(
        "S01-1-1",
        authorization_reference_id="a",
        amount=eur("1"),
        seller_note=None,
        transaction_timeout=timeout,
        capture_now=False,
        soft_descriptor=None,
    )
    assert sent["TransactionTimeout"] == str(timeout)


def test_notes_and_soft_descriptors_longer_than_amazon_allows_are_refused():
    with pytest.raises(InvalidRequest, match="SellerCaptureNote may be at most 255"):
        params.capture(
            "S01-1-1-A1",
            capture_reference_id="c",
            amount=eur("1"),
            seller_note="x" * 256,
            soft_descriptor=None,
        )
    with pytest.raises(InvalidRequest, match="SoftDescriptor may be at most 16"):
        params.capture(
            "S01-1-1-A1",
            capture_reference_id="c",
            amount=eur("1"),
            seller_note=None,
            soft_descriptor="x" * 17,
        )
    with pytest.raises(InvalidRequest, match="ClosureReason may be at most 255"):
        params.close_authorization("S01-1-1-A1", reason="x" * 256)
    assert params.close_order_reference("S01-1-1", reason="x" * 1024)["ClosureReason"] == "x" * 1024
    with pytest.raises(InvalidRequest, match="CancelationReason"):
        params.cancel_order_reference("S01-1-1", reason="x" * 1025)


@pytest.mark.parametrize("amazon_id", ["", "S01 1", "S01-1-1;drop", "-S01", None])
def test_malformed_amazon_ids_are_refused(amazon_id):
    with pytest.raises(InvalidRequest, match="AmazonCaptureId"):
        params.capture_only(amazon_id)


def test_set_order_attributes_needs_something_to_set():
    with pytest.raises(InvalidRequest, match="at least one"):
        params.set_order_attributes(
            "S01-1-1",
            amount=None,
            seller_order_id=None,
            store_name=None,
            seller_note=None,
            custom_information=None,
            platform_id=None,
            request_payment_authorization=None,
        )
