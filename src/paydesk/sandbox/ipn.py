"""IPN: every state change of an order reference, authorization, capture or refund is POSTed to
each configured URL the way Amazon does it - as an Amazon SNS HTTP notification, signed.

Wire format (docs/amazon-pay-v1.md §7; fixtures under tests/fixtures/sns):
- headers x-amz-sns-message-type / -message-id / -topic-arn / -subscription-arn,
  Content-Type "text/plain; charset=UTF-8", User-Agent "Amazon Simple Notification Service Agent";
- body: the SNS JSON envelope (Type, MessageId, TopicArn, Message, Timestamp, SignatureVersion "1",
  Signature, SigningCertURL, UnsubscribeURL); Message is Amazon Pay's JSON (NotificationReferenceId,
  MarketplaceID, NotificationType, SellerId, ReleaseEnvironment, Version, NotificationData,
  Timestamp) whose NotificationData is the object's XML in the IPN namespace;
- signature: SHA1withRSA over "Message\\n<m>\\nMessageId\\n<id>\\nTimestamp\\n<t>\\nTopicArn\\n<a>\\n
  Type\\n<type>\\n" (SignatureVersion 1 - the only one Amazon Pay's SDKs verify), with a key whose
  self-signed certificate (CN sns.amazonaws.com) the sandbox serves at SigningCertURL.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import http.client
import itertools
import json
import logging
import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from paydesk.sandbox import replies
from paydesk.sandbox.clock import SandboxClock, amazon_timestamp
from paydesk.sandbox.config import IPN_RETRY_ANY_FAILURE, IpnSettings
from paydesk.sandbox.engine import Change
from paydesk.sandbox.model import AmazonObject, Authorization, Capture, OrderReference
from paydesk.sandbox.store import Store

logger = logging.getLogger(__name__)

# Amazon's sandbox marketplace (US) and the account that owns Amazon Pay's IPN topics, both read
# off TopicArns in Amazon's IPN samples (JAVA/PY SDK fixtures; docs/amazon-pay-v1.md §1.5, §7.1).
SANDBOX_MARKETPLACE_ID = "A3BXB0YN3XH17H"
TOPIC_ACCOUNT = "291180941288"
TOPIC_REGION = "us-east-1"
CERT_PATH_PREFIX = "/sandbox/sns/"
USER_AGENT = "Amazon Simple Notification Service Agent"


def topic_arn(seller_id: str) -> str:
    return f"arn:aws:sns:{TOPIC_REGION}:{TOPIC_ACCOUNT}:{SANDBOX_MARKETPLACE_ID}{seller_id}"


def string_to_sign(envelope: dict[str, str]) -> str:
    """SNS's canonical string for a Notification (AWS "Verifying the signatures of Amazon SNS
    messages"); Subject only when present - Amazon Pay's notifications never have one."""
    names = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
    return "".join(f"{name}\n{envelope[name]}\n" for name in names if name in envelope)


