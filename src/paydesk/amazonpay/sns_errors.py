"""Why an SNS message (an Amazon Pay IPN) was refused: one small taxonomy.

Every refusal is an `SnsVerificationError` with a `reason` from `Rejection`, so the IPN endpoint and
`paydesk ipn verify` can answer with one `except` and say exactly why. The message of each error is
written for the merchant reading a log or a terminal, not for us.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar


class Rejection(StrEnum):
    MALFORMED = "malformed"
    UNTRUSTED_CERT_URL = "untrusted_cert_url"
    CERTIFICATE_UNAVAILABLE = "certificate_unavailable"
    CERTIFICATE_EXPIRED = "certificate_expired"
    CERTIFICATE_NOT_FOR_SNS = "certificate_not_for_sns"
    BAD_SIGNATURE = "bad_signature"
    UNSUPPORTED_SIGNATURE_VERSION = "unsupported_signature_version"
    WRONG_SELLER = "wrong_seller"
    WRONG_TOPIC = "wrong_topic"
    UNTRUSTED_SUBSCRIBE_URL = "untrusted_subscribe_url"
    SUBSCRIPTION_NOT_CONFIRMED = "subscription_not_confirmed"


class SnsVerificationError(Exception):
    """An SNS message we refuse to act on. `reason` says which rule it broke."""

    reason: ClassVar[Rejection]
    # True when the same message may pass later (the certificate host was unreachable): the endpoint
    # should then answer 5xx so Amazon redelivers, instead of 4xx.
    retryable: ClassVar[bool] = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SnsMessageError(SnsVerificationError):
    """The body is not a well-formed SNS message or Amazon Pay notification."""

    reason = Rejection.MALFORMED


class UnsupportedSignatureVersion(SnsVerificationError):
    reason = Rejection.UNSUPPORTED_SIGNATURE_VERSION


class UntrustedCertificateUrl(SnsVerificationError):
    reason = Rejection.UNTRUSTED_CERT_URL


class CertificateUnavailable(SnsVerificationError):
    reason = Rejection.CERTIFICATE_UNAVAILABLE
    retryable = True


class CertificateExpired(SnsVerificationError):
    reason = Rejection.CERTIFICATE_EXPIRED


class CertificateNotForSns(SnsVerificationError):
    reason = Rejection.CERTIFICATE_NOT_FOR_SNS


class BadSignature(SnsVerificationError):
    reason = Rejection.BAD_SIGNATURE


class WrongSeller(SnsVerificationError):
    reason = Rejection.WRONG_SELLER


class WrongTopic(SnsVerificationError):
    reason = Rejection.WRONG_TOPIC


class UntrustedSubscribeUrl(SnsVerificationError):
    reason = Rejection.UNTRUSTED_SUBSCRIBE_URL


class SubscriptionNotConfirmed(SnsVerificationError):
    reason = Rejection.SUBSCRIPTION_NOT_CONFIRMED
    retryable = True
