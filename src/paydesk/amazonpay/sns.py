"""Amazon SNS message verification for Amazon Pay IPNs — the first thing the IPN endpoint does.

Amazon Pay publishes each IPN to an SNS topic; SNS POSTs a signed JSON envelope to the store
(docs/amazon-pay-v1.md §7). Before anything reads the notification, this module:

1. parses the envelope strictly (`parse_envelope`) — size cap, UTF-8, JSON without duplicate keys,
   the fields each message Type requires;
2. verifies it (`verify`) — SigningCertURL on an SNS host (`TrustPolicy`), the certificate fetched
   and cached (`HttpsCertificateSource`), valid at the time and issued for sns.amazonaws.com, and the
   RSA signature over the canonical string (`canonical_string`), SignatureVersion 1 = SHA1withRSA,
   2 = SHA256withRSA;
3. reads Amazon Pay's inner Message (`parse_ipn_message`) and checks it is for this store
   (`check_belongs_to_store`).

`verify_ipn` does all of that for a Notification. A SubscriptionConfirmation is answered with
`confirm_subscription`, which verifies first and only then visits SubscribeURL.

The endpoint's flow (the Django view is the lead's)::

    policy = TrustPolicy.live()                      # or TrustPolicy.offline_sandbox(prefix)
    certificates = HttpsCertificateSource.for_policy(policy)   # one per process: it is the cache
    try:
        ipn = verify_ipn(request.body, policy=policy, certificates=certificates,
                         seller_id=settings.SELLER_ID, topic_arn=settings.IPN_TOPIC_ARN)
    except SnsVerificationError as refusal:
        return 503 if refusal.retryable else 400     # log refusal.reason and str(refusal)

Replays and duplicates are not this module's business: SNS redelivers the very same signed bytes
(same MessageId) when a delivery fails, so a replay is indistinguishable from a retry and passes
verification. The inbox deduplicates on `message_id` (unique constraint), and a replay cannot change
the MessageId without breaking the signature.

Sources for the SNS rules: AWS, "Verifying the signatures of Amazon SNS messages"
(https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html and
awsdocs/amazon-sns-developer-guide doc_source/sns-verify-signature-of-message.md), "Amazon SNS
message and JSON formats" (doc_source/sns-message-and-json-formats.md).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.etree.ElementTree import Element

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15

from paydesk.amazonpay.errors import ReplyError
from paydesk.amazonpay.replies import parse_xml
from paydesk.amazonpay.sns_certificates import (
    CertificateSource,
    HttpsCertificateSource,
    SigningCertificate,
    StaticCertificateSource,
)
from paydesk.amazonpay.sns_errors import (
    BadSignature,
    CertificateExpired,
    CertificateNotForSns,
    CertificateUnavailable,
    Rejection,
    SnsMessageError,
    SnsVerificationError,
    SubscriptionNotConfirmed,
    UnsupportedSignatureVersion,
    UntrustedCertificateUrl,
    UntrustedSubscribeUrl,
    WrongSeller,
    WrongTopic,
)

__all__ = [
    "DEFAULT_MAX_BYTES",
    "SNS_CERTIFICATE_NAME",
    "BadSignature",
    "CertificateExpired",
    "CertificateNotForSns",
    "CertificateSource",
    "CertificateUnavailable",
    "HttpsCertificateSource",
    "IpnMessage",
    "MessageType",
    "Rejection",
    "SigningCertificate",
    "SnsMessage",
    "SnsMessageError",
    "SnsVerificationError",
    "StaticCertificateSource",
    "SubscriptionNotConfirmed",
    "TrustPolicy",
    "UnsupportedSignatureVersion",
    "UntrustedCertificateUrl",
    "UntrustedSubscribeUrl",
    "WrongSeller",
    "WrongTopic",
    "canonical_string",
    "check_belongs_to_store",
    "confirm_subscription",
    "http_get_status",
    "parse_envelope",
    "parse_ipn_message",
    "verify",
    "verify_ipn",
]

# SNS topics accept messages of at most 256 KiB by default, and topics configured above that cannot
# deliver to HTTP endpoints (AWS, sns/latest/dg/large-message-payloads). JSON escaping of an Amazon
# Pay Message (JSON holding XML) at most doubles it; 1 MiB leaves room and refuses a 10 MB body cheaply.
DEFAULT_MAX_BYTES = 1024 * 1024

# The name SNS's signing certificate is issued for in the standard AWS regions, where Amazon Pay's
# topics live (us-east-1, eu-west-1 in every published IPN: docs/amazon-pay-v1.md §7.1). AWS's own
# validator expects other names in China and opt-in regions (aws-sdk-java-v2,
# services-custom/sns-message-manager SnsHostProvider: "sns-cn-north-1.amazonaws.com.cn",
# "sns-signing.<region>.amazonaws.com"); messages signed there are refused as certificate_not_for_sns.
SNS_CERTIFICATE_NAME = "sns.amazonaws.com"


class MessageType(StrEnum):
    NOTIFICATION = "Notification"
    SUBSCRIPTION_CONFIRMATION = "SubscriptionConfirmation"
    UNSUBSCRIBE_CONFIRMATION = "UnsubscribeConfirmation"


@dataclass(frozen=True, slots=True)
class SnsMessage:
    """An SNS envelope as received; strings exactly as sent, because the signature covers them."""

    type: MessageType
    message_id: str
    topic_arn: str
    message: str
    timestamp: str  # as sent, e.g. "2015-04-30T00:06:49.434Z": it is signed byte for byte
    published_at: datetime  # the same instant, parsed (aware, UTC)
    signature_version: str
    signature: bytes
    signing_cert_url: str
    subject: str | None = None
    subscribe_url: str | None = None
    unsubscribe_url: str | None = None
    token: str | None = None


@dataclass(frozen=True, slots=True)
class IpnMessage:
    """Amazon Pay's notification inside a verified SNS Notification (docs/amazon-pay-v1.md §7.3).

    `notification_data` is the raw XML; `paydesk.amazonpay.replies` turns it into typed objects.
    """

    notification_type: str  # "PaymentCapture", ..., "Chargeback Detailed Notification"
    seller_id: str
    release_environment: str  # "Sandbox" or "Live"
    marketplace_id: str
    notification_reference_id: str
    timestamp: datetime
    is_sample: bool  # true for "Send test IPN" from Seller Central
    notification_data: str
    message_id: str  # the SNS MessageId: the inbox's deduplication key
    topic_arn: str
    version: str | None = None
    event_type: str | None = None
    # `notification_data` as checked here, parsed once: the inbox reads its objects from it.
    notification_root: Element | None = field(default=None, compare=False, repr=False)


# --------------------------------------------------------------------------------------------------
# Parsing


def parse_envelope(body: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> SnsMessage:
    """The SNS message in an HTTP request body. Raises `SnsMessageError` for anything malformed."""
    if len(body) > max_bytes:
        raise SnsMessageError(f"The message is {len(body)} bytes; SNS messages are at most {max_bytes}.")
    try:
        text = bytes(body).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SnsMessageError("The message is not UTF-8 text, as SNS sends.") from exc
    document = _load_json_object(text, what="SNS message")

    what = "SNS message"
    raw_type = _required_str(document, "Type", what)
    try:
        message_type = MessageType(raw_type)
    except ValueError as exc:
        raise SnsMessageError(f"The SNS message has an unknown Type {raw_type!r}.") from exc
    timestamp = _required_str(document, "Timestamp", what)
    is_confirmation = message_type is not MessageType.NOTIFICATION
    return SnsMessage(
        type=message_type,
        message_id=_required_str(document, "MessageId", what),
        topic_arn=_required_str(document, "TopicArn", what),
        message=_required_str(document, "Message", what),
        timestamp=timestamp,
        published_at=_parse_timestamp(timestamp, f"{what} Timestamp"),
        signature_version=_required_str(document, "SignatureVersion", what),
        signature=_decode_signature(_required_str(document, "Signature", what)),
        signing_cert_url=_required_str(document, "SigningCertURL", what),
        # Subject only exists on a Notification published with one (AWS JSON formats page).
        subject=None if is_confirmation else _optional_str(document, "Subject", what),
        subscribe_url=_required_str(document, "SubscribeURL", what) if is_confirmation else None,
        token=_required_str(document, "Token", what) if is_confirmation else None,
        unsubscribe_url=None if is_confirmation else _optional_str(document, "UnsubscribeURL", what),
    )


def parse_ipn_message(msg: SnsMessage) -> IpnMessage:
    """Amazon Pay's notification in a Notification's Message. Raises `SnsMessageError`."""
    if msg.type is not MessageType.NOTIFICATION:
        raise SnsMessageError(f"This SNS message is a {msg.type}; only a Notification carries an IPN.")
    what = "Amazon Pay notification"
    document = _load_json_object(msg.message, what=what)
    release_environment = _required_str(document, "ReleaseEnvironment", what)
    if release_environment not in ("Sandbox", "Live"):
        raise SnsMessageError(f"The {what} has an unknown ReleaseEnvironment {release_environment!r}.")
    is_sample = document.get("IsSample", False)
    if not isinstance(is_sample, bool):
        raise SnsMessageError(f"The {what}'s IsSample is not true or false.")
    notification_data = _required_str(document, "NotificationData", what)
    notification_root = _check_notification_xml(notification_data)
    return IpnMessage(
        notification_type=_required_str(document, "NotificationType", what),
        seller_id=_required_str(document, "SellerId", what),
        release_environment=release_environment,
        # Always a JSON string in Amazon's samples, even when numeric ("623690"): §7.3.
        marketplace_id=_required_str(document, "MarketplaceID", what),
        notification_reference_id=_required_str(document, "NotificationReferenceId", what),
        timestamp=_parse_timestamp(_required_str(document, "Timestamp", what), f"{what} Timestamp"),
        is_sample=is_sample,
        notification_data=notification_data,
        message_id=msg.message_id,
        topic_arn=msg.topic_arn,
        version=_optional_str(document, "Version", what),
        event_type=_optional_str(document, "EventType", what),
        notification_root=notification_root,
    )


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for key, value in pairs:
        if key in document:
            raise _DuplicateKey(key)
        document[key] = value
    return document


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def _load_json_object(text: str, *, what: str) -> dict[str, Any]:
    # Duplicate keys are refused: parsers disagree on which one wins (Python keeps the last, others
    # the first), so a body naming "Message" twice could be verified as one text and acted on as the
    # other. SNS never sends duplicates. NaN/Infinity are not JSON either.
    try:
        document = json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_refuse_constant)
    except _DuplicateKey as exc:
        raise SnsMessageError(f"The {what} names {exc.key!r} more than once.") from exc
    except RecursionError as exc:
        raise SnsMessageError(f"The {what} is nested too deeply to be JSON from Amazon.") from exc
    except ValueError as exc:  # json.JSONDecodeError, and integers too long to convert
        raise SnsMessageError(f"The {what} is not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise SnsMessageError(f"The {what} is not a JSON object.")
    return document


def _required_str(document: dict[str, Any], key: str, what: str) -> str:
    value = _optional_str(document, key, what)
    if value is None or value == "":
        raise SnsMessageError(f"The {what} has no {key}.")
    return value


def _optional_str(document: dict[str, Any], key: str, what: str) -> str | None:
    value = document.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise SnsMessageError(f"The {what}'s {key} is not a string.")
    try:
        # JSON can spell a lone surrogate ("\ud800"), which no UTF-8 signature could have covered.
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise SnsMessageError(f"The {what}'s {key} is not valid Unicode text.") from exc
    return value


# SNS and Amazon Pay write UTC with a Z: "2015-04-30T00:06:49.434Z", "2015-11-21T03:55:19Z" (§7).
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?Z")


def _parse_timestamp(text: str, what: str) -> datetime:
    if not _TIMESTAMP.fullmatch(text):
        raise SnsMessageError(f"The {what} {text!r} is not an ISO 8601 UTC time.")
    try:
        return datetime.fromisoformat(text[:-1]).replace(tzinfo=UTC)
    except ValueError as exc:  # month 13, February 30, ...
        raise SnsMessageError(f"The {what} {text!r} is not a real time.") from exc


def _decode_signature(text: str) -> bytes:
    try:
        signature = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SnsMessageError("The SNS message's Signature is not base64.") from exc
    if not signature:
        raise SnsMessageError("The SNS message's Signature is empty.")
    return signature


def _check_notification_xml(notification_data: str) -> Element:
    # We do not interpret NotificationData here (paydesk.amazonpay.replies does), but nothing XML
    # passes through us unchecked: the same refusals as for Amazon's replies - a DTD, entity or
    # external reference (XXE, billion laughs), XML that is not well-formed, an encoding expat
    # cannot use. Amazon's NotificationData is plain XML with a namespace and no DOCTYPE (§7.4).
    try:
        return parse_xml(notification_data.encode("utf-8"))
    except ReplyError as exc:
        raise SnsMessageError(f"The notification's XML is refused: {exc}") from exc


# --------------------------------------------------------------------------------------------------
# The string SNS signs

# Name/value pairs in byte order of the name, each name and value followed by "\n"; Subject only when
# present (AWS, sns-verify-signature-of-message.md, step 5).
_NOTIFICATION_FIELDS = (
    ("Message", "message"),
    ("MessageId", "message_id"),
    ("Subject", "subject"),
    ("Timestamp", "timestamp"),
    ("TopicArn", "topic_arn"),
    ("Type", "type"),
)
_CONFIRMATION_FIELDS = (
    ("Message", "message"),
    ("MessageId", "message_id"),
    ("SubscribeURL", "subscribe_url"),
    ("Timestamp", "timestamp"),
    ("Token", "token"),
    ("TopicArn", "topic_arn"),
    ("Type", "type"),
)


def canonical_string(msg: SnsMessage) -> bytes:
    """The UTF-8 bytes SNS signed for this message."""
    fields = _NOTIFICATION_FIELDS if msg.type is MessageType.NOTIFICATION else _CONFIRMATION_FIELDS
    parts: list[str] = []
    for name, attribute in fields:
        value = getattr(msg, attribute)
        if value is None:
            if name == "Subject":
                continue
            raise SnsMessageError(f"The {msg.type} has no {name}.")
        parts += (name, "\n", value, "\n")
    return "".join(parts).encode("utf-8")


# --------------------------------------------------------------------------------------------------
# Trust

# An AWS region id: us-east-1, eu-west-1, us-gov-west-1, cn-north-1, eusc-de-east-1.
_REGION = r"[a-z]{2,4}(?:-[a-z]+)+-\d{1,2}"
# UNCONFIRMED choice, stricter than Amazon Pay's SDKs, which accept sns.[a-zA-Z0-9-]{3,}.amazonaws.com
# (amazon_pay/ipn_handler.py; docs/amazon-pay-v1.md §7.5): that pattern also matches S3's legacy
# virtual-hosted bucket names such as sns.s3-us-west-2.amazonaws.com, i.e. a host anyone who owns a
# bucket named "sns" could serve a certificate from. Requiring a real region id closes that; every
# SigningCertURL Amazon Pay has published (sns.us-east-1 / sns.eu-west-1) still matches.
_SNS_HOST = rf"sns\.{_REGION}\.amazonaws\.com(?:\.cn)?"
# Path segments of plain characters, none starting with "." (so no ".." traversal), ending in .pem.
_PEM_PATH = r"(?:[A-Za-z0-9_-][A-Za-z0-9._-]*/)*[A-Za-z0-9_-][A-Za-z0-9._-]*\.pem"
# Lower-case scheme and host, no port, no userinfo, no query or fragment: exactly what SNS sends
# ("https://sns.us-east-1.amazonaws.com/SimpleNotificationService-<hash>.pem").
_LIVE_CERT_URL = re.compile(rf"https://{_SNS_HOST}/{_PEM_PATH}")
_SNS_HOST_ONLY = re.compile(_SNS_HOST)
_SANDBOX_PEM_PATH = re.compile(_PEM_PATH)
# Characters a URL may contain at all; anything else (spaces, tabs, newlines, backslashes, non-ASCII)
# is refused before parsing, because URL parsers disagree about such bytes.
_URL_CHARACTERS = re.compile(r"[A-Za-z0-9._~:/?#\[\]@!$&'()*+,;=%-]+")


@dataclass(frozen=True, slots=True)
class TrustPolicy:
    """Which signing certificates we accept.

    Live (`TrustPolicy.live()`): only https://sns.<region>.amazonaws.com[.cn]/....pem. The offline
    sandbox (`TrustPolicy.offline_sandbox(prefix)`) additionally trusts certificate URLs under the
    sandbox's own prefix, e.g. "http://127.0.0.1:8001/sandbox/sns/"; never configure that in live
    mode. Either way the certificate must be valid at the time of verification and issued for
    sns.amazonaws.com, so the sandbox signs with a certificate bearing that name.
    """

    sandbox_cert_url_prefix: str | None = None
    certificate_name: str = SNS_CERTIFICATE_NAME

    def __post_init__(self) -> None:
        prefix = self.sandbox_cert_url_prefix
        if prefix is None:
            return
        parts = urlsplit(prefix)
        if (
            not _URL_CHARACTERS.fullmatch(prefix)
            or parts.scheme not in ("http", "https")
            or not prefix.startswith(f"{parts.scheme}://")
            or not parts.hostname
            or parts.username is not None
            or parts.query
            or parts.fragment
            or not parts.path.endswith("/")
        ):
            raise ValueError(
                "The sandbox certificate URL prefix must look like http://127.0.0.1:8001/sandbox/sns/ "
                "(scheme, host, optional port, a path ending in /)."
            )

    @classmethod
    def live(cls) -> TrustPolicy:
        return cls()

    @classmethod
    def offline_sandbox(cls, cert_url_prefix: str) -> TrustPolicy:
        return cls(sandbox_cert_url_prefix=cert_url_prefix)

    @property
    def is_offline_sandbox(self) -> bool:
        return self.sandbox_cert_url_prefix is not None

    def plain_http_cert_url_prefixes(self) -> tuple[str, ...]:
        prefix = self.sandbox_cert_url_prefix
        return (prefix,) if prefix is not None and prefix.startswith("http://") else ()

    def check_cert_url(self, url: str) -> None:
        if _LIVE_CERT_URL.fullmatch(url):
            return
        prefix = self.sandbox_cert_url_prefix
        if prefix is not None and url.startswith(prefix) and _SANDBOX_PEM_PATH.fullmatch(url[len(prefix) :]):
            return
        raise UntrustedCertificateUrl(
            f"The signing certificate URL {url!r} is not an Amazon SNS address "
            "(https://sns.<region>.amazonaws.com/....pem), so the message cannot be from Amazon."
        )

    def check_certificate(self, certificate: SigningCertificate, *, at: datetime) -> None:
        if not certificate.is_valid_at(at):
            at = at.astimezone(UTC)
            raise CertificateExpired(
                f"The signing certificate is valid from {certificate.not_valid_before:%Y-%m-%d %H:%M:%S} "
                f"to {certificate.not_valid_after:%Y-%m-%d %H:%M:%S} UTC, not at {at:%Y-%m-%d %H:%M:%S} UTC."
            )
        if not certificate.is_issued_for(self.certificate_name):
            names = ", ".join((*certificate.dns_names, *certificate.common_names)) or certificate.subject
            raise CertificateNotForSns(
                f"The signing certificate is issued for {names}, not for {self.certificate_name}."
            )

    def check_subscribe_url(self, url: str) -> None:
        """A SubscribeURL we may visit: SNS's ConfirmSubscription action on an SNS host (or, in the
        offline sandbox, any URL on the sandbox's own host)."""
        if _URL_CHARACTERS.fullmatch(url):
            parts = urlsplit(url)
            if (
                url.startswith("https://")
                and _SNS_HOST_ONLY.fullmatch(parts.netloc)
                and parts.path == "/"
                and not parts.fragment
                and parse_qs(parts.query).get("Action") == ["ConfirmSubscription"]
            ):
                return
            prefix = self.sandbox_cert_url_prefix
            if prefix is not None:
                sandbox = urlsplit(prefix)
                if url.startswith(f"{sandbox.scheme}://{sandbox.netloc}/") and not parts.fragment:
                    return
        raise UntrustedSubscribeUrl(
            f"The SubscribeURL {url!r} is not Amazon SNS's ConfirmSubscription address; not visited."
        )