class SnsSigner:
    """The sandbox's stand-in for SNS's signing key and its certificate."""

    def __init__(self, private_key: rsa.RSAPrivateKey, certificate: x509.Certificate) -> None:
        self._key = private_key
        self.certificate = certificate

    @classmethod
    def generate(cls, now: datetime | None = None) -> SnsSigner:
        now = now or datetime.now(UTC)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=365))
            .sign(key, hashes.SHA256())
        )
        return cls(key, certificate)

    @classmethod
    def from_pem(cls, key_pem: bytes, certificate_pem: bytes) -> SnsSigner:
        key = serialization.load_pem_private_key(key_pem, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("the stored SNS signing key is not an RSA key")
        return cls(key, x509.load_pem_x509_certificate(certificate_pem))

    def key_pem(self) -> bytes:
        return self._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def certificate_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def certificate_file_name(self) -> str:
        """Shaped like SNS's: SimpleNotificationService-<32 hex>.pem."""
        digest = hashlib.sha256(self.certificate.public_bytes(serialization.Encoding.DER)).hexdigest()
        return f"SimpleNotificationService-{digest[:32]}.pem"

    def sign(self, envelope: dict[str, str]) -> str:
        # SignatureVersion 1 = SHA1withRSA; every Amazon Pay SDK verifies with SHA1 only (§7.5).
        sha1 = hashes.SHA1()  # noqa: S303 - SNS SignatureVersion 1 is defined as SHA1withRSA
        signature = self._key.sign(string_to_sign(envelope).encode("utf-8"), padding.PKCS1v15(), sha1)
        return base64.b64encode(signature).decode("ascii")


_NOTIFICATION_KINDS = {
    OrderReference: ("OrderReferenceNotification", "OrderReferenceNotification"),
    Authorization: ("PaymentAuthorize", "AuthorizationNotification"),
    Capture: ("PaymentCapture", "CaptureNotification"),
}


def notification_of(obj: AmazonObject) -> tuple[str, str]:
    """(NotificationType, NotificationData XML) for an object's current state."""
    if isinstance(obj, OrderReference):
        payload = replies.order_reference_notification(obj)
    elif isinstance(obj, Authorization):
        payload = replies.authorization_details(obj, member_tag="Id")
    elif isinstance(obj, Capture):
        payload = replies.capture_details(obj, member_tag="Id")
    else:
        return "PaymentRefund", replies.notification_data("RefundNotification", replies.refund_details(obj))
    notification_type, root = _NOTIFICATION_KINDS[type(obj)]
    return notification_type, replies.notification_data(root, payload)


def inner_message(obj: AmazonObject, event_time: datetime) -> tuple[str, str]:
    """(NotificationType, Message JSON). Amazon's JSON escapes "/" as "\\/" (every fixture)."""
    notification_type, data = notification_of(obj)
    message = {
        "NotificationReferenceId": str(uuid.uuid4()),
        "MarketplaceID": SANDBOX_MARKETPLACE_ID,
        "NotificationType": notification_type,
        "SellerId": obj.seller_id,
        "ReleaseEnvironment": "Sandbox",
        "Version": "2013-01-01",
        "NotificationData": data,
        "Timestamp": amazon_timestamp(event_time),
    }
    return notification_type, json.dumps(message, separators=(",", ":")).replace("/", "\\/")


@dataclass
class Attempt:
    at: str
    status: int | None
    error: str | None


@dataclass
class Delivery:
    """One message on its way to one URL (mutable: owned and updated by the dispatcher)."""

    id: int
    message_id: str
    url: str
    body: bytes
    headers: dict[str, str]
    notification_type: str
    object_id: str
    state: str = "queued"  # queued | held | delivered | failed | dropped
    attempts: list[Attempt] = field(default_factory=list)
    then: Delivery | None = None  # released once this one is done (reordering)

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "message_id": self.message_id,
            "url": self.url,
            "notification_type": self.notification_type,
            "object_id": self.object_id,
            "state": self.state,
            "attempts": [vars(attempt) for attempt in self.attempts],
        }

    def record(self) -> dict[str, object]:
        """Everything needed to send it again after a restart."""
        return {**self.as_json(), "body": self.body.decode("utf-8"), "headers": self.headers}

    @classmethod
    def from_record(cls, record: dict) -> Delivery:
        return cls(
            record["id"],
            record["message_id"],
            record["url"],
            record["body"].encode("utf-8"),
            record["headers"],
            record["notification_type"],
            record["object_id"],
            attempts=[Attempt(**attempt) for attempt in record["attempts"]],
        )


@dataclass
class _Mischief:
    """Armed IPN faults: each applies to the next `count` messages."""

    drop: int = 0
    duplicate: int = 0
    delay: int = 0
    delay_seconds: float = 0.0
    reorder: int = 0
    reorder_held: list[list[Delivery]] = field(default_factory=list)


_LOG_LIMIT = 20_000


