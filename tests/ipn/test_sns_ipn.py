"""parse_ipn_message, check_belongs_to_store and verify_ipn: Amazon Pay's notification inside SNS."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from test_sns_support import (
    AMAZON_PAY_SAMPLE,
    AMAZON_PAY_SAMPLE_CERT,
    AMAZON_PAY_SAMPLE_SELLER,
    AMAZON_PAY_SAMPLE_TIME,
    AUTHORIZATION_XML,
    FIXTURES,
    NOW,
    SELLER_ID,
    TOPIC_ARN,
    RecordingCertificateSource,
    body,
    certificate_pem,
    ipn_message,
    notification_fields,
    rsa_key,
    sign,
    signed_notification,
)

from paydesk.amazonpay.sns import (
    Rejection,
    SnsMessageError,
    SnsVerificationError,
    StaticCertificateSource,
    TrustPolicy,
    check_belongs_to_store,
    parse_envelope,
    parse_ipn_message,
    verify_ipn,
)

LIVE = TrustPolicy.live()


def ipn_from(message: str):
    return parse_ipn_message(parse_envelope(body(sign(notification_fields(Message=message)))))


def refused_ipn(message: str) -> SnsMessageError:
    with pytest.raises(SnsMessageError) as caught:
        ipn_from(message)
    assert caught.value.reason is Rejection.MALFORMED
    return caught.value


def accept(raw: bytes, **kwargs):
    options = {"seller_id": SELLER_ID, "topic_arn": TOPIC_ARN, "at": NOW} | kwargs
    return verify_ipn(raw, policy=LIVE, certificates=RecordingCertificateSource(certificate_pem()), **options)


def refusal_reason(raw: bytes, **kwargs) -> Rejection:
    with pytest.raises(SnsVerificationError) as caught:
        accept(raw, **kwargs)
    return caught.value.reason


# --- reading Amazon Pay's Message -----------------------------------------------------------------


def test_amazon_pays_published_sample_is_verified_and_read_end_to_end():
    ipn = verify_ipn(
        AMAZON_PAY_SAMPLE.read_bytes(),
        policy=LIVE,
        certificates=StaticCertificateSource(AMAZON_PAY_SAMPLE_CERT.read_bytes()),
        seller_id=AMAZON_PAY_SAMPLE_SELLER,
        topic_arn="arn:aws:sns:us-east-1:291180941288:A3BXB0YN3XH17HAQR8184NJXADU",
        at=AMAZON_PAY_SAMPLE_TIME,
    )

    assert ipn.notification_type == "OrderReferenceNotification"
    assert ipn.seller_id == "AQR8184NJXADU"
    assert ipn.release_environment == "Sandbox"
    assert ipn.marketplace_id == "A3BXB0YN3XH17H"
    assert ipn.notification_reference_id == "1111111-1111-11111-1111-11111EXAMPLE"
    assert ipn.timestamp == datetime(2015, 4, 30, 0, 6, 49, 370000, tzinfo=UTC)
    assert ipn.is_sample is True
    assert ipn.version == "2013-01-01"
    assert ipn.message_id == "15e7412b-e9ac-5f6a-b6df-0c909df567a0"
    assert ipn.notification_data.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    assert (
        "<AmazonOrderReferenceId>P01-0000000-0000000-000000</AmazonOrderReferenceId>" in ipn.notification_data
    )


@pytest.mark.parametrize(
    ("sample", "notification_type", "seller_id", "marketplace_id", "environment"),
    [
        ("AuthorizationNotification2.json", "PaymentAuthorize", "A37GX652OWOXVH", "623690", "Sandbox"),
        ("CaptureNotification_Multicurrency.json", "PaymentCapture", "AOPZVV2STP28T", "136311", "Sandbox"),
        (
            "ChargebackNotification_Service.json",
            "Chargeback Detailed Notification",
            "A08593053M41F7TQ7YR7W",
            "165570",
            "Live",
        ),
    ],
)
def test_real_amazon_pay_notifications_are_read(
    sample, notification_type, seller_id, marketplace_id, environment
):
    ipn = parse_ipn_message(parse_envelope((FIXTURES / "amazon-pay-sdk-java" / sample).read_bytes()))

    assert (ipn.notification_type, ipn.seller_id, ipn.marketplace_id, ipn.release_environment) == (
        notification_type,
        seller_id,
        marketplace_id,
        environment,
    )
    assert ipn.is_sample is False
    assert ipn.notification_data.startswith('<?xml version="1.0" encoding="UTF-8"?><')


def test_a_notification_we_sign_is_verified_and_read():
    ipn = accept(signed_notification())

    assert ipn.notification_type == "PaymentAuthorize"
    assert ipn.seller_id == SELLER_ID
    assert ipn.topic_arn == TOPIC_ARN
    assert ipn.notification_data == AUTHORIZATION_XML
    assert ipn.timestamp == datetime(2026, 1, 15, 11, 59, 0, 100000, tzinfo=UTC)


def test_only_a_notification_carries_an_ipn():
    raw = (FIXTURES / "aws-sdk-java-v2" / "subscription-confirmation.json").read_bytes()

    with pytest.raises(SnsMessageError, match="only a Notification"):
        parse_ipn_message(parse_envelope(raw))


def test_verify_ipn_refuses_a_confirmation_in_place_of_a_notification():
    raw = (FIXTURES / "aws-sdk-java-v2" / "unsubscribe-confirmation.json").read_bytes()

    assert refusal_reason(raw) == Rejection.MALFORMED


@pytest.mark.parametrize(
    "message",
    [
        "",
        "not json",
        "[]",
        '{"SellerId": "A2K7NDRCTOTPW9"}',  # most fields missing
        '{"SellerId": "x", "SellerId": "y"}',  # duplicate key
        "You have chosen to subscribe to the topic ...",  # the text a confirmation carries
    ],
)
def test_a_message_that_is_not_amazon_pays_json_is_refused(message):
    refused_ipn(message)


@pytest.mark.parametrize(
    "missing",
    [
        "NotificationType",
        "SellerId",
        "ReleaseEnvironment",
        "MarketplaceID",
        "NotificationReferenceId",
        "Timestamp",
    ],
)
def test_a_notification_without_a_required_field_is_refused(missing):
    document = json.loads(ipn_message())
    del document[missing]

    assert missing in str(refused_ipn(json.dumps(document)))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("SellerId", 123),
        ("MarketplaceID", 623690),  # Amazon sends even numeric marketplace ids as strings
        ("IsSample", "true"),
        ("ReleaseEnvironment", "Production"),
        ("Timestamp", "30/04/2015"),
        ("NotificationData", None),
    ],
)
def test_a_notification_field_of_the_wrong_kind_is_refused(field, value):
    document = json.loads(ipn_message())
    document[field] = value

    refused_ipn(json.dumps(document))


# --- XML inside the notification ------------------------------------------------------------------


def ipn_with_xml(xml: str) -> str:
    return ipn_message(notification_data=xml)


def test_malformed_notification_xml_is_refused():
    assert "well-formed" in str(
        refused_ipn(ipn_with_xml("<AuthorizationNotification><Oops></AuthorizationNotification>"))
    )


@pytest.mark.parametrize("encoding", ["ATF-8", "utf-32", "idna", "undefined", "punycode"])
def test_notification_xml_in_an_encoding_expat_cannot_use_is_refused_as_malformed(encoding):
    # Found by the fuzz test: expat asks Python's codecs for the declared encoding, which raise
    # LookupError, ValueError or UnicodeError - a crash (HTTP 500) instead of a refusal.
    xml = f'<?xml version="1.0" encoding="{encoding}"?><AuthorizationNotification/>'
    assert "unknown or unusable encoding" in str(refused_ipn(ipn_with_xml(xml)))


def test_an_xxe_payload_is_refused_at_its_doctype_before_any_entity_is_resolved():
    xxe = (
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        "<AuthorizationNotification>&x;</AuthorizationNotification>"
    )

    assert "DTD" in str(refused_ipn(ipn_with_xml(xxe)))


def test_a_billion_laughs_payload_is_refused_without_expanding_it():
    lol = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + "".join(
            f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i else "&lol;" * 10}">' for i in range(10)
        )
        + "]><lolz>&lol9;</lolz>"
    )

    refused_ipn(ipn_with_xml(lol))


def test_any_doctype_at_all_is_refused():
    refused_ipn(
        ipn_with_xml('<?xml version="1.0"?><!DOCTYPE AuthorizationNotification><AuthorizationNotification/>')
    )


def test_an_external_parameter_entity_is_refused():
    refused_ipn(ipn_with_xml('<!DOCTYPE r [<!ENTITY % p SYSTEM "http://127.0.0.1:9/x.dtd"> %p;]><r/>'))


# --- this store's notifications only --------------------------------------------------------------


def test_a_genuine_notification_for_another_seller_is_refused_as_wrong_seller():
    raw = signed_notification(Message=ipn_message(seller_id="A1OTHERSELLER9"))

    assert refusal_reason(raw) == Rejection.WRONG_SELLER


def test_a_genuine_notification_from_another_topic_is_refused_as_wrong_topic():
    # Anyone can publish SNS-signed messages to a topic of their own; the TopicArn tells them apart.
    raw = signed_notification(TopicArn=f"arn:aws:sns:us-east-1:123456789012:{SELLER_ID}")

    assert refusal_reason(raw) == Rejection.WRONG_TOPIC


def test_without_a_configured_topic_any_of_amazon_pays_topics_for_this_seller_is_accepted():
    raw = signed_notification(TopicArn=f"arn:aws:sns:eu-west-1:291180941288:A1G8446IYHA4MR{SELLER_ID}")

    assert accept(raw, topic_arn=None).topic_arn.startswith("arn:aws:sns:eu-west-1")


@pytest.mark.parametrize(
    "topic",
    [
        # An attacker's own topic: SNS signs it all the same, and the Message names our seller.
        f"arn:aws:sns:us-east-1:111122223333:A3BXB0YN3XH17H{SELLER_ID}",
        f"arn:aws:sns:us-east-1:111122223333:attackers-own-topic-{SELLER_ID}",
        # Amazon Pay's account, but another seller's topic.
        "arn:aws:sns:us-east-1:291180941288:A3BXB0YN3XH17HA1OTHERSELLER9",
        "not-an-arn",
    ],
)
def test_without_a_configured_topic_a_topic_outside_amazon_pays_account_is_refused(topic):
    raw = signed_notification(TopicArn=topic)

    assert refusal_reason(raw, topic_arn=None) == Rejection.WRONG_TOPIC


def test_a_notification_for_this_store_passes_the_store_check():
    ipn = ipn_from(ipn_message())

    check_belongs_to_store(ipn, seller_id=SELLER_ID, topic_arn=TOPIC_ARN)


def test_an_empty_seller_id_is_a_configuration_error():
    with pytest.raises(ValueError, match="seller_id"):
        check_belongs_to_store(ipn_from(ipn_message()), seller_id="")


def test_verification_comes_before_the_store_check():
    # A forgery for another seller is reported as a forgery: nothing is believed before the signature.
    raw = signed_notification(key=rsa_key("attacker"), Message=ipn_message(seller_id="A1OTHERSELLER9"))

    assert refusal_reason(raw) == Rejection.BAD_SIGNATURE


# --- duplicates and order: what the verifier hands the inbox --------------------------------------


def test_a_duplicate_delivery_reads_as_the_same_notification_for_the_inbox_to_deduplicate():
    raw = signed_notification()

    first, duplicate = accept(raw), accept(raw)

    assert first == duplicate
    assert (first.message_id, first.notification_reference_id) == (
        duplicate.message_id,
        duplicate.notification_reference_id,
    )


def test_notifications_arriving_out_of_order_each_verify_and_keep_their_own_timestamps():
    older = signed_notification(
        MessageId="00000000-0000-0000-0000-000000000001",
        Message=ipn_message(timestamp="2026-01-15T11:00:00.000Z", reference_id="first"),
    )
    newer = signed_notification(
        MessageId="00000000-0000-0000-0000-000000000002",
        Message=ipn_message(timestamp="2026-01-15T11:30:00.000Z", reference_id="second"),
    )

    received = [accept(newer), accept(older)]

    assert [ipn.notification_reference_id for ipn in sorted(received, key=lambda ipn: ipn.timestamp)] == [
        "first",
        "second",
    ]
    assert received[0].message_id != received[1].message_id