# --------------------------------------------------------------------------------------------------
# Verification

# SignatureVersion "1" = SHA1withRSA, "2" = SHA256withRSA, PKCS#1 v1.5 (AWS, sns-verify-signature-of-
# message; aws-sdk-java-v2 SignatureValidator). Amazon Pay itself sends "1" (§7.5).
_SIGNATURE_HASHES: dict[str, hashes.HashAlgorithm] = {"1": hashes.SHA1(), "2": hashes.SHA256()}  # noqa: S303
_PADDING = PKCS1v15()


def verify(
    msg: SnsMessage,
    *,
    policy: TrustPolicy,
    certificates: CertificateSource,
    at: datetime | None = None,
) -> None:
    """Raise an `SnsVerificationError` unless SNS signed `msg` with a trusted certificate.

    `at` is when the certificate must be valid (default: now); `paydesk ipn verify --at` sets it.
    Checks run cheapest first, and nothing is fetched until the URL is trusted.
    """
    moment = _aware(at)
    algorithm = _SIGNATURE_HASHES.get(msg.signature_version)
    if algorithm is None:
        raise UnsupportedSignatureVersion(
            f"The message uses SNS SignatureVersion {msg.signature_version!r}; "
            "only 1 (SHA1withRSA) and 2 (SHA256withRSA) exist."
        )
    policy.check_cert_url(msg.signing_cert_url)
    certificate = certificates.certificate(msg.signing_cert_url)
    policy.check_certificate(certificate, at=moment)
    try:
        certificate.public_key.verify(msg.signature, canonical_string(msg), _PADDING, algorithm)
    except InvalidSignature as exc:
        raise BadSignature(
            "The signature does not match the message: it was altered or was not sent by Amazon SNS."
        ) from exc


