"""IPNs as a merchant endpoint receives them: Amazon's SNS envelope, headers and payloads, with
signatures verified here with `cryptography` against the certificate the sandbox serves -
independently of the sandbox's own signing code."""

from __future__ import annotations

import base64
import urllib.request
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from amazon_pay.client import AmazonPayClient
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.x509.oid import NameOID

from paydesk.sandbox import Sandbox, SandboxConfig
from paydesk.sandbox.config import IPN_RETRY_ANY_FAILURE, IpnSettings

from .conftest import GENEROUS, IpnReceiver, Received, quiet_timings, result, sdk_client, wait_for

IPN_NAMESPACE = "{https://mws.amazonservices.com/ipn/OffAmazonPayments/2013-01-01}"


def canonical(envelope: dict[str, str]) -> bytes:
    """SNS SignatureVersion 1 string to sign, written from AWS's documentation."""
    names = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
    return "".join(f"{n}\n{envelope[n]}\n" for n in names if n in envelope).encode("utf-8")


def certificate_at(url: str) -> x509.Certificate:
    with urllib.request.urlopen(url, timeout=10) as response:  # the sandbox's own, on 127.0.0.1
        return x509.load_pem_x509_certificate(response.read())


def verify(received: Received) -> None:
    envelope = received.envelope()
    assert envelope["SignatureVersion"] == "1"
    public_key = certificate_at(envelope["SigningCertURL"]).public_key()
    public_key.verify(
        base64.b64decode(envelope["Signature"]), canonical(envelope), padding.PKCS1v15(), hashes.SHA1()
    )


def notification_data(received: Received) -> ET.Element:
    return ET.fromstring(received.message()["NotificationData"])


def flow(sandbox: Sandbox, amazon: AmazonPayClient) -> dict[str, str]:
    order_id = sandbox.create_order_reference(amount="40.00", currency="USD")
    result(amazon.set_order_reference_details(order_id, "40.00"), "SetOrderReferenceDetails")
    assert amazon.confirm_order_reference(order_id).success
    authorization = result(amazon.authorize(order_id, "ipn-a", "40.00", transaction_timeout=0), "Authorize")
    authorization_id = authorization["AuthorizationDetails"]["AmazonAuthorizationId"]
    capture = result(amazon.capture(authorization_id, "ipn-c", "40.00"), "Capture")["CaptureDetails"]
    refund = result(amazon.refund(capture["AmazonCaptureId"], "ipn-r", "5.00"), "Refund")["RefundDetails"]
    sandbox.advance_clock("PT1M")
    return {
        "order": order_id,
        "authorization": authorization_id,
        "capture": capture["AmazonCaptureId"],
        "refund": refund["AmazonRefundId"],
    }


def by_type(messages: list[Received]) -> dict[str, list[Received]]:
    """Notifications by type, each type in the order the sandbox made them: SNS (and the
    sandbox's parallel senders) may deliver them in any order, so arrival order means nothing."""
    grouped: dict[str, list[Received]] = {}
    for received in messages:
        grouped.setdefault(received.message()["NotificationType"], []).append(received)
    for group in grouped.values():
        group.sort(key=_made_at)
    return grouped


# A state's place in its machine: breaks ties between notifications made in the same millisecond.
_STATE_RANK = {
    "Draft": 0,
    "Pending": 1,
    "Open": 2,
    "Suspended": 2,
    "Completed": 3,
    "Declined": 3,
    "Closed": 4,
}


def _made_at(received: Received) -> tuple[str, int]:
    data = notification_data(received)
    updated = max((e.text or "") for e in data.iter(f"{IPN_NAMESPACE}LastUpdateTimestamp"))
    state = next((e.text or "" for e in data.iter(f"{IPN_NAMESPACE}State")), "")
    return updated, _STATE_RANK.get(state, 0)


