"""The IPN endpoint: verify before anything else, store everything, apply exactly once, in order."""

from __future__ import annotations

import base64
import json
import uuid

import pytest

from paydesk.amazonpay.models import (
    AmazonPaySettings,
    Environment,
    Notification,
    PaymentEvent,
    Transaction,
    Verdict,
)

from .conftest import ORO, add_txn, make_order
from .sns_factory import TOPIC, CertServer, body_of, envelope, make_certificate, notification_data, sign

URL = "/amazonpay/ipn/"
AUTH = f"{ORO}-A000001"
CAP = f"{ORO}-C000001"


@pytest.fixture(scope="module")
def certs():
    server = CertServer()
    key, pem = make_certificate()
    expired_key, expired_pem = make_certificate(days_valid=10, starts_in_days=-30)
    other_key, other_pem = make_certificate(common_name="evil.example.com")
    urls = {
        "good": server.publish(pem, "SimpleNotificationService-good"),
        "expired": server.publish(expired_pem, "SimpleNotificationService-expired"),
        "other": server.publish(other_pem, "SimpleNotificationService-other"),
    }
    yield {"server": server, "key": key, "expired_key": expired_key, "other_key": other_key, "urls": urls}
    server.close()


@pytest.fixture
def store(amazon_settings, certs):
    amazon_settings.environment = Environment.OFFLINE_SANDBOX
    amazon_settings.offline_sandbox_url = certs["server"].base
    amazon_settings.save()
    order, payment = make_order(status="authorized")
    add_txn(payment, "authorization", "Closed", AUTH, "1001-a1", reason_code="MaxCapturesProcessed")
    capture = add_txn(payment, "capture", "Pending", CAP, "1001-c1", parent=AUTH)
    return {"order": order, "payment": payment, "capture": capture}


def capture_ipn(certs, state="Completed", updated="2026-11-25T10:00:00.000Z", key="key", url="good", **kw):
    data = notification_data(
        "PaymentCapture", amazon_id=CAP, reference_id="1001-c1", state=state, updated=updated
    )
    return sign(envelope("PaymentCapture", data, cert_url=certs["urls"][url], **kw), certs[key])


def post(client, body: bytes | str):
    return client.post(URL, data=body, content_type="text/plain; charset=utf-8")


def test_a_genuine_notification_is_stored_then_applied(client, store, certs):
    response = post(client, body_of(capture_ipn(certs)))
    assert response.status_code == 200
    capture = Transaction.objects.get(amazon_id=CAP)
    assert capture.state == "Completed" and capture.notified
    store["order"].refresh_from_db()
    assert store["order"].status == "processed"
    row = Notification.objects.get()
    assert row.verdict == Verdict.ACCEPTED and row.applied and row.payment == store["payment"]
    assert PaymentEvent.objects.filter(operation="IPN PaymentCapture", source="ipn").count() == 1


def test_a_duplicate_delivery_answers_200_and_changes_nothing(client, store, certs):
    signed = capture_ipn(certs)
    assert post(client, body_of(signed)).status_code == 200
    events = PaymentEvent.objects.count()
    assert post(client, body_of(signed)).status_code == 200
    assert PaymentEvent.objects.count() == events
    first, second = Notification.objects.order_by("id")
    assert second.verdict == Verdict.DUPLICATE and second.duplicate_of == first


def test_an_older_notification_never_moves_a_payment_backwards(client, store, certs):
    assert (
        post(client, body_of(capture_ipn(certs, "Completed", "2026-11-25T10:05:00.000Z"))).status_code == 200
    )
    assert post(client, body_of(capture_ipn(certs, "Pending", "2026-11-25T10:00:00.000Z"))).status_code == 200
    assert Transaction.objects.get(amazon_id=CAP).state == "Completed"
    assert PaymentEvent.objects.filter(outcome="stale").count() == 1


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (lambda e: {**e, "Signature": e["Signature"][:-8] + "AAAAAAA="}, "bad_signature"),
        (lambda e: {**e, "Message": e["Message"].replace("Completed", "Declined")}, "bad_signature"),
        (lambda e: {**e, "Timestamp": "2026-11-25T11:00:01.000Z"}, "bad_signature"),
        (
            lambda e: {**e, "SigningCertURL": "https://sns.us-east-1.amazonaws.com.evil.com/x.pem"},
            "untrusted_cert_url",
        ),
        (lambda e: {**e, "SigningCertURL": "http://sns.us-east-1.amazonaws.com/x.pem"}, "untrusted_cert_url"),
        (
            lambda e: {**e, "SigningCertURL": "https://evil.example.com/SimpleNotificationService-x.pem"},
            "untrusted_cert_url",
        ),
        (lambda e: {**e, "SignatureVersion": "3"}, "unsupported_signature_version"),
    ],
)
def test_forged_or_tampered_messages_are_refused_kept_and_change_nothing(
    client, store, certs, tamper, reason
):
    response = post(client, body_of(tamper(capture_ipn(certs))))
    assert response.status_code == 403
    row = Notification.objects.get()
    assert row.verdict == Verdict.REJECTED and row.reason == reason and not row.applied
    assert Transaction.objects.get(amazon_id=CAP).state == "Pending"


