"""verify and TrustPolicy: genuine SNS signatures pass; forgeries, tampering and untrusted
certificates are refused with the right reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from test_sns_support import (
    AMAZON_PAY_SAMPLE,
    AMAZON_PAY_SAMPLE_CERT,
    AMAZON_PAY_SAMPLE_TIME,
    AMAZON_PAY_SAMPLES,
    AWS_SAMPLE_CERT,
    AWS_SAMPLE_TIME,
    AWS_SAMPLES,
    NOW,
    SANDBOX_PREFIX,
    RecordingCertificateSource,
    body,
    certificate_pem,
    notification_fields,
    rsa_key,
    sign,
    signed_notification,
)

from paydesk.amazonpay.sns import (
    Rejection,
    SnsVerificationError,
    StaticCertificateSource,
    TrustPolicy,
    parse_envelope,
    verify,
)

LIVE = TrustPolicy.live()
SANDBOX = TrustPolicy.offline_sandbox(SANDBOX_PREFIX)


def refusal_reason(raw: bytes, *, pem: bytes | None = None, policy=LIVE, at=NOW) -> Rejection:
    with pytest.raises(SnsVerificationError) as caught:
        verify(
            parse_envelope(raw),
            policy=policy,
            certificates=RecordingCertificateSource(pem or certificate_pem()),
            at=at,
        )
    assert str(caught.value)  # every refusal says why, in words
    return caught.value.reason


def accepts(raw: bytes, *, pem: bytes | None = None, policy=LIVE, at=NOW) -> bool:
    verify(
        parse_envelope(raw),
        policy=policy,
        certificates=RecordingCertificateSource(pem or certificate_pem()),
        at=at,
    )
    return True


# --- genuine messages -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sample",
    [
        "notification-no-subject.json",
        "notification-with-subject.json",
        "notification-signature-v2.json",
        "subscription-confirmation.json",
        "unsubscribe-confirmation.json",
    ],
)
def test_real_sns_messages_verify_with_the_real_sns_certificate(sample):
    # Messages and certificate captured from live SNS by AWS (aws-sdk-java-v2 test resources).
    raw = (AWS_SAMPLES / sample).read_bytes()

    assert accepts(raw, pem=AWS_SAMPLE_CERT.read_bytes(), at=AWS_SAMPLE_TIME)


def test_amazon_pays_published_ipn_verifies_with_its_certificate_at_the_time_it_was_sent():
    raw = AMAZON_PAY_SAMPLE.read_bytes()

    assert accepts(raw, pem=AMAZON_PAY_SAMPLE_CERT.read_bytes(), at=AMAZON_PAY_SAMPLE_TIME)


def test_amazon_pays_published_ipn_is_refused_today_because_its_certificate_expired_in_2015():
    raw = AMAZON_PAY_SAMPLE.read_bytes()

    assert refusal_reason(raw, pem=AMAZON_PAY_SAMPLE_CERT.read_bytes(), at=datetime.now(UTC)) == (
        Rejection.CERTIFICATE_EXPIRED
    )


@pytest.mark.parametrize("version", ["1", "2"])
def test_a_message_we_sign_with_either_signature_version_verifies(version):
    assert accepts(signed_notification(version=version))


def test_verification_defaults_to_now_for_the_certificate_validity():
    now = datetime.now(UTC)
    pem = certificate_pem(not_before=now - timedelta(days=1), not_after=now + timedelta(days=1))

    verify(parse_envelope(signed_notification()), policy=LIVE, certificates=RecordingCertificateSource(pem))


def test_a_naive_time_is_a_programming_error_not_a_refusal():
    with pytest.raises(ValueError, match="timezone-aware"):
        accepts(signed_notification(), at=datetime(2026, 1, 15))


# --- forged and tampered --------------------------------------------------------------------------


def test_a_message_signed_by_someone_elses_key_is_refused_as_a_bad_signature():
    assert refusal_reason(signed_notification(key=rsa_key("attacker"))) == Rejection.BAD_SIGNATURE


def test_a_signature_of_random_bytes_is_refused():
    fields = sign(notification_fields())
    fields["Signature"] = "A" * 344  # 256 zero bytes

    assert refusal_reason(body(fields)) == Rejection.BAD_SIGNATURE


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("Message", json.dumps({"SellerId": "A2K7NDRCTOTPW9", "NotificationType": "PaymentCapture"})),
        ("Timestamp", "2026-01-15T11:59:01.625Z"),
        ("TopicArn", "arn:aws:sns:us-east-1:123456789012:attacker"),
        ("MessageId", "11111111-bd21-547d-baff-e6112b06bfed"),
        ("Type", "SubscriptionConfirmation"),
    ],
)
def test_changing_any_signed_field_after_signing_is_refused(field, value):
    fields = sign(notification_fields())
    fields[field] = value
    if field == "Type":
        fields |= {
            "SubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription",
            "Token": "t",
        }

    assert refusal_reason(body(fields)) == Rejection.BAD_SIGNATURE


def test_adding_a_subject_after_signing_is_refused():
    fields = sign(notification_fields())
    fields["Subject"] = "injected"

    assert refusal_reason(body(fields)) == Rejection.BAD_SIGNATURE


def test_a_version_1_signature_presented_as_version_2_is_refused():
    fields = sign(notification_fields(), version="1")
    fields["SignatureVersion"] = "2"

    assert refusal_reason(body(fields)) == Rejection.BAD_SIGNATURE


def test_a_tampered_real_amazon_pay_ipn_is_refused():
    raw = AMAZON_PAY_SAMPLE.read_bytes().replace(b"AmazonClosed", b"SellerClosed")

    assert refusal_reason(raw, pem=AMAZON_PAY_SAMPLE_CERT.read_bytes(), at=AMAZON_PAY_SAMPLE_TIME) == (
        Rejection.BAD_SIGNATURE
    )


@pytest.mark.parametrize("version", ["", "3", "1.0", "SHA1"])
def test_an_unknown_signature_version_is_refused_before_any_certificate_is_fetched(version):
    fields = sign(notification_fields())
    fields["SignatureVersion"] = version
    source = RecordingCertificateSource(certificate_pem())

    with pytest.raises(SnsVerificationError) as caught:
        verify(parse_envelope(body(fields)), policy=LIVE, certificates=source, at=NOW)

    assert caught.value.reason == (
        Rejection.MALFORMED if version == "" else Rejection.UNSUPPORTED_SIGNATURE_VERSION
    )
    assert source.requested == []


def test_a_replay_verifies_like_snss_own_retry_and_keeps_the_message_id_the_inbox_deduplicates_on():
    raw = signed_notification()

    first, replay = parse_envelope(raw), parse_envelope(raw)
    assert accepts(raw) and accepts(raw)
    assert first.message_id == replay.message_id


# --- the signing certificate URL ------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-d6d679a1d18e95c2f9ffcf11f4f9e198.pem",
        "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-b95095beb82e8f6a046b3aafc7f4149a.pem",
        "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-7506a1e35b36ef5a444dd1a8e7cc3ed8.pem",
        "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-0123.pem",
        "https://sns.us-gov-west-1.amazonaws.com/SimpleNotificationService-0123.pem",
        "https://sns.us-east-1.amazonaws.com/certs/SimpleNotificationService.pem",
    ],
)
def test_certificate_urls_on_sns_hosts_are_trusted(url):
    LIVE.check_cert_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://sns.us-east-1.amazonaws.com/SimpleNotificationService-0123.pem",  # plain http
        "https://sns.us-east-1.amazonaws.com:443/SimpleNotificationService-0123.pem",  # a port
        "https://sns.us-east-1.amazonaws.com:8443/SimpleNotificationService-0123.pem",
        "https://user@sns.us-east-1.amazonaws.com/SimpleNotificationService-0123.pem",  # userinfo
        "https://evil.com@sns.us-east-1.amazonaws.com/x.pem",
        "https://sns.us-east-1.amazonaws.com@evil.com/x.pem",
        "https://sns.us-east-1.amazonaws.com.evil.com/SimpleNotificationService-0123.pem",  # lookalikes
        "https://evilsns.us-east-1.amazonaws.com/SimpleNotificationService-0123.pem",
        "https://sns.us-east-1.amazonaws.co/SimpleNotificationService-0123.pem",
        "https://sns.us-east-1.amazonaws.com./SimpleNotificationService-0123.pem",
        "https://sns.evil.amazonaws.com/SimpleNotificationService-0123.pem",
        "https://sns.s3-us-west-2.amazonaws.com/SimpleNotificationService-0123.pem",  # an S3 bucket "sns"
        "https://sns.s3.amazonaws.com/SimpleNotificationService-0123.pem",
        "https://sns.us-east-1.evil.amazonaws.com/SimpleNotificationService-0123.pem",
        "https://SNS.US-EAST-1.AMAZONAWS.COM/SimpleNotificationService-0123.pem",
        "https://invalid.us-east-1.amazonaws.com/SimpleNotificationService-0123.pem",
        "https://sns.foo.amazon.com/large.file?file=ddos.pem",  # from Amazon Pay's own SDK tests
        "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0123.pem?x=1",  # query, fragment
        "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0123.pem#x",
        "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0123.txt",  # not a .pem
        "https://sns.us-east-1.amazonaws.com/",
        "https://sns.us-east-1.amazonaws.com/../evil.pem",  # traversal, encodings, whitespace
        "https://sns.us-east-1.amazonaws.com/%2e%2e/evil.pem",
        "https://sns.us-east-1.amazonaws.com/a b.pem",
        "https://sns.us-east-1.amazonaws.com/x.pem\n",
        " https://sns.us-east-1.amazonaws.com/x.pem",
        "https://sns.us-east-1.amazonaws.com\\@evil.com/x.pem",
        "//sns.us-east-1.amazonaws.com/x.pem",
        "file:///etc/ssl/sns.pem",
        SANDBOX_PREFIX + "SimpleNotificationService-sandbox.pem",  # the sandbox's, in live mode
        "",
    ],
)
def test_certificate_urls_anywhere_else_are_untrusted_and_never_fetched(url):
    source = RecordingCertificateSource(certificate_pem())

    with pytest.raises(SnsVerificationError) as caught:
        verify(
            parse_envelope(signed_notification(SigningCertURL=url or " ")),
            policy=LIVE,
            certificates=source,
            at=NOW,
        )

    assert caught.value.reason == Rejection.UNTRUSTED_CERT_URL
    assert source.requested == []


def test_the_offline_sandboxs_certificate_is_trusted_only_by_the_sandbox_policy():
    raw = signed_notification(SigningCertURL=SANDBOX_PREFIX + "SimpleNotificationService-sandbox.pem")

    assert accepts(raw, policy=SANDBOX)
    assert refusal_reason(raw, policy=LIVE) == Rejection.UNTRUSTED_CERT_URL


def test_the_sandbox_policy_still_trusts_real_sns_certificates():
    assert accepts(signed_notification(), policy=SANDBOX)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8001/sandbox/sns/../evil.pem",
        "http://127.0.0.1:8001/sandbox/sns/x.pem?y",
        "http://127.0.0.1:8001/sandbox/snsx/x.pem",
        "http://127.0.0.1:80011/sandbox/sns/x.pem",
        "http://127.0.0.1:8001@evil.com/sandbox/sns/x.pem",
        "https://127.0.0.1:8001/sandbox/sns/x.pem",
        "http://127.0.0.1:8001/sandbox/sns/x.txt",
    ],
)
def test_the_sandbox_policy_trusts_nothing_outside_its_prefix(url):
    with pytest.raises(SnsVerificationError) as caught:
        SANDBOX.check_cert_url(url)
    assert caught.value.reason == Rejection.UNTRUSTED_CERT_URL


@pytest.mark.parametrize(
    "prefix",
    [
        "http://127.0.0.1:8001/sandbox/sns",  # must end in /
        "http://127.0.0.1:8001",
        "ftp://127.0.0.1/sandbox/",
        "http://user@127.0.0.1:8001/sandbox/",
        "http://127.0.0.1:8001/sandbox/?x=/",
        "127.0.0.1:8001/sandbox/",
    ],
)
def test_a_sandbox_prefix_that_could_be_extended_to_another_host_is_a_configuration_error(prefix):
    with pytest.raises(ValueError, match="prefix"):
        TrustPolicy.offline_sandbox(prefix)


# --- the certificate itself -----------------------------------------------------------------------


def test_an_expired_certificate_is_refused():
    pem = certificate_pem(not_before=NOW - timedelta(days=400), not_after=NOW - timedelta(seconds=1))

    assert refusal_reason(signed_notification(), pem=pem) == Rejection.CERTIFICATE_EXPIRED


def test_a_certificate_not_yet_valid_is_refused():
    pem = certificate_pem(not_before=NOW + timedelta(minutes=1), not_after=NOW + timedelta(days=365))

    assert refusal_reason(signed_notification(), pem=pem) == Rejection.CERTIFICATE_EXPIRED


def test_a_certificate_is_accepted_on_the_first_and_last_second_of_its_validity():
    not_before, not_after = NOW - timedelta(days=1), NOW + timedelta(days=1)
    pem = certificate_pem(not_before=not_before, not_after=not_after)

    assert accepts(signed_notification(), pem=pem, at=not_before)
    assert accepts(signed_notification(), pem=pem, at=not_after)


@pytest.mark.parametrize(
    ("common_name", "dns_names"),
    [
        ("evil.example.com", ("evil.example.com",)),
        ("sns.amazonaws.com.evil.com", ()),
        ("*.amazonaws.com", ("*.amazonaws.com",)),
        ("sqs.amazonaws.com", ("sqs.amazonaws.com",)),
        (None, ()),
    ],
)
def test_a_certificate_issued_for_another_name_is_refused(common_name, dns_names):
    pem = certificate_pem(common_name=common_name, dns_names=dns_names)

    assert refusal_reason(signed_notification(), pem=pem) == Rejection.CERTIFICATE_NOT_FOR_SNS


@pytest.mark.parametrize(
    ("common_name", "dns_names"),
    [
        ("sns.amazonaws.com", ()),
        ("Amazon", ("sns.amazonaws.com",)),
        (None, ("other.example", "sns.amazonaws.com")),
    ],
)
def test_a_certificate_naming_sns_in_its_common_name_or_alternative_names_is_accepted(common_name, dns_names):
    assert accepts(signed_notification(), pem=certificate_pem(common_name=common_name, dns_names=dns_names))


def test_the_sandboxs_certificate_must_also_be_issued_for_sns():
    raw = signed_notification(SigningCertURL=SANDBOX_PREFIX + "SimpleNotificationService-sandbox.pem")
    pem = certificate_pem(common_name="127.0.0.1", dns_names=("localhost",))

    assert refusal_reason(raw, pem=pem, policy=SANDBOX) == Rejection.CERTIFICATE_NOT_FOR_SNS


def test_an_unreadable_certificate_file_is_refused_as_unavailable():
    with pytest.raises(SnsVerificationError) as caught:
        StaticCertificateSource(b"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    assert caught.value.reason == Rejection.CERTIFICATE_UNAVAILABLE
    assert caught.value.retryable


def test_the_untrusted_cert_url_in_amazon_pays_own_negative_sample_is_refused():
    raw = (AMAZON_PAY_SAMPLES / "ipn-untrusted-cert-url.json").read_bytes()

    assert refusal_reason(raw, pem=AMAZON_PAY_SAMPLE_CERT.read_bytes(), at=AMAZON_PAY_SAMPLE_TIME) == (
        Rejection.UNTRUSTED_CERT_URL
    )


def test_the_certificate_url_is_checked_before_the_signature_so_forgeries_never_cause_a_fetch():
    raw = signed_notification(key=rsa_key("attacker"), SigningCertURL="https://evil.example/sns.pem")
    source = RecordingCertificateSource(certificate_pem())

    with pytest.raises(SnsVerificationError) as caught:
        verify(parse_envelope(raw), policy=LIVE, certificates=source, at=NOW)

    assert caught.value.reason == Rejection.UNTRUSTED_CERT_URL
    assert source.requested == []