def test_every_state_change_arrives_as_a_signed_sns_notification(
    sandbox_with_ipn: Sandbox, ipn_receiver: IpnReceiver
):
    ids = flow(sandbox_with_ipn, sdk_client(sandbox_with_ipn))
    # Open (confirm), Open auth then Closed by the capture, Completed capture, Pending + Completed refund.
    messages = ipn_receiver.wait_for(6)
    assert sandbox_with_ipn.wait_for_ipn_idle(GENEROUS)
    grouped = by_type(ipn_receiver.messages())
    assert sorted(grouped) == [
        "OrderReferenceNotification",
        "PaymentAuthorize",
        "PaymentCapture",
        "PaymentRefund",
    ]
    for received in messages:
        verify(received)

    order = notification_data(grouped["OrderReferenceNotification"][0])
    assert order.tag == f"{IPN_NAMESPACE}OrderReferenceNotification"
    assert (
        order.findtext(f"{IPN_NAMESPACE}OrderReference/{IPN_NAMESPACE}AmazonOrderReferenceId") == ids["order"]
    )

    authorization_states = [
        notification_data(r).findtext(f".//{IPN_NAMESPACE}AuthorizationStatus/{IPN_NAMESPACE}State")
        for r in grouped["PaymentAuthorize"]
    ]
    assert authorization_states == ["Open", "Closed"]
    closed = notification_data(grouped["PaymentAuthorize"][1])
    assert (
        closed.findtext(f".//{IPN_NAMESPACE}IdList/{IPN_NAMESPACE}Id") == ids["capture"]
    )  # <Id>, not <member>

    refund_states = [
        notification_data(r).findtext(f".//{IPN_NAMESPACE}RefundStatus/{IPN_NAMESPACE}State")
        for r in grouped["PaymentRefund"]
    ]
    assert refund_states == ["Pending", "Completed"]


def test_the_envelope_headers_and_message_have_amazons_shape(
    sandbox_with_ipn: Sandbox, ipn_receiver: IpnReceiver
):
    flow(sandbox_with_ipn, sdk_client(sandbox_with_ipn))
    received = ipn_receiver.wait_for(1)[0]
    envelope, headers = received.envelope(), received.headers
    assert received.path == "/amazon/ipn"
    assert headers["x-amz-sns-message-type"] == "Notification"
    assert headers["x-amz-sns-message-id"] == envelope["MessageId"]
    assert headers["x-amz-sns-topic-arn"] == envelope["TopicArn"]
    assert headers["x-amz-sns-subscription-arn"].startswith(envelope["TopicArn"] + ":")
    assert headers["content-type"] == "text/plain; charset=UTF-8"
    assert headers["user-agent"] == "Amazon Simple Notification Service Agent"
    assert set(envelope) == {
        "Type",
        "MessageId",
        "TopicArn",
        "Message",
        "Timestamp",
        "SignatureVersion",
        "Signature",
        "SigningCertURL",
        "UnsubscribeURL",
    }
    assert envelope["Type"] == "Notification"
    assert envelope["TopicArn"] == "arn:aws:sns:us-east-1:291180941288:A3BXB0YN3XH17HA2PAYDESKDEMO1"
    assert envelope["SigningCertURL"].startswith(
        f"{sandbox_with_ipn.url}/sandbox/sns/SimpleNotificationService-"
    )
    assert envelope["SigningCertURL"].endswith(".pem")
    message = received.message()
    assert set(message) == {
        "NotificationReferenceId",
        "MarketplaceID",
        "NotificationType",
        "SellerId",
        "ReleaseEnvironment",
        "Version",
        "NotificationData",
        "Timestamp",
    }
    assert (message["SellerId"], message["ReleaseEnvironment"], message["Version"]) == (
        "A2PAYDESKDEMO1",
        "Sandbox",
        "2013-01-01",
    )
    assert "<\\/" in envelope["Message"]  # Amazon escapes "/" inside the Message JSON
    assert message["NotificationData"].startswith('<?xml version="1.0" encoding="UTF-8"?>')


