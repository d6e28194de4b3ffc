"""The IPN inbox: store raw, verify, deduplicate, apply — in that order.

Every request to the IPN endpoint becomes a `Notification` row before anything reads it, so
nothing Amazon sends is lost and every forged or broken request stays on record. Only a
verified message claims its SNS MessageId (unique), which is what makes a duplicate delivery
change nothing. The payment change and the "applied" mark commit together.

HTTP answers follow what Amazon does with them (docs/amazon-pay-v1.md §7.1): 2xx acknowledges;
a 4xx is never redelivered, so it is kept for requests that can never become valid (forged,
malformed, for another seller); a temporary failure (certificate host unreachable, payment row
locked) answers 503 so Amazon delivers again.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, OperationalError, connection
from django.db import transaction as db
from django.db.models import Q
from django.utils import timezone

from paydesk.amazonpay import services, sns
from paydesk.amazonpay.details import OrderReference
from paydesk.amazonpay.models import AmazonPaySettings, Environment, Notification, Payment, Verdict
from paydesk.amazonpay.notifications import (
    PAYMENT_NOTIFICATION_TYPES,
    NotificationDataError,
    parse_notification_data,
)

log = logging.getLogger("paydesk.ipn")

MAX_BODY_BYTES = sns.DEFAULT_MAX_BYTES
# A verified notification whose NotificationData Paydesk cannot read.
_UNREADABLE = "malformed_notification_data"
# What is kept of a body too large to be a notification: enough to see what it was.
KEPT_BYTES = 64 * 1024
_HEADERS = (
    "x-amz-sns-message-type",
    "x-amz-sns-message-id",
    "x-amz-sns-topic-arn",
    "x-amz-sns-subscription-arn",
    "content-type",
    "user-agent",
)


@dataclass(frozen=True)
class Answer:
    status: int
    notification: Notification


# --- which certificates this store trusts --------------------------------------------------------

_sources_lock = threading.Lock()
_sources: dict[sns.TrustPolicy, sns.CertificateSource] = {}


def trust_policy(settings: AmazonPaySettings) -> sns.TrustPolicy:
    """Live and Amazon's sandbox: SNS's own certificates only. The offline sandbox's
    certificate is trusted only while the store is configured for the offline sandbox.
    ValueError: the offline sandbox URL cannot be a certificate prefix (a user, a query)."""
    if settings.environment == Environment.OFFLINE_SANDBOX and settings.offline_sandbox_url:
        return offline_sandbox_policy(settings.offline_sandbox_url)
    return sns.TrustPolicy.live()


def offline_sandbox_policy(sandbox_url: str) -> sns.TrustPolicy:
    """The sandbox signs with certificates it serves under <its URL>/sandbox/sns/."""
    return sns.TrustPolicy.offline_sandbox(sandbox_url.rstrip("/") + "/sandbox/sns/")


def certificates_for(policy: sns.TrustPolicy) -> sns.CertificateSource:
    # One source per policy and process: it is the certificate cache.
    with _sources_lock:
        source = _sources.get(policy)
        if source is None:
            source = _sources[policy] = sns.HttpsCertificateSource.for_policy(policy)
        return source


# --- the four steps -----------------------------------------------------------------------------


def receive(
    body: bytes, *, headers: dict[str, str], remote_addr: str = "", declared_size: int | None = None
) -> Answer:
    """Handle one POST to the IPN endpoint and say what to answer."""
    size = declared_size if declared_size is not None else len(body)
    row = Notification.objects.create(
        remote_addr=remote_addr[:64],
        headers={k: _printable(v[:500]) for k, v in headers.items() if k.lower() in _HEADERS},
        body=_printable(body[:KEPT_BYTES].decode("utf-8", errors="backslashreplace")),
        body_size=size,
        claimed_message_id=_printable(headers.get("x-amz-sns-message-id", "")[:100]),
    )
    if size > MAX_BODY_BYTES:
        return _close(row, 413, Verdict.MALFORMED, "too_large", f"A {size}-byte body is no SNS notification.")

    settings = AmazonPaySettings.load()
    try:
        policy = trust_policy(settings)
    except ValueError as exc:  # saved before the settings form refused such URLs
        detail = f"The offline sandbox URL is unusable: {exc}"
        return _close(row, 503, Verdict.RETRY, "not_configured", detail)
    try:
        message = sns.parse_envelope(body, max_bytes=MAX_BODY_BYTES)
    except sns.SnsMessageError as exc:
        return _close(row, 400, Verdict.MALFORMED, exc.reason, exc.message)
    row.sns_type = message.type.value
    row.claimed_message_id = message.message_id[:100]
    row.published_at = message.published_at
    try:
        if message.type is sns.MessageType.SUBSCRIPTION_CONFIRMATION:
            return _confirm(row, message, settings, policy)
        if message.type is not sns.MessageType.NOTIFICATION:
            sns.verify(message, policy=policy, certificates=certificates_for(policy))
            return _close(row, 200, Verdict.ACCEPTED, "", f"{message.type}: nothing to do.")
        sns.verify(message, policy=policy, certificates=certificates_for(policy))
        ipn = sns.parse_ipn_message(message)
        row.notification_type = ipn.notification_type[:64]
        row.seller_id = ipn.seller_id[:32]
        if not settings.seller_id:
            return _close(
                row, 503, Verdict.RETRY, "not_configured", "The store has no Seller ID configured yet."
            )
        sns.check_belongs_to_store(
            ipn, seller_id=settings.seller_id, topic_arn=settings.ipn_topic_arn or None
        )
    except sns.SnsVerificationError as exc:
        if exc.retryable:
            return _close(row, 503, Verdict.RETRY, exc.reason, exc.message)
        status = 400 if exc.reason == sns.Rejection.MALFORMED else 403
        verdict = Verdict.MALFORMED if status == 400 else Verdict.REJECTED
        return _close(row, status, verdict, exc.reason, exc.message)

    try:
        obj = parse_notification_data(
            ipn.notification_type, ipn.notification_data, root=ipn.notification_root
        )
    except NotificationDataError as exc:
        if ipn.notification_type in PAYMENT_NOTIFICATION_TYPES:
            return _close(row, 400, Verdict.MALFORMED, _UNREADABLE, str(exc))
        # Billing agreements, chargebacks, provider credits: genuine, kept, not Paydesk's to apply.
        return _claim_and_apply(row, message.message_id, None)
    return _claim_and_apply(row, message.message_id, obj)


def prune_refused(*, older_than: timedelta, now: datetime | None = None) -> int:
    """Delete the requests refused for good (forged, malformed, for another seller or topic)
    and those whose certificate could not be fetched, received more than `older_than` ago;
    returns how many. The endpoint keeps every request so that nothing Amazon sends is lost,
    which also lets anyone fill the database: this is the way back. Accepted notifications and
    duplicates, the payments' evidence, are never deleted, nor a verified notification whose
    data Paydesk could not read: it is Amazon's, and Amazon does not send it again."""
    cutoff = (now or timezone.now()) - older_than
    refused = Q(verdict__in=[Verdict.REJECTED, Verdict.MALFORMED]) & ~Q(reason=_UNREADABLE)
    # Answered 503 because the certificate could not be fetched, so never verified: anyone can
    # send those (a made-up SigningCertURL on Amazon's host), and a genuine one was delivered
    # again and has a row of its own.
    unverified = Q(verdict=Verdict.RETRY, reason=sns.Rejection.CERTIFICATE_UNAVAILABLE)
    return Notification.objects.filter(refused | unverified, received_at__lt=cutoff).delete()[0]