# The AWS account Amazon Pay publishes IPNs from, in every region seen: its topics are
# arn:aws:sns:<region>:291180941288:<MarketplaceId><SellerId> (docs/amazon-pay-v1.md §7.1).
AMAZON_PAY_SNS_ACCOUNT = "291180941288"


def check_belongs_to_store(ipn: IpnMessage, *, seller_id: str, topic_arn: str | None = None) -> None:
    """Raise `WrongSeller`/`WrongTopic` unless the notification is for this store.

    SNS signs whatever any AWS account publishes to its own topic, and anyone can subscribe our
    endpoint to such a topic and write our SellerId into the Message: a valid signature does not
    make an Amazon Pay IPN. Only the TopicArn tells them apart. With `topic_arn` configured it
    must match exactly; without, it must be a topic of Amazon Pay's account named for this seller.
    """
    if not seller_id:
        raise ValueError("seller_id must be the store's Amazon Pay merchant id")
    if ipn.seller_id != seller_id:
        raise WrongSeller(
            f"The notification is for seller {ipn.seller_id}, not this store ({seller_id}); ignored."
        )
    if topic_arn is not None:
        if ipn.topic_arn != topic_arn:
            raise WrongTopic(f"The notification came from topic {ipn.topic_arn}, not {topic_arn}; ignored.")
        return
    parts = ipn.topic_arn.split(":")
    if len(parts) != 6 or parts[4] != AMAZON_PAY_SNS_ACCOUNT or not parts[5].endswith(seller_id):
        raise WrongTopic(
            f"The notification came from topic {ipn.topic_arn}, which is not one of Amazon Pay's "
            f"(account {AMAZON_PAY_SNS_ACCOUNT}, named for seller {seller_id}); ignored. If Amazon "
            "Pay does publish from it, set it as the IPN topic ARN in the settings."
        )