def test_a_message_signed_by_another_key_is_refused(client, store, certs):
    response = post(client, body_of(capture_ipn(certs, key="other_key")))
    assert response.status_code == 403
    assert Notification.objects.get().reason == "bad_signature"


def test_an_expired_certificate_is_refused(client, store, certs):
    response = post(client, body_of(capture_ipn(certs, key="expired_key", url="expired")))
    assert response.status_code == 403
    assert Notification.objects.get().reason == "certificate_expired"


def test_a_certificate_for_another_name_is_refused(client, store, certs):
    response = post(client, body_of(capture_ipn(certs, key="other_key", url="other")))
    assert response.status_code == 403
    assert Notification.objects.get().reason == "certificate_not_for_sns"


def test_the_sandbox_certificate_is_not_trusted_in_live_mode(client, store, certs):
    live = AmazonPaySettings.load()
    live.environment = Environment.LIVE
    live.save()
    response = post(client, body_of(capture_ipn(certs)))
    assert response.status_code == 403
    assert Notification.objects.get().reason == "untrusted_cert_url"
    assert Transaction.objects.get(amazon_id=CAP).state == "Pending"


def test_a_notification_for_another_seller_is_refused(client, store, certs):
    response = post(client, body_of(capture_ipn(certs, seller_id="A9OTHERSELLER9")))
    assert response.status_code == 403
    assert Notification.objects.get().reason == "wrong_seller"
    assert Transaction.objects.get(amazon_id=CAP).state == "Pending"


def test_a_configured_topic_must_match(client, store, certs):
    settings = AmazonPaySettings.load()
    settings.ipn_topic_arn = "arn:aws:sns:us-east-1:291180941288:SOMEOTHER"
    settings.save()
    assert post(client, body_of(capture_ipn(certs))).status_code == 403
    assert Notification.objects.get().reason == "wrong_topic"


def test_without_a_configured_topic_a_genuinely_signed_notification_from_anothers_topic_is_refused(
    client, store, certs
):
    # SNS signs what any AWS account publishes; an attacker's topic, our SellerId in the Message
    # and a real order reference would otherwise mark an unpaid order as paid.
    assert not AmazonPaySettings.load().ipn_topic_arn
    data = notification_data(
        "PaymentCapture", amazon_id=CAP[:-7] + "C999999", reference_id="x-c9", state="Completed"
    )
    forged = dict(envelope("PaymentCapture", data, cert_url=certs["urls"]["good"]))
    forged["TopicArn"] = "arn:aws:sns:us-east-1:111122223333:attackers-own-topic"
    response = post(client, body_of(sign(forged, certs["key"])))
    assert response.status_code == 403
    row = Notification.objects.get()
    assert (row.verdict, row.reason, row.applied) == ("rejected", "wrong_topic", False)
    assert not Transaction.objects.filter(amazon_id=CAP[:-7] + "C999999").exists()
    assert store["order"].__class__.objects.get(pk=store["order"].pk).status == "authorized"


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"\xff\xfe\x00garbage",
        b"[]",
        json.dumps({"Type": "Notification"}).encode(),
    ],
)
def test_malformed_bodies_answer_400_and_are_kept(client, store, body):
    response = post(client, body)
    assert response.status_code == 400
    row = Notification.objects.get()
    assert row.verdict == Verdict.MALFORMED and row.body_size == len(body)


XXE = (
    '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    "<CaptureNotification><CaptureDetails><AmazonCaptureId>&x;</AmazonCaptureId></CaptureDetails></CaptureNotification>"
)
LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><CaptureNotification>&lol3;</CaptureNotification>'
)


@pytest.mark.parametrize("data", ["<CaptureNotification><unclosed>", XXE, LAUGHS, "<Other/>"])
def test_genuine_messages_with_bad_notification_data_are_refused_with_400(client, store, certs, data):
    signed = sign(envelope("PaymentCapture", data, cert_url=certs["urls"]["good"]), certs["key"])
    response = post(client, body_of(signed))
    assert response.status_code == 400
    row = Notification.objects.get()
    assert row.verdict == Verdict.MALFORMED and row.reason.startswith("malformed")
    assert Transaction.objects.get(amazon_id=CAP).state == "Pending"


def test_a_10_mb_body_is_refused_without_being_read_and_the_head_kept(client, store):
    body = b"{" + b" " * (10 * 1024 * 1024) + b"}"
    response = post(client, body)
    assert response.status_code == 413
    row = Notification.objects.get()
    assert row.body_size == len(body) and len(row.body) == 64 * 1024 and row.reason == "too_large"


def test_a_notification_for_an_unknown_payment_is_kept_and_shown(client, store, certs):
    data = notification_data(
        "PaymentAuthorize", amazon_id="S01-9999999-9999999-A000001", reference_id="elsewhere", state="Open"
    )
    signed = sign(envelope("PaymentAuthorize", data, cert_url=certs["urls"]["good"]), certs["key"])
    assert post(client, body_of(signed)).status_code == 200
    row = Notification.objects.get()
    assert row.verdict == Verdict.ACCEPTED and not row.applied and row.reason == "unknown_payment"


