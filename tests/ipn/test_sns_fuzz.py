"""Property tests: whatever arrives, the parsers return a parsed message or raise their own error."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from test_sns_support import AMAZON_PAY_SAMPLE, confirmation_fields, ipn_message, notification_fields, sign

from paydesk.amazonpay.sns import (
    IpnMessage,
    MessageType,
    SnsMessage,
    SnsMessageError,
    canonical_string,
    parse_envelope,
    parse_ipn_message,
)

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ENVELOPE_KEYS = [
    "Type",
    "MessageId",
    "TopicArn",
    "Message",
    "Timestamp",
    "SignatureVersion",
    "Signature",
    "SigningCertURL",
    "Subject",
    "SubscribeURL",
    "Token",
    "UnsubscribeURL",
]
IPN_KEYS = [
    "NotificationType",
    "SellerId",
    "ReleaseEnvironment",
    "MarketplaceID",
    "NotificationReferenceId",
    "Timestamp",
    "IsSample",
    "NotificationData",
    "Version",
    "EventType",
]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=10,
)
# Values that are usually plausible, sometimes anything at all.
plausible = {
    "Type": st.sampled_from([t.value for t in MessageType]) | st.text(max_size=30),
    "Timestamp": st.sampled_from(["2015-04-30T00:06:49.434Z", "2015-11-21T03:55:19Z"]) | st.text(max_size=30),
    "SignatureVersion": st.sampled_from(["1", "2"]) | st.text(max_size=3),
    "Signature": st.sampled_from(["QUJD", "QUJDRA==", ""]) | st.text(max_size=20),
    "ReleaseEnvironment": st.sampled_from(["Sandbox", "Live"]) | st.text(max_size=10),
    "IsSample": st.booleans() | json_values,
    "NotificationData": st.sampled_from(["<a/>", "<a>", '<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>'])
    | st.text(),
}


def documents(keys: list[str]) -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries(
        {},
        optional={key: plausible.get(key, st.text(max_size=40)) | json_values for key in keys},
    )


def parse_or_own_error(raw: bytes) -> SnsMessage | None:
    try:
        msg = parse_envelope(raw)
    except SnsMessageError:
        return None
    assert isinstance(msg, SnsMessage)
    assert isinstance(canonical_string(msg), bytes)  # anything parsed can be checked for a signature
    return msg


def ipn_or_own_error(msg: SnsMessage) -> IpnMessage | None:
    try:
        ipn = parse_ipn_message(msg)
    except SnsMessageError:
        return None
    assert isinstance(ipn, IpnMessage)
    return ipn


@FUZZ
@given(st.binary(max_size=2048))
@example(b"\xef\xbb\xbf{}")  # a UTF-8 byte order mark
@example(b'{"Type": "Notification", "Message": "\\udfff"}')
@example(b"[" * 5000)
@example(b"1" * 5000)
def test_arbitrary_bytes_either_parse_or_raise_the_parsers_own_error(raw):
    parse_or_own_error(raw)


@FUZZ
@given(documents(ENVELOPE_KEYS))
def test_arbitrary_json_objects_either_parse_or_raise_the_parsers_own_error(document):
    parse_or_own_error(json.dumps(document).encode())


@FUZZ
@given(st.data())
def test_a_valid_envelope_with_random_bytes_changed_either_parses_or_raises_the_parsers_own_error(data):
    raw = bytearray(AMAZON_PAY_SAMPLE.read_bytes())
    for _ in range(data.draw(st.integers(1, 8))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))

    msg = parse_or_own_error(bytes(raw))
    if msg is not None:
        ipn_or_own_error(msg)


@FUZZ
@given(
    st.sampled_from([notification_fields, confirmation_fields]), st.sampled_from(ENVELOPE_KEYS), json_values
)
def test_a_signed_envelope_with_one_field_replaced_either_parses_or_raises_the_parsers_own_error(
    fields, key, value
):
    document = sign(fields())
    document[key] = value

    parse_or_own_error(json.dumps(document).encode())


@FUZZ
@given(documents(IPN_KEYS))
def test_arbitrary_inner_messages_either_read_as_an_ipn_or_raise_the_parsers_own_error(document):
    msg = parse_envelope(json.dumps(sign(notification_fields(Message=json.dumps(document)))).encode())

    ipn_or_own_error(msg)


@FUZZ
@given(st.text(max_size=300))
@example(ipn_message()[:-1])
def test_arbitrary_message_text_either_reads_as_an_ipn_or_raises_the_parsers_own_error(text):
    msg = parse_or_own_error(json.dumps(sign(notification_fields(Message=text))).encode())

    if msg is not None:  # an empty Message or a lone surrogate stops at the envelope
        ipn_or_own_error(msg)


@FUZZ
@given(st.text(max_size=300))
def test_arbitrary_notification_data_either_reads_or_raises_the_parsers_own_error(xml):
    msg = parse_envelope(
        json.dumps(sign(notification_fields(Message=ipn_message(notification_data=xml)))).encode()
    )

    ipn = ipn_or_own_error(msg)
    if ipn is not None:
        assert ipn.notification_data == xml