def test_the_served_certificate_is_a_year_long_self_signed_sns_certificate(
    sandbox_with_ipn: Sandbox, ipn_receiver: IpnReceiver
):
    flow(sandbox_with_ipn, sdk_client(sandbox_with_ipn))
    certificate = certificate_at(ipn_receiver.wait_for(1)[0].envelope()["SigningCertURL"])
    assert certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "sns.amazonaws.com"
    assert certificate.issuer == certificate.subject
    lifetime = certificate.not_valid_after_utc - certificate.not_valid_before_utc
    assert timedelta(days=365) <= lifetime <= timedelta(days=366)


def test_a_tampered_message_fails_verification(sandbox_with_ipn: Sandbox, ipn_receiver: IpnReceiver):
    flow(sandbox_with_ipn, sdk_client(sandbox_with_ipn))
    received = ipn_receiver.wait_for(1)[0]
    envelope = received.envelope()
    envelope["Message"] = envelope["Message"].replace("Open", "Closed")
    public_key = certificate_at(envelope["SigningCertURL"]).public_key()
    with pytest.raises(InvalidSignature):
        public_key.verify(
            base64.b64decode(envelope["Signature"]), canonical(envelope), padding.PKCS1v15(), hashes.SHA1()
        )


def test_a_failing_endpoint_is_retried_until_it_answers(sandbox_with_ipn: Sandbox, ipn_receiver: IpnReceiver):
    ipn_receiver.statuses.extend([500, 503])
    amazon = sdk_client(sandbox_with_ipn)
    order_id = sandbox_with_ipn.create_order_reference(amount="1.00", currency="USD")
    assert amazon.confirm_order_reference(order_id).success
    attempts = ipn_receiver.wait_for(3)
    assert len({r.envelope()["MessageId"] for r in attempts}) == 1  # the same message, three times
    assert sandbox_with_ipn.wait_for_ipn_idle(GENEROUS)
    (delivery,) = sandbox_with_ipn.ipn_deliveries()
    assert delivery["state"] == "delivered"
    assert [attempt["status"] for attempt in delivery["attempts"]] == [500, 503, 200]


def test_a_4xx_answer_is_not_retried_under_amazons_rule(sandbox_with_ipn: Sandbox, ipn_receiver: IpnReceiver):
    ipn_receiver.statuses.append(404)
    order_id = sandbox_with_ipn.create_order_reference(amount="1.00", currency="USD")
    assert sdk_client(sandbox_with_ipn).confirm_order_reference(order_id).success
    assert sandbox_with_ipn.wait_for_ipn_idle(GENEROUS)
    (delivery,) = sandbox_with_ipn.ipn_deliveries()
    assert (delivery["state"], len(delivery["attempts"])) == ("failed", 1)


def test_retries_give_up_after_the_configured_attempts(sandbox_with_ipn: Sandbox, ipn_receiver: IpnReceiver):
    ipn_receiver.statuses.extend([500] * 10)
    order_id = sandbox_with_ipn.create_order_reference(amount="1.00", currency="USD")
    assert sdk_client(sandbox_with_ipn).confirm_order_reference(order_id).success
    assert sandbox_with_ipn.wait_for_ipn_idle(GENEROUS)
    (delivery,) = sandbox_with_ipn.ipn_deliveries()
    assert (delivery["state"], len(delivery["attempts"])) == ("failed", 3)


def test_an_unreachable_endpoint_is_retried_under_the_any_failure_rule():
    settings = IpnSettings(
        urls=("http://127.0.0.1:9/nobody-listens",),
        retry_policy=IPN_RETRY_ANY_FAILURE,
        retry_first_delay=timedelta(milliseconds=20),
        max_attempts=3,
    )
    with Sandbox(SandboxConfig(throttling=False, timings=quiet_timings(), ipn=settings)) as sandbox:
        order_id = sandbox.create_order_reference(amount="1.00", currency="USD")
        assert sdk_client(sandbox).confirm_order_reference(order_id).success
        assert sandbox.wait_for_ipn_idle(GENEROUS)
        (delivery,) = sandbox.ipn_deliveries()
        assert delivery["state"] == "failed"
        assert len(delivery["attempts"]) == 3 and delivery["attempts"][0]["error"]