def test_other_notification_types_are_accepted_but_not_applied(client, store, certs):
    data = "<ChargebackNotification/>"
    signed = sign(
        envelope("Chargeback Detailed Notification", data, cert_url=certs["urls"]["good"]), certs["key"]
    )
    assert post(client, body_of(signed)).status_code == 200
    assert Notification.objects.get().reason == "not_applied"


def test_signature_version_2_is_accepted(client, store, certs):
    assert post(client, body_of(capture_ipn(certs, version="2"))).status_code == 200
    assert Transaction.objects.get(amazon_id=CAP).state == "Completed"


def test_only_post_is_allowed(client, store):
    assert client.get(URL).status_code == 405


def test_the_log_lists_every_request_with_its_raw_message_one_click_away(client, store, certs, operator):
    post(client, body_of(capture_ipn(certs)))
    post(client, b"{not json")
    client.force_login(operator)
    page = client.get("/amazonpay/ipn-log/").content.decode()
    assert "PaymentCapture" in page and "Malformed" in page
    row = Notification.objects.get(verdict=Verdict.MALFORMED)
    detail = client.get(f"/amazonpay/ipn-log/{row.pk}/").content.decode()
    assert "{not json" in detail


def test_the_raw_message_shown_to_staff_hides_the_link_that_unsubscribes_the_store(
    client, store, certs, viewer
):
    # Anyone who opens an SNS UnsubscribeURL ends the subscription; a viewer need not have it.
    arn = f"{TOPIC}:0b3c9f1e-4d6a-4f3e-9b1a-2c5d7e8f9a0b"
    client.post(
        URL, data=body_of(capture_ipn(certs)), content_type="text/plain", HTTP_X_AMZ_SNS_SUBSCRIPTION_ARN=arn
    )
    row = Notification.objects.get()
    assert "Action=Unsubscribe" in row.body and row.headers["x-amz-sns-subscription-arn"] == arn  # kept
    client.force_login(viewer)
    detail = client.get(f"/amazonpay/ipn-log/{row.pk}/").content.decode()
    assert "Action=Unsubscribe" not in detail and "UnsubscribeURL" in detail
    assert arn not in detail and "x-amz-sns-subscription-arn" in detail  # what the link is made of
    assert "PaymentCapture" in detail and row.claimed_message_id in detail


def _subscription(certs, *, topic=TOPIC):
    server = certs["server"]
    server.files["/sandbox/sns/confirm"] = b"<ConfirmSubscriptionResponse/>"
    message = {
        "Type": "SubscriptionConfirmation",
        "MessageId": str(uuid.uuid4()),
        "Token": "2336412f37fb687f5d51e6e2425c464de12884ac2c5ccc7b4e30ac1d0b6c0bc1",
        "TopicArn": topic,
        "Message": f"You have chosen to subscribe to the topic {topic}.",
        "SubscribeURL": f"{server.base}/sandbox/sns/confirm",
        "Timestamp": "2026-11-25T10:00:01.000Z",
        "SignatureVersion": "1",
        "SigningCertURL": certs["urls"]["good"],
    }
    keys = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
    canonical = "".join(f"{k}\n{message[k]}\n" for k in keys).encode()
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    signature = certs["key"].sign(canonical, padding.PKCS1v15(), hashes.SHA1())
    return {**message, "Signature": base64.b64encode(signature).decode()}


def test_a_stored_subscription_confirmation_shows_no_token_or_subscribe_url(client, store, certs, viewer):
    # With them anyone could confirm the subscription, and its answer names the subscription.
    post(client, body_of(_subscription(certs)))
    row = Notification.objects.get()
    assert "2336412f37fb" in row.body  # kept as received
    client.force_login(viewer)
    detail = client.get(f"/amazonpay/ipn-log/{row.pk}/").content.decode()
    assert "2336412f37fb" not in detail and "/sandbox/sns/confirm" not in detail
    assert "SubscriptionConfirmation" in detail


def test_a_subscription_is_confirmed_only_for_the_configured_topic_after_verification(client, store, certs):
    server = certs["server"]
    server.visited.clear()
    assert post(client, body_of(_subscription(certs))).status_code == 403  # no topic configured
    assert Notification.objects.get().reason == "no_topic_configured" and not server.visited
    settings = AmazonPaySettings.load()
    settings.ipn_topic_arn = TOPIC
    settings.save()
    forged = {**_subscription(certs), "SubscribeURL": f"{server.base}/sandbox/sns/confirm?evil=1"}
    assert post(client, body_of(forged)).status_code == 403  # the signature covers SubscribeURL
    assert "/sandbox/sns/confirm?evil=1" not in server.visited
    assert post(client, body_of(_subscription(certs, topic=TOPIC + "X"))).status_code == 403
    assert post(client, body_of(_subscription(certs))).status_code == 200
    assert server.visited.count("/sandbox/sns/confirm") == 1