# What a request's row learns after it was stored. The raw request (received_at, remote_addr,
# headers, body, body_size) is written once, before anything reads it, and never again.
_FINDINGS = [
    f.name
    for f in Notification._meta.concrete_fields
    if f.name not in ("id", "received_at", "remote_addr", "headers", "body", "body_size")
]


def _printable(text: str) -> str:
    # PostgreSQL text cannot hold NUL; whatever arrives is kept, visibly escaped.
    return text.replace("\x00", "\\x00")


def _close(row: Notification, status: int, verdict: Verdict, reason: str, detail: str) -> Answer:
    row.verdict = verdict
    row.reason = str(reason)[:64]
    row.detail = detail
    row.save(update_fields=_FINDINGS)
    if verdict in (Verdict.REJECTED, Verdict.MALFORMED):
        log.warning("IPN %s refused (%s): %s", row.pk, reason, detail)
    return Answer(status, row)


def _confirm(row, message, settings, policy) -> Answer:
    if not settings.ipn_topic_arn:
        return _close(
            row,
            403,
            Verdict.REJECTED,
            "no_topic_configured",
            "A subscription confirmation was refused: set the IPN topic ARN in the settings to accept one.",
        )
    sns.confirm_subscription(
        message,
        sns.http_get_status,
        policy=policy,
        certificates=certificates_for(policy),
        topic_arn=settings.ipn_topic_arn,
    )
    return _close(row, 200, Verdict.ACCEPTED, "", "Subscription confirmed.")


