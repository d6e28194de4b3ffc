import pickle
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paydesk.amazonpay.regions import Endpoint, endpoint_for
from paydesk.amazonpay.signing import (
    SecretKey,
    amazon_timestamp,
    canonical_query,
    form_body,
    percent_encode,
    signed_parameters,
    string_to_sign,
)
from tests.client.samples import form_fields, sdk_signature

SANDBOX_NA = endpoint_for("na", sandbox=True)


def test_hmac_matches_the_python_sdk_test_vector():
    # amzn/amazon-pay-sdk-python test/test_ap.py::test_sign
    expected = "JQZYxe8EFlLE3XCAWotsn329rpZF7OFYhA8oo7rUV2E="
    assert SecretKey("mws_secret_key").sign("my_test_string") == expected


def test_signature_matches_the_worked_example_in_our_amazon_notes():
    # docs/amazon-pay-v1.md §1.3: computed with Amazon's Python SDK 2.7.1, Timestamp frozen.
    operation = {
        "AmazonOrderReferenceId": "S01-1234567-1234567",
        "AuthorizationAmount.Amount": "10.50",
        "AuthorizationAmount.CurrencyCode": "USD",
        "AuthorizationReferenceId": "auth_ref 1*~",
        "CaptureNow": "false",
        "SellerAuthorizationNote": (
            '{"SandboxSimulation": {"State":"Declined", "ReasonCode":"AmazonRejected"}}'
        ),
        "TransactionTimeout": "0",
    }
    signed = signed_parameters(
        operation,
        action="Authorize",
        endpoint=SANDBOX_NA,
        seller_id="A2EXAMPLE",
        access_key="AKIAEXAMPLE",
        secret_key=SecretKey("secretEXAMPLE"),
        timestamp=datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
    )
    assert signed["Signature"] == "4H0IQPZuOI1E7Bfadzru6Zq8bull6lZk7DFF+4mJl38="
    assert signed["Timestamp"] == "2024-01-02T03:04:05Z"


def test_string_to_sign_has_method_host_path_and_the_sorted_encoded_query():
    text = string_to_sign(
        host="MWS.amazonservices.com",
        path="/OffAmazonPayments_Sandbox/2013-01-01",
        parameters={"b": "x y", "Action": "Authorize", "AWSAccessKeyId": "K"},
    )
    assert text.split("\n") == [
        "POST",
        "mws.amazonservices.com",
        "/OffAmazonPayments_Sandbox/2013-01-01",
        "AWSAccessKeyId=K&Action=Authorize&b=x%20y",
    ]


@pytest.mark.parametrize(
    ("raw", "encoded"),
    [
        ("a b", "a%20b"),
        ("*", "%2A"),
        ("~-_.", "~-_."),
        ("+", "%2B"),
        ("é", "%C3%A9"),
        ('{"a":1}', "%7B%22a%22%3A1%7D"),
        ("/", "%2F"),
    ],
)
def test_values_are_percent_encoded_the_rfc_3986_way(raw, encoded):
    assert percent_encode(raw) == encoded


def test_upper_case_names_sort_before_lower_case_ones():
    assert canonical_query({"Action": "a", "AWSAccessKeyId": "b"}) == "AWSAccessKeyId=b&Action=a"


_values = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)


@settings(max_examples=200, deadline=None)
@given(
    values=st.dictionaries(
        st.sampled_from(["SellerAuthorizationNote", "AuthorizationReferenceId", "SoftDescriptor", "X.Y.1"]),
        _values,
    ),
    port=st.sampled_from([None, 8001, 443]),
)
def test_every_signature_equals_the_one_amazons_python_sdk_computes(values, port):
    endpoint = endpoint_for(
        "na", sandbox=True, base_url=None if port is None else f"https://127.0.0.1:{port}"
    )
    signed = signed_parameters(
        values,
        action="Authorize",
        endpoint=endpoint,
        seller_id="A2EXAMPLE",
        access_key="AKIAEXAMPLE",
        secret_key=SecretKey("secret/with+odd=chars"),
        timestamp=datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC),
    )
    assert signed["Signature"] == sdk_signature(
        signed, endpoint_url=endpoint.url, secret_key="secret/with+odd=chars"
    )


def test_the_port_is_signed_when_it_is_not_the_default():
    endpoint = endpoint_for("na", sandbox=True, base_url="http://127.0.0.1:8001")
    assert endpoint.host == "127.0.0.1:8001"
    signed = signed_parameters(
        {},
        action="GetServiceStatus",
        endpoint=endpoint,
        seller_id="S",
        access_key="K",
        secret_key=SecretKey("k"),
        timestamp=datetime(2024, 1, 1, tzinfo=UTC),
    )
    without_port = signed_parameters(
        {},
        action="GetServiceStatus",
        endpoint=Endpoint("http", "127.0.0.1", endpoint.path),
        seller_id="S",
        access_key="K",
        secret_key=SecretKey("k"),
        timestamp=datetime(2024, 1, 1, tzinfo=UTC),
    )
    assert signed["Signature"] == sdk_signature(signed, endpoint_url=endpoint.url, secret_key="k")
    assert signed["Signature"] != without_port["Signature"]


def test_the_body_decodes_to_exactly_the_signed_parameters_with_the_signature_last():
    signed = signed_parameters(
        {"SellerAuthorizationNote": 'a+b c*~é{"x":1}&='},
        action="Authorize",
        endpoint=SANDBOX_NA,
        seller_id="A2EXAMPLE",
        access_key="AKIAEXAMPLE",
        secret_key=SecretKey("secret"),
        timestamp=datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
    )
    body = form_body(signed)
    assert form_fields(body) == signed
    assert body.decode().rsplit("&", 1)[1].startswith("Signature=")


def test_mws_auth_token_is_sent_and_signed_only_when_given():
    common = {
        "action": "GetServiceStatus",
        "endpoint": SANDBOX_NA,
        "seller_id": "S",
        "access_key": "K",
        "secret_key": SecretKey("k"),
        "timestamp": datetime(2024, 1, 1, tzinfo=UTC),
    }
    assert "MWSAuthToken" not in signed_parameters({}, **common)
    delegated = signed_parameters({}, mws_auth_token="amzn.mws.token", **common)
    assert delegated["MWSAuthToken"] == "amzn.mws.token"
    assert delegated["Signature"] == sdk_signature(delegated, endpoint_url=SANDBOX_NA.url, secret_key="k")


def test_timestamps_are_sent_in_utc_without_fractions():
    moment = datetime(2024, 1, 2, 5, 4, 5, 999_999, tzinfo=timezone(timedelta(hours=2)))
    assert amazon_timestamp(moment) == "2024-01-02T03:04:05Z"
    with pytest.raises(ValueError, match="timezone"):
        amazon_timestamp(datetime(2024, 1, 2))  # a naive datetime


def test_a_secret_key_never_shows_its_value():
    key = SecretKey("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    assert "wJalr" not in repr(key)
    assert "wJalr" not in str(key)
    assert "wJalr" not in f"{key!r} {key}"
    with pytest.raises(TypeError):
        pickle.dumps(key)


def test_an_empty_secret_key_is_refused():
    with pytest.raises(ValueError, match="secret key"):
        SecretKey("")
