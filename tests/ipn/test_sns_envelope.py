"""parse_envelope and canonical_string: what SNS sends, and what we refuse to read."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from test_sns_support import (
    AMAZON_PAY_SAMPLE,
    AWS_SAMPLES,
    body,
    confirmation_fields,
    notification_fields,
    sign,
    string_to_sign,
)

from paydesk.amazonpay.sns import (
    DEFAULT_MAX_BYTES,
    MessageType,
    Rejection,
    SnsMessageError,
    canonical_string,
    parse_envelope,
)


def test_amazon_pays_published_ipn_sample_parses_into_its_fields():
    msg = parse_envelope(AMAZON_PAY_SAMPLE.read_bytes())

    assert msg.type is MessageType.NOTIFICATION
    assert msg.message_id == "15e7412b-e9ac-5f6a-b6df-0c909df567a0"
    assert msg.topic_arn == "arn:aws:sns:us-east-1:291180941288:A3BXB0YN3XH17HAQR8184NJXADU"
    assert msg.timestamp == "2015-04-30T00:06:49.434Z"
    assert msg.published_at == datetime(2015, 4, 30, 0, 6, 49, 434000, tzinfo=UTC)
    assert msg.signature_version == "1"
    assert len(msg.signature) == 256  # a 2048-bit RSA signature
    assert msg.signing_cert_url.endswith("/SimpleNotificationService-d6d679a1d18e95c2f9ffcf11f4f9e198.pem")
    assert msg.message.startswith('{"NotificationReferenceId":"1111111-1111-11111-1111-11111EXAMPLE"')
    assert msg.subject is None
    assert msg.subscribe_url is None
    assert msg.token is None
    assert msg.unsubscribe_url.startswith("https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe")


def test_a_subscription_confirmation_keeps_its_subscribe_url_and_token():
    msg = parse_envelope((AWS_SAMPLES / "subscription-confirmation.json").read_bytes())

    assert msg.type is MessageType.SUBSCRIPTION_CONFIRMATION
    assert msg.subscribe_url.startswith("https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription")
    assert msg.token.startswith("2336412f37fb687f")
    assert msg.message.startswith("You have chosen to subscribe")
    assert "\n" in msg.message  # the JSON escape is decoded: the signature covers the real newline


def test_the_canonical_string_of_a_notification_follows_awss_field_order():
    msg = parse_envelope((AWS_SAMPLES / "notification-with-subject.json").read_bytes())

    assert canonical_string(msg) == (
        b"Message\nHello! This message has a subject.\n"
        b"MessageId\n26858270-545e-5848-82a2-e05566af3dcf\n"
        b"Subject\nMy message subject\n"
        b"Timestamp\n2026-03-06T19:53:21.424Z\n"
        b"TopicArn\narn:aws:sns:us-west-2:131990247566:dongie-standard-topic\n"
        b"Type\nNotification\n"
    )


def test_the_canonical_string_leaves_out_a_subject_that_was_not_sent():
    msg = parse_envelope((AWS_SAMPLES / "notification-no-subject.json").read_bytes())

    assert b"Subject" not in canonical_string(msg)
    assert canonical_string(msg).startswith(b"Message\nThis notification has no subject.\nMessageId\n")


@pytest.mark.parametrize("sample", ["subscription-confirmation.json", "unsubscribe-confirmation.json"])
def test_the_canonical_string_of_a_confirmation_covers_subscribe_url_and_token(sample):
    raw = json.loads((AWS_SAMPLES / sample).read_bytes())

    assert canonical_string(parse_envelope((AWS_SAMPLES / sample).read_bytes())) == string_to_sign(raw)
    assert b"\nSubscribeURL\n" in string_to_sign(raw)


def test_the_canonical_string_of_a_confirmation_never_includes_a_subject():
    fields = sign(confirmation_fields(Subject="not signed for confirmations"))

    msg = parse_envelope(body(fields))

    assert msg.subject is None
    assert b"Subject" not in canonical_string(msg)


def test_unknown_fields_such_as_message_attributes_are_ignored():
    fields = sign(notification_fields())
    fields["MessageAttributes"] = {"AWS.SNS.MOBILE": {"Type": "String", "Value": "x"}}

    assert parse_envelope(body(fields)).message_id == fields["MessageId"]


# --- refused --------------------------------------------------------------------------------------


def refusal(raw: bytes, **kwargs) -> SnsMessageError:
    with pytest.raises(SnsMessageError) as caught:
        parse_envelope(raw, **kwargs)
    assert caught.value.reason is Rejection.MALFORMED
    return caught.value


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"{",
        b'{"Type": "Notification",}',
        b"not json at all",
        b"[]",
        b'"Notification"',
        b"null",
        b"<xml/>",
    ],
)
def test_malformed_json_is_refused_as_malformed(raw):
    refusal(raw)


def test_a_10_megabyte_body_is_refused_without_being_parsed():
    huge = b'{"Message": "' + b"A" * (10 * 1024 * 1024) + b'"}'

    assert "bytes" in str(refusal(huge))


def test_the_size_cap_is_the_callers_choice():
    raw = (AMAZON_PAY_SAMPLE).read_bytes()

    refusal(raw, max_bytes=len(raw) - 1)
    assert parse_envelope(raw, max_bytes=len(raw)).message_id
    assert len(raw) < DEFAULT_MAX_BYTES


@pytest.mark.parametrize("raw", [b"\xff\xfe{}", b'{"Type": "Notif\xe9cation"}', b"\xc3\x28"])
def test_bytes_that_are_not_utf8_are_refused(raw):
    assert "UTF-8" in str(refusal(raw))


def test_a_body_naming_a_field_twice_is_refused():
    # A verifier and a consumer that pick different duplicates could disagree on what was signed.
    fields = sign(notification_fields())
    raw = body(fields)[:-2] + b',\n  "Message": "{\\"SellerId\\": \\"SOMEONE-ELSE\\"}"\n}'

    assert "'Message' more than once" in str(refusal(raw))


def test_nan_and_infinity_are_not_json():
    refusal(b'{"Type": NaN}')
    refusal(b'{"Type": -Infinity}')


def test_json_nested_too_deeply_is_refused_rather_than_crashing():
    refusal(b"[" * 200_000 + b"]" * 200_000)


def test_an_unknown_type_is_refused():
    assert "unknown Type" in str(refusal(body(sign(notification_fields(Type="Notice")))))


@pytest.mark.parametrize(
    "missing", ["Type", "MessageId", "TopicArn", "Message", "Timestamp", "Signature", "SigningCertURL"]
)
def test_a_notification_without_a_required_field_is_refused(missing):
    fields = sign(notification_fields())
    del fields[missing]

    assert missing in str(refusal(body(fields)))


def test_a_notification_without_a_signature_version_is_refused():
    fields = sign(notification_fields())
    del fields["SignatureVersion"]

    refusal(body(fields))


@pytest.mark.parametrize("missing", ["SubscribeURL", "Token"])
def test_a_subscription_confirmation_without_its_url_or_token_is_refused(missing):
    fields = sign(confirmation_fields())
    del fields[missing]

    assert missing in str(refusal(body(fields)))


@pytest.mark.parametrize("field", ["MessageId", "Message", "Timestamp", "Signature", "Subject"])
@pytest.mark.parametrize("value", [1, True, ["x"], {"x": "y"}])
def test_a_field_that_is_not_a_string_is_refused(field, value):
    fields = sign(notification_fields())
    fields[field] = value

    refusal(body(fields))


def test_an_empty_required_field_is_refused():
    refusal(body(sign(notification_fields(MessageId=""))))


@pytest.mark.parametrize("signature", ["not base64!", "QUJD=X", "===="])
def test_a_signature_that_is_not_base64_is_refused(signature):
    fields = sign(notification_fields())
    fields["Signature"] = signature

    assert "base64" in str(refusal(body(fields)))


@pytest.mark.parametrize(
    "timestamp", ["2026-01-15 11:59:00Z", "2026-01-15T11:59:00+01:00", "2026-13-15T11:59:00Z", "yesterday"]
)
def test_a_timestamp_that_is_not_an_iso_utc_time_is_refused(timestamp):
    refusal(body(sign(notification_fields(Timestamp=timestamp))))


def test_a_lone_surrogate_escape_is_refused_as_text_no_signature_could_cover():
    raw = body(sign(notification_fields())).replace(b'"Message": "', b'"Message": "\\ud800', 1)

    assert "Unicode" in str(refusal(raw))


def test_a_hand_built_confirmation_without_a_token_has_no_canonical_string():
    msg = parse_envelope((AWS_SAMPLES / "subscription-confirmation.json").read_bytes())

    with pytest.raises(SnsMessageError, match="no Token"):
        canonical_string(replace(msg, token=None))