class IpnDispatcher:
    """Builds, signs and delivers notifications on worker threads, never on a request thread."""

    def __init__(
        self,
        settings: IpnSettings,
        signer: SnsSigner,
        clock: SandboxClock,
        cert_base_url: Callable[[], str],
        monotonic: Callable[[], float] = time.monotonic,
        journal: Store | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        """`journal`: where deliveries waiting for an attempt are kept across restarts (the
        sandbox's state file); without one a restart drops them."""
        self._settings = settings
        self._journal = journal
        self._wall = wall
        self._signer = signer
        self._clock = clock
        self._base_url = cert_base_url
        self._monotonic = monotonic
        self._urls = list(settings.urls)
        self._enabled = settings.enabled
        self._paused = False
        self._stopping = False
        self._condition = threading.Condition()
        self._ready: list[tuple[float, int, int]] = []  # (due, sequence, delivery id)
        self._in_flight = 0
        self._log: OrderedDict[int, Delivery] = OrderedDict()
        self._ids = itertools.count(1)
        self._sequence = itertools.count()
        self._mischief = _Mischief()
        self._workers: list[threading.Thread] = []
        self._outbox: deque[AmazonObject] = deque()
        self._publishing = 0
        self._waiting_in_line = 0  # reordered deliveries waiting for the one before them

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        self._resume_journal()
        publisher = threading.Thread(target=self._publish_loop, name="sandbox-ipn-publisher", daemon=True)
        publisher.start()
        self._workers.append(publisher)
        for number in range(self._settings.workers):
            worker = threading.Thread(target=self._work, name=f"sandbox-ipn-{number}", daemon=True)
            worker.start()
            self._workers.append(worker)

    def _resume_journal(self) -> None:
        """Deliveries a stopped (or killed) sandbox left waiting go on where they were: each is
        sent when its next attempt falls due, or at once if that time has passed."""
        if self._journal is None:
            return
        with self._condition:
            last = 0
            for due, record in self._journal.queued_ipns():
                delivery = Delivery.from_record(record)
                last = max(last, delivery.id)
                self._remember(delivery)
                # Already kept as it is: scheduled only, not written again.
                self._schedule(delivery, self._monotonic() + max(0.0, due - self._wall()))
            self._ids = itertools.count(last + 1)

    def stop(self) -> None:
        with self._condition:
            self._stopping = True
            self._condition.notify_all()
        for worker in self._workers:
            worker.join(timeout=self._settings.request_timeout.total_seconds() + 1)
        self._workers.clear()
        with self._condition:
            # The state file closes next; a delivery still being sent stays kept and is sent
            # again after a restart (SNS delivers at least once, so may Amazon).
            self._journal = None

    # -- controls -------------------------------------------------------------------------------

    def settings(self) -> dict[str, object]:
        with self._condition:
            return {
                "enabled": self._enabled,
                "paused": self._paused,
                "urls": list(self._urls),
                "queued": len(self._ready) + len(self._outbox) + self._waiting_in_line,
                "in_flight": self._in_flight,
                "retry_policy": self._settings.retry_policy,
            }

    def configure(
        self, *, enabled: bool | None = None, paused: bool | None = None, urls: list[str] | None = None
    ) -> None:
        with self._condition:
            if enabled is not None:
                self._enabled = enabled
            if paused is not None:
                self._paused = paused
            if urls is not None:
                IpnSettings(urls=tuple(urls))  # validates the URLs
                self._urls = list(urls)
            self._condition.notify_all()

    def arm(self, action: str, count: int, delay_seconds: float = 0.0) -> None:
        """drop / duplicate / delay / reorder the next `count` notifications."""
        if count < 1 or (action == "reorder" and count < 2):
            raise ValueError("count must be at least 1 (2 for reorder)")
        with self._condition:
            if action == "drop":
                self._mischief.drop += count
            elif action == "duplicate":
                self._mischief.duplicate += count
            elif action == "delay":
                if not 0 < delay_seconds <= 600:
                    raise ValueError("delay_seconds must be between 0 and 600")
                self._mischief.delay, self._mischief.delay_seconds = count, delay_seconds
            elif action == "reorder":
                self._mischief.reorder = count
            else:
                raise ValueError(f"unknown IPN fault {action!r}; use drop, duplicate, delay or reorder")

    def deliveries(self) -> list[dict[str, object]]:
        with self._condition:
            return [delivery.as_json() for delivery in self._log.values()]

    def clear_log(self) -> None:
        with self._condition:
            self._log = OrderedDict((k, d) for k, d in self._log.items() if d.state in ("queued", "held"))

    def idle(self) -> bool:
        with self._condition:
            held = any(self._mischief.reorder_held)
            busy = self._outbox or self._publishing or self._ready or self._in_flight or self._waiting_in_line
            return not (busy or held)

    # -- publishing (called by the engine, under its lock: keep it quick) ------------------------

    def publish(self, changes: Sequence[Change]) -> None:
        """Queue the changed objects; a publisher thread signs and releases them in order, so
        that the engine (which calls this under its lock) never waits for RSA."""
        with self._condition:
            if not self._enabled or not self._urls:
                return
            for change in changes:
                if not change.moved or (isinstance(change.after, OrderReference) and change.before is None):
                    # A new Draft order reference is the buyer's doing, not a state change Amazon
                    # reports; everything after that is.
                    continue
                self._outbox.append(change.after)
            self._condition.notify_all()

    def _publish_loop(self) -> None:
        while True:
            with self._condition:
                while not self._outbox and not self._stopping:
                    self._condition.wait()
                if self._stopping:
                    return
                obj = self._outbox.popleft()
                self._publishing += 1
            try:
                self._publish(obj)
            except Exception:  # one bad notification must not stop all later ones; logged in full
                logger.exception("could not build the IPN for %s", obj.id)
            finally:
                with self._condition:
                    self._publishing -= 1

    def _publish(self, obj: AmazonObject) -> None:
        notification_type, message = inner_message(obj, obj.status.last_update or self._clock.now())
        arn = topic_arn(obj.seller_id)
        base = self._base_url()
        message_id = str(uuid.uuid4())
        envelope = {
            "Type": "Notification",
            "MessageId": message_id,
            "TopicArn": arn,
            "Message": message,
            # The SNS envelope is stamped by the transport on the real clock; the event time
            # inside Message follows the sandbox clock.
            "Timestamp": amazon_timestamp(self._clock.real_now()),
        }
        envelope["SignatureVersion"] = "1"
        envelope["Signature"] = self._signer.sign(envelope)
        envelope["SigningCertURL"] = f"{base}{CERT_PATH_PREFIX}{self._signer.certificate_file_name}"
        with self._condition:
            targets = list(self._urls)
        subscription = {url: f"{arn}:{uuid.uuid5(uuid.NAMESPACE_URL, url)}" for url in targets}
        deliveries = []
        with self._condition:
            for url in targets:
                body = dict(envelope)
                body["UnsubscribeURL"] = (
                    f"{base}{CERT_PATH_PREFIX}unsubscribe?SubscriptionArn={subscription[url]}"
                )
                headers = {
                    "x-amz-sns-message-type": "Notification",
                    "x-amz-sns-message-id": message_id,
                    "x-amz-sns-topic-arn": arn,
                    "x-amz-sns-subscription-arn": subscription[url],
                    "Content-Type": "text/plain; charset=UTF-8",
                    "User-Agent": USER_AGENT,
                }
                delivery = Delivery(
                    next(self._ids),
                    message_id,
                    url,
                    json.dumps(body, indent=2).encode("utf-8"),
                    headers,
                    notification_type,
                    obj.id,
                )
                self._remember(delivery)
                deliveries.append(delivery)
            self._release(deliveries)

    def _release(self, deliveries: list[Delivery]) -> None:
        """Apply armed IPN faults to one message (all its URLs), then queue it. Lock held."""
        mischief = self._mischief
        if mischief.drop:
            mischief.drop -= 1
            for delivery in deliveries:
                delivery.state = "dropped"
            return
        copies = 1
        if mischief.duplicate:
            mischief.duplicate -= 1
            copies = 2
        delay = 0.0
        if mischief.delay:
            mischief.delay -= 1
            delay = mischief.delay_seconds
        if mischief.reorder:
            for delivery in deliveries:
                delivery.state = "held"
            mischief.reorder_held.append(deliveries)
            if len(mischief.reorder_held) < mischief.reorder:
                return
            held, mischief.reorder_held, mischief.reorder = mischief.reorder_held, [], 0
            # Newest first, one at a time per URL: each waits until the one before it is done,
            # so that the order holds however many workers there are.
            last_for_url: dict[str, Delivery] = {}
            for group in reversed(held):
                for delivery in group:
                    delivery.state = "queued"
                    before = last_for_url.get(delivery.url)
                    if before is None:
                        self._enqueue(delivery, self._monotonic())
                    else:
                        before.then = delivery
                        self._waiting_in_line += 1
                    last_for_url[delivery.url] = delivery
            return
        due = self._monotonic() + delay
        for delivery in deliveries:
            for copy in range(copies):
                if copy:
                    duplicate = Delivery(
                        next(self._ids),
                        delivery.message_id,
                        delivery.url,
                        delivery.body,
                        delivery.headers,
                        delivery.notification_type,
                        delivery.object_id,
                    )
                    self._remember(duplicate)
                    self._enqueue(duplicate, due)
                else:
                    self._enqueue(delivery, due)

    def _remember(self, delivery: Delivery) -> None:
        self._log[delivery.id] = delivery
        while len(self._log) > _LOG_LIMIT:
            oldest_id, oldest = next(iter(self._log.items()))
            if oldest.state in ("queued", "held"):
                break
            del self._log[oldest_id]

    def _enqueue(self, delivery: Delivery, due: float) -> None:
        if self._journal is not None:
            self._journal.keep_ipn(delivery.id, self._wall() + (due - self._monotonic()), delivery.record())
        self._schedule(delivery, due)

    def _schedule(self, delivery: Delivery, due: float) -> None:
        heapq.heappush(self._ready, (due, next(self._sequence), delivery.id))
        self._condition.notify()

    def _done(self, delivery: Delivery) -> None:
        if self._journal is not None:
            self._journal.forget_ipn(delivery.id)
        self._release_next(delivery)

    def _release_next(self, delivery: Delivery) -> None:
        if delivery.then is not None:
            self._waiting_in_line -= 1
            self._enqueue(delivery.then, self._monotonic())
            delivery.then = None

    # -- delivering -----------------------------------------------------------------------------

    def _next(self) -> Delivery | None:
        with self._condition:
            while True:
                if self._stopping:
                    return None
                if self._ready and not self._paused:
                    due = self._ready[0][0]
                    wait = due - self._monotonic()
                    if wait <= 0:
                        _, _, delivery_id = heapq.heappop(self._ready)
                        self._in_flight += 1
                        return self._log[delivery_id]
                    self._condition.wait(timeout=wait)
                else:
                    self._condition.wait()

    def _work(self) -> None:
        while True:
            delivery = self._next()
            if delivery is None:
                return
            status, problem = self._send(delivery)
            with self._condition:
                self._in_flight -= 1
                self._settle(delivery, status, problem)

    def _send(self, delivery: Delivery) -> tuple[int | None, str | None]:
        parts = urlsplit(delivery.url)
        connection_class = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        connection = connection_class(parts.netloc, timeout=self._settings.request_timeout.total_seconds())
        path = parts.path or "/"
        if parts.query:
            path = f"{path}?{parts.query}"
        try:
            connection.request("POST", path, body=delivery.body, headers=delivery.headers)
            response = connection.getresponse()
            response.read()
            return response.status, None
        except (OSError, http.client.HTTPException) as failure:
            return None, f"{type(failure).__name__}: {failure}"
        finally:
            connection.close()

    def _settle(self, delivery: Delivery, status: int | None, problem: str | None) -> None:
        """Lock held. Amazon Pay: 2xx = acknowledged; 5xx and other non-2xx = retried; a 4xx or
        an unreachable endpoint = not retried (ipn-response.html; §7.1). The any-failure policy
        retries every failure."""
        delivery.attempts.append(Attempt(amazon_timestamp(self._clock.real_now()), status, problem))
        if status is not None and 200 <= status < 300:
            delivery.state = "delivered"
            self._done(delivery)
            return
        retry_any = self._settings.retry_policy == IPN_RETRY_ANY_FAILURE
        retryable = retry_any or (status is not None and not 400 <= status < 500)
        if not retryable or len(delivery.attempts) >= self._settings.max_attempts:
            delivery.state = "failed"
            logger.info("IPN %s to %s given up: %s", delivery.message_id, delivery.url, problem or status)
            self._done(delivery)
            return
        backoff = self._settings.retry_first_delay.total_seconds() * 2 ** (len(delivery.attempts) - 1)
        self._enqueue(delivery, self._monotonic() + backoff)