def verify_ipn(
    body: bytes,
    *,
    policy: TrustPolicy,
    certificates: CertificateSource,
    seller_id: str,
    topic_arn: str | None = None,
    at: datetime | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> IpnMessage:
    """The Amazon Pay notification in an IPN request body, verified and checked for this store."""
    msg = parse_envelope(body, max_bytes=max_bytes)
    if msg.type is not MessageType.NOTIFICATION:
        raise SnsMessageError(f"Expected an SNS Notification, got a {msg.type}.")
    verify(msg, policy=policy, certificates=certificates, at=at)
    ipn = parse_ipn_message(msg)
    check_belongs_to_store(ipn, seller_id=seller_id, topic_arn=topic_arn)
    return ipn


def confirm_subscription(
    msg: SnsMessage,
    http_get: Callable[[str], int],
    *,
    policy: TrustPolicy,
    certificates: CertificateSource,
    topic_arn: str,
    at: datetime | None = None,
) -> None:
    """Confirm a SubscriptionConfirmation by visiting its SubscribeURL — after verifying it.

    `http_get(url)` returns the HTTP status and must not follow redirects (`http_get_status` does
    that). `topic_arn` is required: confirming a subscription to an unknown topic would let any AWS
    account send us genuinely SNS-signed messages. Amazon Pay normally manages its subscriptions
    itself, so a store rarely sees one of these (docs/amazon-pay-v1.md §7.5, UNCONFIRMED there).
    """
    if msg.type is not MessageType.SUBSCRIPTION_CONFIRMATION:
        raise SnsMessageError(f"Only a SubscriptionConfirmation can be confirmed, not a {msg.type}.")
    verify(msg, policy=policy, certificates=certificates, at=at)
    if msg.topic_arn != topic_arn:
        raise WrongTopic(f"The subscription is to topic {msg.topic_arn}, not {topic_arn}; not confirmed.")
    subscribe_url = msg.subscribe_url or ""
    policy.check_subscribe_url(subscribe_url)
    status = http_get(subscribe_url)
    if status != 200:
        raise SubscriptionNotConfirmed(f"SNS answered HTTP {status} when we confirmed the subscription.")


def http_get_status(url: str, *, client: httpx.Client | None = None, timeout: float = 5.0) -> int:
    """GET `url` without following redirects and return the status (for `confirm_subscription`)."""
    owned = client is None
    session = httpx.Client(timeout=timeout, follow_redirects=False) if client is None else client
    try:
        with session.stream("GET", url, follow_redirects=False, timeout=timeout) as response:
            return response.status_code
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise SubscriptionNotConfirmed(f"Could not reach SNS to confirm the subscription: {exc}") from exc
    finally:
        if owned:
            session.close()


def _aware(at: datetime | None) -> datetime:
    if at is None:
        return datetime.now(UTC)
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("at must be a timezone-aware datetime")
    return at