def confirm_orders(sandbox: Sandbox, count: int) -> list[str]:
    amazon = sdk_client(sandbox)
    order_ids = []
    for _ in range(count):
        order_id = sandbox.create_order_reference(amount="1.00", currency="USD")
        assert amazon.confirm_order_reference(order_id).success
        order_ids.append(order_id)
    return order_ids


def order_ids_received(receiver: IpnReceiver) -> list[str]:
    return [
        notification_data(r).findtext(f".//{IPN_NAMESPACE}AmazonOrderReferenceId") or ""
        for r in receiver.messages()
    ]


def test_paused_delivery_queues_notifications_and_resuming_sends_them(
    sandbox_with_ipn: Sandbox, ipn_receiver: IpnReceiver
):
    sandbox_with_ipn.pause_ipn()
    order_ids = confirm_orders(sandbox_with_ipn, 2)
    wait_for(lambda: sandbox_with_ipn.ipn.settings()["queued"] == 2, what="two queued IPNs")
    assert ipn_receiver.messages() == []
    sandbox_with_ipn.resume_ipn()
    ipn_receiver.wait_for(2)
    assert sorted(order_ids_received(ipn_receiver)) == sorted(order_ids)


def test_dropped_notifications_never_arrive_and_say_so_in_the_log(
    sandbox_with_ipn: Sandbox, ipn_receiver: IpnReceiver
):
    sandbox_with_ipn.arm_ipn_fault("drop", count=1)
    dropped, kept = confirm_orders(sandbox_with_ipn, 2)
    ipn_receiver.wait_for(1)
    assert sandbox_with_ipn.wait_for_ipn_idle(GENEROUS)
    assert order_ids_received(ipn_receiver) == [kept]
    states = {d["object_id"]: d["state"] for d in sandbox_with_ipn.ipn_deliveries()}
    assert states == {dropped: "dropped", kept: "delivered"}


def test_duplicated_notifications_arrive_twice_with_the_same_message_id(
    sandbox_with_ipn: Sandbox, ipn_receiver: IpnReceiver
):
    sandbox_with_ipn.arm_ipn_fault("duplicate", count=1)
    confirm_orders(sandbox_with_ipn, 1)
    first, second = ipn_receiver.wait_for(2)
    assert first.envelope() == second.envelope()


def test_reordered_notifications_arrive_newest_first(sandbox_with_ipn: Sandbox, ipn_receiver: IpnReceiver):
    sandbox_with_ipn.arm_ipn_fault("reorder", count=3)
    order_ids = confirm_orders(sandbox_with_ipn, 3)
    assert sandbox_with_ipn.wait_for_ipn_idle(GENEROUS)
    assert order_ids_received(ipn_receiver) == list(reversed(order_ids))


def test_a_delayed_notification_is_overtaken_by_the_next_one(
    sandbox_with_ipn: Sandbox, ipn_receiver: IpnReceiver
):
    sandbox_with_ipn.arm_ipn_fault("delay", count=1, delay_seconds=2.0)
    delayed, prompt = confirm_orders(sandbox_with_ipn, 2)
    ipn_receiver.wait_for(2)
    assert order_ids_received(ipn_receiver) == [prompt, delayed]


def test_switched_off_delivery_sends_nothing(sandbox_with_ipn: Sandbox, ipn_receiver: IpnReceiver):
    sandbox_with_ipn.configure_ipn(enabled=False)
    confirm_orders(sandbox_with_ipn, 2)
    assert sandbox_with_ipn.wait_for_ipn_idle(GENEROUS)
    assert ipn_receiver.messages() == [] and sandbox_with_ipn.ipn_deliveries() == []


def test_new_ipn_urls_take_effect_for_later_notifications(sandbox: Sandbox, ipn_receiver: IpnReceiver):
    confirm_orders(sandbox, 1)  # no URL yet: nothing is queued
    sandbox.configure_ipn(urls=[ipn_receiver.url])
    confirm_orders(sandbox, 1)
    assert len(ipn_receiver.wait_for(1)) == 1
    assert sandbox.wait_for_ipn_idle(GENEROUS)
    assert len(ipn_receiver.messages()) == 1
