"""Signature Version 2 as Amazon's SDKs compute it (docs/amazon-pay-v1.md §1.3)."""

import pytest

from paydesk.sandbox.errors import AmazonError
from paydesk.sandbox.wire import canonical_query, parse_form, sign, signature_matches, string_to_sign

WORKED_EXAMPLE = {
    "AWSAccessKeyId": "AKIAEXAMPLE",
    "Action": "Authorize",
    "AmazonOrderReferenceId": "S01-1234567-1234567",
    "AuthorizationAmount.Amount": "10.50",
    "AuthorizationAmount.CurrencyCode": "USD",
    "AuthorizationReferenceId": "auth_ref 1*~",
    "CaptureNow": "false",
    "SellerAuthorizationNote": '{"SandboxSimulation": {"State":"Declined", "ReasonCode":"AmazonRejected"}}',
    "SellerId": "A2EXAMPLE",
    "SignatureMethod": "HmacSHA256",
    "SignatureVersion": "2",
    "Timestamp": "2024-01-02T03:04:05Z",
    "TransactionTimeout": "0",
    "Version": "2013-01-01",
}
HOST, PATH = "mws.amazonservices.com", "/OffAmazonPayments_Sandbox/2013-01-01"


def test_the_signature_of_the_documented_example_is_the_one_amazons_python_sdk_computed():
    text = string_to_sign(HOST, PATH, WORKED_EXAMPLE)
    assert sign("secretEXAMPLE", text) == "4H0IQPZuOI1E7Bfadzru6Zq8bull6lZk7DFF+4mJl38="


def test_hmac_sha256_matches_the_python_sdks_own_test_vector():
    assert sign("mws_secret_key", "my_test_string") == "JQZYxe8EFlLE3XCAWotsn329rpZF7OFYhA8oo7rUV2E="


def test_the_canonical_query_encodes_space_star_and_keeps_tilde():
    assert canonical_query({"b": "x y*~", "a": "/"}) == "a=%2F&b=x%20y%2A~"


def test_upper_case_parameter_names_sort_before_lower_case_ones():
    assert canonical_query({"Action": "1", "AWSAccessKeyId": "2"}).startswith("AWSAccessKeyId=")


def test_a_signature_made_for_another_host_port_does_not_match():
    params = dict(
        WORKED_EXAMPLE,
        Signature=sign("secretEXAMPLE", string_to_sign("127.0.0.1:8001", PATH, WORKED_EXAMPLE)),
    )
    assert signature_matches("secretEXAMPLE", "127.0.0.1:8001", PATH, params)
    assert not signature_matches("secretEXAMPLE", "127.0.0.1:8002", PATH, params)
    assert not signature_matches("another-secret", "127.0.0.1:8001", PATH, params)


def test_the_host_is_compared_case_insensitively():
    params = dict(WORKED_EXAMPLE, Signature=sign("s", string_to_sign(HOST, PATH, WORKED_EXAMPLE)))
    assert signature_matches("s", "MWS.AmazonServices.com", PATH, params)


def test_a_request_without_signature_or_with_another_signature_version_never_matches():
    signed = dict(WORKED_EXAMPLE, Signature=sign("s", string_to_sign(HOST, PATH, WORKED_EXAMPLE)))
    assert not signature_matches("s", HOST, PATH, WORKED_EXAMPLE)
    assert not signature_matches("s", HOST, PATH, dict(signed, SignatureVersion="1"))


def test_form_bodies_decode_plus_as_space_and_percent_escapes_as_utf8():
    assert parse_form(b"a=x+y&b=%E2%82%AC&c=") == {"a": "x y", "b": "\u20ac", "c": ""}


@pytest.mark.parametrize("body", [b"\xff\xfe\x00garbage", b"a=%FF", b"a=1&a=2", b"no-equals-sign"])
def test_a_body_that_is_not_a_clean_form_is_refused_as_invalid(body: bytes):
    with pytest.raises(AmazonError) as refused:
        parse_form(body)
    assert refused.value.code == "InvalidParameterValue"
    assert refused.value.status == 400
