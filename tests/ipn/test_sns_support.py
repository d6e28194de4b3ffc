"""Test helpers for the SNS verifier: our own RSA keys, certificates and SNS-signed messages.

The signing here is written independently of `paydesk.amazonpay.sns.canonical_string` (from AWS's
description of the string to sign), so a mistake in one is not silently copied into the other; the
real AWS and Amazon Pay samples in tests/fixtures/sns/ check both against Amazon's own signatures.
"""

from __future__ import annotations

import base64
import functools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sns"
AWS_SAMPLES = FIXTURES / "aws-sdk-java-v2"
AWS_SAMPLE_CERT = AWS_SAMPLES / "SimpleNotificationService-7506a1e35b36ef5a444dd1a8e7cc3ed8.pem"
# The real SNS certificate above is valid 2025-11-10 .. 2026-10-14; its messages were sent 2026-03-06.
AWS_SAMPLE_TIME = datetime(2026, 3, 7, tzinfo=UTC)
AMAZON_PAY_SAMPLES = FIXTURES / "amazon-pay-sdk-python"
AMAZON_PAY_SAMPLE = AMAZON_PAY_SAMPLES / "ipn-order-reference-sample.json"
AMAZON_PAY_SAMPLE_CERT = AMAZON_PAY_SAMPLES / "sns-test-2015.pem"
# That certificate (CN sns.amazonaws.com) is valid 2014-08-23 .. 2015-08-22; the IPN is of 2015-04-30.
AMAZON_PAY_SAMPLE_TIME = datetime(2015, 5, 1, tzinfo=UTC)
AMAZON_PAY_SAMPLE_SELLER = "AQR8184NJXADU"

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
SELLER_ID = "A2K7NDRCTOTPW9"
TOPIC_ARN = f"arn:aws:sns:us-east-1:291180941288:A3BXB0YN3XH17H{SELLER_ID}"
CERT_URL = (
    "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem"
)
SANDBOX_PREFIX = "http://127.0.0.1:8001/sandbox/sns/"

AUTHORIZATION_XML = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<AuthorizationNotification xmlns="https://mws.amazonservices.com/ipn/OffAmazonPayments/2013-01-01">'
    "<AuthorizationDetails><AmazonAuthorizationId>S01-7922233-4167005-A092060</AmazonAuthorizationId>"
    "<AuthorizationStatus><State>Open</State>"
    "<LastUpdateTimestamp>2026-01-15T11:59:00.000Z</LastUpdateTimestamp></AuthorizationStatus>"
    "</AuthorizationDetails></AuthorizationNotification>"
)


@functools.cache
def rsa_key(name: str = "sns") -> rsa.RSAPrivateKey:
    """One 2048-bit key per name, generated once per test run."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def certificate_pem(
    key: rsa.RSAPrivateKey | None = None,
    *,
    common_name: str | None = "sns.amazonaws.com",
    dns_names: tuple[str, ...] = ("sns.amazonaws.com",),
    not_before: datetime = NOW - timedelta(days=30),
    not_after: datetime = NOW + timedelta(days=335),
) -> bytes:
    key = key or rsa_key()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)] if common_name else [])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Paydesk test CA")]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )
    if dns_names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(name) for name in dns_names]), critical=False
        )
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def string_to_sign(fields: dict[str, str]) -> bytes:
    """AWS: name and value each followed by a newline, names in byte order, Subject only if present."""
    if fields["Type"] == "Notification":
        names = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
    else:
        names = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
    return "".join(f"{name}\n{fields[name]}\n" for name in names if name in fields).encode("utf-8")


def sign(fields: dict[str, str], key: rsa.RSAPrivateKey | None = None, version: str = "1") -> dict[str, str]:
    """`fields` plus SignatureVersion and a genuine Signature by `key`."""
    digest = hashes.SHA1() if version == "1" else hashes.SHA256()
    signature = (key or rsa_key()).sign(string_to_sign(fields), padding.PKCS1v15(), digest)
    return {**fields, "SignatureVersion": version, "Signature": base64.b64encode(signature).decode()}


def ipn_message(
    *,
    seller_id: str = SELLER_ID,
    notification_type: str = "PaymentAuthorize",
    notification_data: str = AUTHORIZATION_XML,
    timestamp: str = "2026-01-15T11:59:00.100Z",
    reference_id: str = "62f086c1-7bdb-4333-814d-b36b0ad591c5",
) -> str:
    """Amazon Pay's inner Message JSON, shaped like docs/amazon-pay-v1.md §7.3."""
    return json.dumps(
        {
            "ReleaseEnvironment": "Sandbox",
            "MarketplaceID": "A3BXB0YN3XH17H",
            "Version": "2013-01-01",
            "NotificationType": notification_type,
            "SellerId": seller_id,
            "NotificationReferenceId": reference_id,
            "Timestamp": timestamp,
            "NotificationData": notification_data,
        }
    )


def notification_fields(**overrides: str) -> dict[str, str]:
    fields = {
        "Type": "Notification",
        "MessageId": "0233a8db-bd21-547d-baff-e6112b06bfed",
        "TopicArn": TOPIC_ARN,
        "Message": ipn_message(),
        "Timestamp": "2026-01-15T11:59:00.625Z",
        "SigningCertURL": CERT_URL,
        "UnsubscribeURL": f"https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={TOPIC_ARN}:1",
    }
    fields.update(overrides)
    return fields


def confirmation_fields(**overrides: str) -> dict[str, str]:
    token = "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92"
    fields = {
        "Type": "SubscriptionConfirmation",
        "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
        "Token": token,
        "TopicArn": TOPIC_ARN,
        "Message": f"You have chosen to subscribe to the topic {TOPIC_ARN}.\nTo confirm the subscription, "
        "visit the SubscribeURL included in this message.",
        "SubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription"
        f"&TopicArn={TOPIC_ARN}&Token={token}",
        "Timestamp": "2026-01-15T11:00:04.751Z",
        "SigningCertURL": CERT_URL,
    }
    fields.update(overrides)
    return fields


def body(fields: dict[str, str]) -> bytes:
    return json.dumps(fields, indent=2).encode("utf-8")


def signed_notification(key: rsa.RSAPrivateKey | None = None, version: str = "1", **overrides: str) -> bytes:
    return body(sign(notification_fields(**overrides), key, version))


class RecordingCertificateSource:
    """A certificate source that serves one PEM and remembers which URLs it was asked for."""

    def __init__(self, pem: bytes) -> None:
        from paydesk.amazonpay.sns import SigningCertificate

        self._certificate = SigningCertificate.from_pem(pem)
        self.requested: list[str] = []

    def certificate(self, url: str):  # -> SigningCertificate
        self.requested.append(url)
        return self._certificate


def test_the_helpers_signature_verifies_with_the_helpers_certificate():
    # Guards the helpers themselves: every "refused" test below relies on "accepted" being reachable.
    certificate = x509.load_pem_x509_certificate(certificate_pem())
    fields = sign(notification_fields())
    certificate.public_key().verify(
        base64.b64decode(fields["Signature"]), string_to_sign(fields), padding.PKCS1v15(), hashes.SHA1()
    )