def _claim_and_apply(row: Notification, message_id: str, obj) -> Answer:
    """Claim the MessageId for this row and apply the notification, in one transaction: a
    claimed MessageId always means an applied (or deliberately not applied) notification, so a
    second delivery is a duplicate, and a delivery that could not be applied leaves no claim
    behind and is applied when Amazon delivers it again."""
    if obj is not None:
        oro_id = _order_reference_id(obj)
        row.amazon_id = (
            getattr(obj, "amazon_authorization_id", None)
            or getattr(obj, "amazon_capture_id", None)
            or getattr(obj, "amazon_refund_id", None)
            or oro_id
        )[:40]
        row.object_state = obj.status.state[:16]
    try:
        with db.atomic():
            _limit_lock_wait()
            row.message_id = message_id
            row.verdict = Verdict.ACCEPTED
            if obj is None:
                row.reason = "not_applied"
                row.detail = f"{row.notification_type}: not used by Paydesk."
            else:
                _apply(row, obj, oro_id)
            row.save(update_fields=_FINDINGS)
    except IntegrityError as exc:
        _unclaim(row)
        first = Notification.objects.filter(message_id=message_id).first()
        if first is None:  # another unique key refused the change: not a redelivery
            return _failed_to_apply(row, exc)
        row.duplicate_of = first
        return _close(
            row, 200, Verdict.DUPLICATE, "duplicate", f"Already received as notification {first.pk}."
        )
    except OperationalError as exc:
        # The payment row stayed locked past the database's timeout: let Amazon deliver again.
        _unclaim(row)
        return _close(
            row, 503, Verdict.RETRY, "locked", f"The payment was busy ({exc}); Amazon will redeliver."
        )
    except Exception as exc:
        # A verified notification Paydesk could not apply: nothing of it committed, the
        # MessageId is free again, and Amazon delivers it again; the row says why.
        log.exception("IPN %s could not be applied", row.pk)
        _unclaim(row)
        return _failed_to_apply(row, exc)
    return Answer(200, row)


# How long an IPN waits for a payment another request holds (a staff capture waiting on
# Amazon) before it answers 503 and lets Amazon deliver it again. SQLite has its own busy
# timeout (settings); PostgreSQL would wait forever, past SNS's patience.
LOCK_WAIT_MS = 5000


def _limit_lock_wait() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = '{int(LOCK_WAIT_MS)}ms'")


def _unclaim(row: Notification) -> None:
    row.message_id = None
    row.payment = None
    row.applied = False
    row.applied_at = None


def _failed_to_apply(row: Notification, exc: Exception) -> Answer:
    detail = f"Paydesk could not apply it ({type(exc).__name__}: {exc}); Amazon will deliver it again."
    return _close(row, 503, Verdict.RETRY, "apply_failed", detail)


def _order_reference_id(obj) -> str:
    if isinstance(obj, OrderReference):
        return obj.amazon_order_reference_id
    amazon_id = (
        getattr(obj, "amazon_authorization_id", None)
        or getattr(obj, "amazon_capture_id", None)
        or getattr(obj, "amazon_refund_id", "")
    )
    # Authorization, capture and refund ids extend their order reference's id:
    # S01-1234567-1234567-A123456 (docs/amazon-pay-v1.md §1.5).
    return amazon_id.rsplit("-", 1)[0]


def _apply(row: Notification, obj, oro_id: str) -> None:
    """Apply inside the caller's transaction: lock the payment (found by its order reference
    id, in the same query) and record Amazon's report through the payment service."""
    locking = Payment.objects.select_for_update().select_related("order")
    try:
        payment = locking.get(amazon_order_reference_id=oro_id)
    except Payment.DoesNotExist:
        row.reason = "unknown_payment"
        row.detail = f"No order in Paydesk has Amazon order reference {oro_id}; kept for review."
        return
    operation = f"IPN {row.notification_type}"
    if isinstance(obj, OrderReference):
        services.apply_order_reference(payment, obj, actor=services.IPN, operation=operation)
    else:
        try:
            services.apply_report(payment, obj, actor=services.IPN, operation=operation)
        except services.ForeignReport as exc:
            # Genuine, and it will never fit this payment (refused before anything was
            # written): kept and claimed for review like an unknown payment's, not redelivered.
            row.reason = "foreign_report"
            row.detail = str(exc)
            return
    row.payment = payment
    row.applied = True
    row.applied_at = timezone.now()
    row.reason = ""
    row.detail = ""
