"""The JSON control API, driven over HTTP through `RemoteSandbox` as a test in another process
would: buyer stand-in, clock, faults, throttling, object state."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
import requests
from amazon_pay.client import AmazonPayClient

from paydesk.sandbox import RemoteSandbox, RemoteSandboxError, Sandbox

from .conftest import error, open_order, result, sdk_client, signed_body


@pytest.fixture
def remote(sandbox: Sandbox) -> RemoteSandbox:
    return RemoteSandbox(sandbox.url)


def raw(sandbox: Sandbox, method: str, path: str, body: bytes | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(f"{sandbox.url}{path}", data=body, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as failure:
        return failure.code, json.loads(failure.read())


def test_the_buyer_stand_in_answers_201_with_a_draft_order_reference(sandbox: Sandbox):
    body = json.dumps({"seller_id": sandbox.config.seller_id, "amount": "25.00", "currency": "USD"}).encode()
    status, reply = raw(sandbox, "POST", "/sandbox/buyer/order-references", body)
    assert status == 201
    state = sandbox.object_state(reply["AmazonOrderReferenceId"])
    assert state["status"]["state"] == "Draft"
    assert state["order_total"] == {"value": "25.00", "currency": "USD"}
    assert state["buyer"]["email"] and state["destination"]["country_code"] == "US"
    assert state["payment_method"] == "valid"


def test_the_buyer_stand_in_takes_a_buyer_an_address_and_a_declined_card(
    remote: RemoteSandbox, amazon: AmazonPayClient
):
    order_id = remote.create_order_reference(
        amount="9.99",
        currency="USD",
        buyer_name="Ada L",
        buyer_email="ada@example.org",
        address={
            "name": "Ada L",
            "address_line1": "1 Analytical Way",
            "city": "London",
            "postal_code": "N1",
            "country_code": "GB",
        },
        payment_method="declined",
    )
    state = remote.object_state(order_id)
    assert (state["buyer"]["name"], state["destination"]["city"], state["payment_method"]) == (
        "Ada L",
        "London",
        "declined",
    )
    assert amazon.confirm_order_reference(order_id).success
    declined = result(amazon.authorize(order_id, "declined-card", "9.99", transaction_timeout=0), "Authorize")
    assert declined["AuthorizationDetails"]["AuthorizationStatus"]["ReasonCode"] == "InvalidPaymentMethod"
    remote.change_payment_method(order_id, "valid")
    assert remote.object_state(order_id)["status"]["state"] == "Open"


def test_an_order_reference_without_address_or_wallet_has_amazons_constraints(
    remote: RemoteSandbox, amazon: AmazonPayClient
):
    order_id = remote.create_order_reference(amount="5.00", currency="USD", address=None, payment_method=None)
    details = result(amazon.get_order_reference_details(order_id), "GetOrderReferenceDetails")[
        "OrderReferenceDetails"
    ]
    constraints = {c["ConstraintID"] for c in details["Constraints"]["Constraint"]}
    assert constraints == {"ShippingAddressNotSet", "PaymentPlanNotSet"}


@pytest.mark.parametrize(
    "payload",
    [
        {"currency": "USD"},
        {"amount": "1.001", "currency": "USD"},
        {"amount": "1.00", "currency": "USD", "seller_id": "A2NOBODY"},
        {"amount": "1.00", "currency": "USD", "payment_method": "stolen"},
        {"amount": True, "currency": "USD"},
    ],
    ids=["no-amount", "too-precise", "unknown-seller", "bad-wallet", "boolean-amount"],
)
def test_the_buyer_stand_in_refuses_what_amazon_would_not_produce(sandbox: Sandbox, payload: dict):
    status, reply = raw(sandbox, "POST", "/sandbox/buyer/order-references", json.dumps(payload).encode())
    assert status == 400 and reply["error"]


def test_the_clock_moves_by_iso_durations_or_seconds_and_never_back(remote: RemoteSandbox, sandbox: Sandbox):
    start = remote.now()
    after_days = remote.advance_clock("P3D")
    assert 3 * 86400 <= (after_days - start).total_seconds() < 3 * 86400 + 60
    after_seconds = remote.advance_clock(90)
    assert 90 <= (after_seconds - after_days).total_seconds() < 150
    with pytest.raises(RemoteSandboxError, match="400"):
        remote.advance_clock(-5)
    with pytest.raises(RemoteSandboxError, match="400"):
        remote.advance_clock("P1M")  # months have no fixed length


def test_moving_the_clock_fires_what_fell_due_before_answering(
    remote: RemoteSandbox, sandbox: Sandbox, amazon: AmazonPayClient
):
    order_id = open_order(sandbox, amazon)
    authorization = result(amazon.authorize(order_id, "exp-1", "100.00", transaction_timeout=0), "Authorize")
    authorization_id = authorization["AuthorizationDetails"]["AmazonAuthorizationId"]
    remote.advance_clock("P30DT1S")
    state = remote.object_state(authorization_id)["status"]
    assert (state["state"], state["reason_code"]) == ("Closed", "ExpiredUnused")


@pytest.mark.parametrize(
    ("mode", "status", "code"), [("500", 500, "InternalServerError"), ("503", 503, "ServiceUnavailable")]
)
def test_an_armed_server_error_fails_the_next_call_without_acting(
    remote: RemoteSandbox, sandbox: Sandbox, amazon: AmazonPayClient, mode: str, status: int, code: str
):
    order_id = open_order(sandbox, amazon)
    remote.arm_fault("Authorize", mode, count=1)
    failed = amazon.authorize(order_id, f"fault-{mode}", "10.00", transaction_timeout=0)
    assert error(failed)["Code"] == code
    assert remote.object_state(order_id)["authorization_ids"] == []
    assert amazon.authorize(order_id, f"fault-{mode}", "10.00", transaction_timeout=0).success  # count was 1
    assert remote.armed_faults() == []


def test_a_reset_connection_reaches_the_client_as_a_connection_error(
    remote: RemoteSandbox, sandbox: Sandbox, amazon: AmazonPayClient
):
    remote.arm_fault("GetServiceStatus", "reset")
    with pytest.raises(requests.ConnectionError):
        amazon.get_service_status()
    assert amazon.get_service_status().success


def test_a_held_connection_makes_the_client_time_out(remote: RemoteSandbox, sandbox: Sandbox):
    remote.arm_fault("*", "timeout", hold_seconds=5)
    body = signed_body(sandbox.endpoint, {"Action": "GetServiceStatus"})
    with pytest.raises(requests.Timeout):
        requests.post(
            sandbox.endpoint,
            data=body,
            timeout=0.5,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert remote.armed_faults() == []


def test_a_fault_only_hits_the_named_operation(
    remote: RemoteSandbox, sandbox: Sandbox, amazon: AmazonPayClient
):
    remote.arm_fault("Capture", "500", count=2)
    assert amazon.get_service_status().success
    assert remote.armed_faults()[0]["remaining"] == 2


def test_act_then_reset_moves_the_money_but_the_client_never_hears(
    remote: RemoteSandbox, sandbox: Sandbox, amazon: AmazonPayClient
):
    order_id = open_order(sandbox, amazon)
    authorization = result(amazon.authorize(order_id, "atr-a", "30.00", transaction_timeout=0), "Authorize")
    authorization_id = authorization["AuthorizationDetails"]["AmazonAuthorizationId"]
    remote.arm_fault("Capture", "act_then_reset")
    with pytest.raises(requests.ConnectionError):
        amazon.capture(authorization_id, "atr-c", "30.00")
    (capture_id,) = remote.object_state(authorization_id)["capture_ids"]
    assert remote.object_state(capture_id)["status"]["state"] == "Completed"
    # The client's safe recovery: repeat with the same reference id and get the same capture.
    replayed = result(amazon.capture(authorization_id, "atr-c", "30.00"), "Capture")["CaptureDetails"]
    assert replayed["AmazonCaptureId"] == capture_id


def test_act_then_500_says_error_although_the_refund_exists(
    remote: RemoteSandbox, sandbox: Sandbox, amazon: AmazonPayClient
):
    order_id = open_order(sandbox, amazon)
    authorization = result(amazon.authorize(order_id, "a5-a", "30.00", transaction_timeout=0), "Authorize")
    capture = result(
        amazon.capture(authorization["AuthorizationDetails"]["AmazonAuthorizationId"], "a5-c", "30.00"),
        "Capture",
    )["CaptureDetails"]
    remote.arm_fault("Refund", "act_then_500")
    assert error(amazon.refund(capture["AmazonCaptureId"], "a5-r", "10.00"))["Code"] == "InternalServerError"
    assert len(remote.object_state(capture["AmazonCaptureId"])["refund_ids"]) == 1


def test_unknown_fault_modes_and_counts_are_refused(remote: RemoteSandbox):
    with pytest.raises(RemoteSandboxError, match="400"):
        remote.arm_fault("Capture", "explode")
    with pytest.raises(RemoteSandboxError, match="400"):
        remote.arm_fault("Capture", "500", count=0)
    with pytest.raises(RemoteSandboxError, match="400"):
        remote.arm_fault("Capture", "timeout", hold_seconds=3600)


def test_throttling_can_be_switched_on_and_off_over_http(remote: RemoteSandbox, sandbox: Sandbox):
    amazon = sdk_client(sandbox)
    remote.set_throttling(True)
    assert [amazon.get_service_status().success for _ in range(3)] == [True, True, False]
    remote.set_throttling(False)
    assert all(amazon.get_service_status().success for _ in range(5))


def test_any_objects_full_state_can_be_read_and_unknown_ids_are_404(
    remote: RemoteSandbox, sandbox: Sandbox, amazon: AmazonPayClient
):
    order_id = open_order(sandbox, amazon)
    assert remote.object_state(order_id)["kind"] == "OrderReference"
    with pytest.raises(KeyError):
        remote.object_state("S01-0000000-0000000")


def test_the_ipn_controls_answer_over_http(remote: RemoteSandbox):
    settings = remote.configure_ipn(enabled=False, urls=["http://127.0.0.1:9/ipn"])
    assert (settings["enabled"], settings["urls"]) == (False, ["http://127.0.0.1:9/ipn"])
    remote.pause_ipn()
    remote.arm_ipn_fault("duplicate", count=2)
    remote.resume_ipn()
    assert remote.ipn_deliveries() == []
    assert remote.wait_for_ipn_idle(timeout=5)
    with pytest.raises(RemoteSandboxError, match="400"):
        remote.arm_ipn_fault("scramble")
    with pytest.raises(RemoteSandboxError, match="400"):
        remote.configure_ipn(urls=["ftp://example.org"])


def test_unknown_routes_wrong_methods_and_bad_json_get_clear_json_errors(sandbox: Sandbox):
    assert raw(sandbox, "GET", "/sandbox/nothing-here")[0] == 404
    assert raw(sandbox, "DELETE", "/sandbox/clock")[0] == 405
    status, reply = raw(sandbox, "POST", "/sandbox/clock", b"{not json")
    assert status == 400 and reply["error"]
    assert raw(sandbox, "POST", "/sandbox/clock", b"[1, 2]")[0] == 400


def test_the_info_route_names_the_endpoint_and_credentials_but_not_the_secret(sandbox: Sandbox):
    status, info = raw(sandbox, "GET", "/sandbox")
    assert status == 200
    assert info["endpoint"] == sandbox.endpoint and info["seller_id"] == sandbox.config.seller_id
    assert sandbox.config.secret_key not in json.dumps(info)


def test_the_remote_client_refuses_a_non_local_url():
    with pytest.raises(ValueError):
        RemoteSandbox("http://sandbox.example.org:8001")
