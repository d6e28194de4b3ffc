"""The MWS door over real HTTP: every malformed, unsigned, stale or unknown request gets Amazon's
ErrorResponse with Amazon's status, and the sandbox keeps serving. Request bodies are signed by
Amazon's own SDK code (amazon_pay.payment_request), not by the sandbox's."""

from __future__ import annotations

import http.client
import socket
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from amazon_pay.payment_response import PaymentResponse

from paydesk.sandbox import (
    Sandbox,
    SandboxConfig,
    SellerAccount,
)

from .conftest import error, open_order, quiet_timings, result, sdk_client, signed_body

SANDBOX_PATH = "/OffAmazonPayments_Sandbox/2013-01-01"


def post(
    sandbox: Sandbox, body: bytes, path: str = SANDBOX_PATH, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", sandbox.port, timeout=10)
    try:
        connection.request(
            "POST",
            path,
            body=body,
            headers={"Content-Type": "application/x-www-form-urlencoded", **(headers or {})},
        )
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def amazon_error(body: bytes) -> dict[str, Any]:
    """Parsed the way Amazon's SDK parses it."""
    parsed = PaymentResponse(body.decode("utf-8")).to_dict()["ErrorResponse"]
    return {**parsed["Error"], "RequestId": parsed.get("RequestId") or parsed.get("RequestID")}


def status_and_code(sandbox: Sandbox, body: bytes, **kwargs: Any) -> tuple[int, str]:
    status, reply = post(sandbox, body, **kwargs)
    return status, amazon_error(reply)["Code"]


SERVICE_STATUS = {"Action": "GetServiceStatus"}


def test_a_well_signed_request_is_answered(sandbox: Sandbox):
    status, reply = post(sandbox, signed_body(sandbox.endpoint, SERVICE_STATUS))
    assert status == 200
    assert (
        PaymentResponse(reply.decode()).to_dict()["GetServiceStatusResponse"]["GetServiceStatusResult"][
            "Status"
        ]
        == "GREEN"
    )


def test_the_live_path_answers_too(sandbox: Sandbox):
    status, _ = post(
        sandbox, signed_body(sandbox.live_endpoint, SERVICE_STATUS), path="/OffAmazonPayments/2013-01-01"
    )
    assert status == 200


def test_a_tampered_parameter_breaks_the_signature(sandbox: Sandbox):
    body = signed_body(
        sandbox.endpoint,
        {"Action": "GetOrderReferenceDetails", "AmazonOrderReferenceId": "S01-1111111-1111111"},
    )
    tampered = body.replace(b"S01-1111111-1111111", b"S01-2222222-2222222")
    assert status_and_code(sandbox, tampered) == (403, "SignatureDoesNotMatch")


def test_a_request_without_signature_is_refused(sandbox: Sandbox):
    body = signed_body(sandbox.endpoint, SERVICE_STATUS)
    unsigned = b"&".join(part for part in body.split(b"&") if not part.startswith(b"Signature="))
    assert status_and_code(sandbox, unsigned) == (403, "SignatureDoesNotMatch")


def test_a_signature_made_with_the_wrong_secret_is_refused(sandbox: Sandbox):
    assert status_and_code(sandbox, signed_body(sandbox.endpoint, SERVICE_STATUS, secret="guess")) == (
        403,
        "SignatureDoesNotMatch",
    )


def test_a_signature_for_another_host_or_port_is_refused(sandbox: Sandbox):
    other = sandbox.endpoint.replace(f":{sandbox.port}", f":{sandbox.port + 1}")
    assert status_and_code(sandbox, signed_body(other, SERVICE_STATUS)) == (403, "SignatureDoesNotMatch")


def test_an_unknown_access_key_is_refused(sandbox: Sandbox):
    assert status_and_code(
        sandbox, signed_body(sandbox.endpoint, SERVICE_STATUS, access_key="AKIANOBODY")
    ) == (403, "InvalidAccessKeyId")


def test_an_unknown_seller_is_refused(sandbox: Sandbox):
    assert status_and_code(
        sandbox, signed_body(sandbox.endpoint, SERVICE_STATUS, seller="A2UNKNOWNSELLER")
    ) == (400, "InvalidParameterValue")


def test_one_sellers_keys_cannot_act_for_another_seller():
    other = SellerAccount("A2OTHERSELLER1", "AKIAOTHERSELLER00001", "other-secret")
    with Sandbox(SandboxConfig(throttling=False, additional_sellers=(other,))) as sandbox:
        mixed = signed_body(sandbox.endpoint, SERVICE_STATUS, seller=other.seller_id)
        assert status_and_code(sandbox, mixed) == (401, "AccessDenied")
        own = signed_body(
            sandbox.endpoint,
            SERVICE_STATUS,
            seller=other.seller_id,
            access_key=other.access_key,
            secret=other.secret_key,
        )
        assert post(sandbox, own)[0] == 200


@pytest.mark.parametrize("minutes", [-16, 16])
def test_a_timestamp_more_than_fifteen_minutes_off_has_expired(sandbox: Sandbox, minutes: int):
    stamp = (datetime.now(UTC) + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")
    status, reply = post(sandbox, signed_body(sandbox.endpoint, {**SERVICE_STATUS, "Timestamp": stamp}))
    assert (status, amazon_error(reply)["Code"]) == (400, "RequestExpired")
    assert amazon_error(reply)["RequestId"]  # spelled RequestID, as MWS's front door does


def test_a_timestamp_within_fifteen_minutes_is_fine(sandbox: Sandbox):
    stamp = (datetime.now(UTC) - timedelta(minutes=14)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert post(sandbox, signed_body(sandbox.endpoint, {**SERVICE_STATUS, "Timestamp": stamp}))[0] == 200


def test_moving_the_sandbox_clock_does_not_expire_requests(sandbox: Sandbox):
    sandbox.advance_clock("P31D")
    assert post(sandbox, signed_body(sandbox.endpoint, SERVICE_STATUS))[0] == 200


def test_a_garbled_timestamp_is_an_invalid_parameter(sandbox: Sandbox):
    assert status_and_code(
        sandbox, signed_body(sandbox.endpoint, {**SERVICE_STATUS, "Timestamp": "yesterday"})
    ) == (400, "InvalidParameterValue")


def test_another_api_version_is_an_invalid_address(sandbox: Sandbox):
    assert status_and_code(
        sandbox, signed_body(sandbox.endpoint, {**SERVICE_STATUS, "Version": "2009-01-01"})
    ) == (400, "InvalidAddress")


def test_an_unknown_action_is_an_invalid_address(sandbox: Sandbox):
    assert status_and_code(sandbox, signed_body(sandbox.endpoint, {"Action": "ChargeEverything"})) == (
        404,
        "InvalidAddress",
    )


def test_an_unknown_path_is_an_invalid_address(sandbox: Sandbox):
    assert status_and_code(
        sandbox, signed_body(sandbox.endpoint, SERVICE_STATUS), path="/OffAmazonPayments/2009"
    ) == (404, "InvalidAddress")


def test_a_missing_required_parameter_is_named_in_amazons_validation_message(sandbox: Sandbox):
    status, reply = post(sandbox, signed_body(sandbox.endpoint, {"Action": "GetOrderReferenceDetails"}))
    assert status == 400
    failure = amazon_error(reply)
    assert failure["Code"] == "InvalidParameterValue"
    assert "'amazonOrderReferenceId'" in failure["Message"] and "must not be null" in failure["Message"]


def test_an_unknown_order_reference_is_invalid(sandbox: Sandbox):
    body = signed_body(
        sandbox.endpoint,
        {"Action": "GetOrderReferenceDetails", "AmazonOrderReferenceId": "S01-0000000-0000000"},
    )
    assert status_and_code(sandbox, body) == (404, "InvalidOrderReferenceId")


@pytest.mark.parametrize(
    "body",
    [b"\x00\xff\xfe garbage \x80", b"%%%", b"Action=GetServiceStatus&Action=Authorize", b"just words", b""],
    ids=["binary", "bad-escapes", "duplicate", "no-pairs", "empty"],
)
def test_a_malformed_body_gets_a_clear_error_and_the_sandbox_keeps_serving(sandbox: Sandbox, body: bytes):
    status, reply = post(sandbox, body)
    assert 400 <= status < 500
    assert amazon_error(reply)["Code"] in ("InvalidParameterValue", "InvalidAccessKeyId")
    assert post(sandbox, signed_body(sandbox.endpoint, SERVICE_STATUS))[0] == 200


def test_a_huge_body_is_refused_without_being_read(sandbox: Sandbox):
    # Only the headers of a 2 MB request are sent: the answer must come from Content-Length
    # alone. (Sending the body raced the sandbox's early close: a broken pipe, or a reset for
    # the unread bytes, before the answer could be read.)
    with socket.create_connection(("127.0.0.1", sandbox.port), timeout=10) as raw:
        raw.sendall(
            f"POST {SANDBOX_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 2000002\r\n\r\n".encode()
        )
        reply = b""
        while chunk := raw.recv(65536):
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ")
    assert amazon_error(body)["Code"] == "InvalidParameterValue"
    assert post(sandbox, signed_body(sandbox.endpoint, SERVICE_STATUS))[0] == 200


def test_a_request_without_content_length_is_refused(sandbox: Sandbox):
    with socket.create_connection(("127.0.0.1", sandbox.port), timeout=10) as raw:
        raw.sendall(f"POST {SANDBOX_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        reply = b""
        while chunk := raw.recv(65536):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 400")
    assert b"<Code>InvalidParameterValue</Code>" in reply


def test_a_client_that_sends_nothing_and_hangs_up_does_not_hurt(sandbox: Sandbox):
    with socket.create_connection(("127.0.0.1", sandbox.port), timeout=10) as raw:
        raw.sendall(b"POST /OffAmazonPayments_Sandbox/2013-01-01 HTTP/1.1\r\nContent-Length: 100\r\n\r\nab")
    assert post(sandbox, signed_body(sandbox.endpoint, SERVICE_STATUS))[0] == 200


def authorize_params(order_id: str, **overrides: str) -> dict[str, str]:
    return {
        "Action": "Authorize",
        "AmazonOrderReferenceId": order_id,
        "AuthorizationReferenceId": "ref-1",
        "AuthorizationAmount.Amount": "10.00",
        "AuthorizationAmount.CurrencyCode": "USD",
        "TransactionTimeout": "0",
        **overrides,
    }


@pytest.mark.parametrize(
    "overrides",
    [
        {"AuthorizationReferenceId": "x" * 33},
        {"AuthorizationReferenceId": "has space"},
        {"AuthorizationReferenceId": "semi;colon"},
        {"TransactionTimeout": "7"},
        {"TransactionTimeout": "1445"},
        {"AuthorizationAmount.Amount": "10.001"},
        {"AuthorizationAmount.CurrencyCode": "usd"},
        {"CaptureNow": "yes"},
        {"SellerAuthorizationNote": "n" * 256},
        {"SoftDescriptor": "s" * 17},
    ],
    ids=lambda o: next(iter(o)) + "=" + next(iter(o.values()))[:12],
)
def test_a_badly_formed_authorize_parameter_is_an_invalid_parameter(
    sandbox: Sandbox, overrides: dict[str, str]
):
    order_id = open_order(sandbox, sdk_client(sandbox))
    body = signed_body(sandbox.endpoint, authorize_params(order_id, **overrides))
    assert status_and_code(sandbox, body) == (400, "InvalidParameterValue")
    assert sandbox.object_state(order_id)["authorization_ids"] == []


def test_a_reference_id_of_exactly_32_allowed_characters_is_accepted(sandbox: Sandbox):
    order_id = open_order(sandbox, sdk_client(sandbox))
    body = signed_body(sandbox.endpoint, authorize_params(order_id, AuthorizationReferenceId="Ab-_" * 8))
    assert post(sandbox, body)[0] == 200


def test_concurrent_authorizations_on_one_order_never_exceed_its_ceiling(sandbox: Sandbox):
    """20 threads race to authorize 10.00 each on a 100.00 order: Amazon allows 115.00, so
    exactly 11 may succeed, whatever the interleaving."""
    order_id = open_order(sandbox, sdk_client(sandbox), amount="100.00")
    outcomes: list[int] = []
    lock = threading.Lock()

    def attempt(number: int) -> None:
        body = signed_body(
            sandbox.endpoint, authorize_params(order_id, AuthorizationReferenceId=f"race-{number}")
        )
        status, _ = post(sandbox, body)
        with lock:
            outcomes.append(status)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == [200] * 11 + [400] * 9
    assert len(set(sandbox.object_state(order_id)["authorization_ids"])) == 11


def test_many_clients_in_parallel_each_get_their_own_consistent_flow(sandbox: Sandbox):
    errors: list[str] = []

    def checkout(number: int) -> None:
        amazon = sdk_client(sandbox)
        try:
            order_id = open_order(sandbox, amazon, amount="20.00")
            details = result(
                amazon.authorize(order_id, f"par-a-{number}", "20.00", transaction_timeout=0), "Authorize"
            )
            authorization_id = details["AuthorizationDetails"]["AmazonAuthorizationId"]
            captured = result(amazon.capture(authorization_id, f"par-c-{number}", "20.00"), "Capture")
            assert captured["CaptureDetails"]["CaptureStatus"]["State"] == "Completed"
        except AssertionError as failure:
            errors.append(str(failure))

    threads = [threading.Thread(target=checkout, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sandbox.engine.object_count() == 12 * 3


def test_a_currency_other_than_the_order_totals_is_a_currency_mismatch(sandbox: Sandbox):
    order_id = open_order(sandbox, sdk_client(sandbox))
    failure = error(
        sdk_client(sandbox, currency="EUR").authorize(order_id, "eur-1", "10.00", transaction_timeout=0)
    )
    assert failure["Code"] == "CurrencyMismatch"


def test_sandbox_timings_do_not_leak_between_instances():
    with (
        Sandbox(SandboxConfig(throttling=False, timings=quiet_timings())) as first,
        Sandbox(SandboxConfig()) as second,
    ):
        assert first.port != second.port
