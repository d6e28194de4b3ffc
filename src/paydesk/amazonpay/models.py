"""What Paydesk stores about Amazon Pay: the store's settings, each order's payment, every
authorization, capture and refund, and an append-only trail of everything that happened."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timedelta

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings as django_settings
from django.db import models
from django.utils import timezone

from paydesk.amazonpay import schedule
from paydesk.orders.models import Order
from paydesk.payments import limits
from paydesk.payments.money import Money
from paydesk.payments.payment import Payment as PaymentView
from paydesk.payments.payment import PaymentMode
from paydesk.payments.payment import Transaction as TransactionView
from paydesk.payments.states import Kind


class Environment(models.TextChoices):
    OFFLINE_SANDBOX = "offline_sandbox", "Offline sandbox (paydesk sandbox)"
    SANDBOX = "sandbox", "Amazon Pay sandbox"
    LIVE = "live", "Amazon Pay live"


class Region(models.TextChoices):
    NA = "na", "United States (NA)"
    UK = "uk", "United Kingdom"
    EU = "eu", "Europe (DE)"
    JP = "jp", "Japan"


class AuthorizationMode(models.TextChoices):
    SYNCHRONOUS = "sync", "Synchronous (answer at checkout)"
    ASYNCHRONOUS = "async", "Asynchronous (answer by IPN)"


def _fernet() -> Fernet:
    # The Amazon secret key is stored sealed with a key derived from Django's SECRET_KEY, so a
    # database dump alone does not reveal it.
    digest = hashlib.sha256(b"paydesk.amazonpay.secret-key:" + django_settings.SECRET_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


# The settings form's limit for refresh_after_minutes: one week.
REFRESH_AFTER_MINUTES_MAX = 7 * 24 * 60


class AmazonPaySettings(models.Model):
    """The store's Amazon Pay configuration: a single row (pk=1)."""

    environment = models.CharField(
        max_length=16, choices=Environment.choices, default=Environment.OFFLINE_SANDBOX
    )
    offline_sandbox_url = models.URLField("Offline sandbox URL", default="http://127.0.0.1:8001", blank=True)
    seller_id = models.CharField("Seller ID", max_length=32, blank=True)
    access_key = models.CharField("MWS access key", max_length=64, blank=True)
    secret_key_sealed = models.TextField(blank=True, editable=False)
    region = models.CharField(max_length=2, choices=Region.choices, default=Region.NA)
    currency = models.CharField(max_length=3, default="USD")
    payment_mode = models.CharField(
        max_length=32,
        choices=[(m.value, m.label) for m in PaymentMode],
        default=PaymentMode.AUTHORIZE_THEN_CAPTURE.value,
    )
    authorization_mode = models.CharField(
        max_length=8, choices=AuthorizationMode.choices, default=AuthorizationMode.SYNCHRONOUS
    )
    ipn_topic_arn = models.CharField(
        "IPN topic ARN (optional)",
        max_length=256,
        blank=True,
        help_text="When set, notifications from any other SNS topic are refused.",
    )
    refresh_after_minutes = models.PositiveIntegerField(
        default=0,
        help_text="Offer Refresh status for a pending payment after this many minutes.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "Amazon Pay settings"
        verbose_name_plural = "Amazon Pay settings"

    @classmethod
    def load(cls) -> AmazonPaySettings:
        obj, _ = cls.objects.get_or_create(pk=1)
        return obj

    @property
    def pending_grace(self) -> timedelta:
        """How long a pending payment waits before Refresh status is offered. At most a week,
        the settings form's limit: a larger value saved before the form had one must not
        break every order page (timedelta overflows)."""
        return timedelta(minutes=min(self.refresh_after_minutes, REFRESH_AFTER_MINUTES_MAX))

    @property
    def secret_key(self) -> str:
        if not self.secret_key_sealed:
            return ""
        try:
            return _fernet().decrypt(self.secret_key_sealed.encode()).decode()
        except InvalidToken:
            # SECRET_KEY changed since the key was saved: it has to be entered again.
            return ""

    @secret_key.setter
    def secret_key(self, value: str) -> None:
        self.secret_key_sealed = _fernet().encrypt(value.encode()).decode() if value else ""

    @property
    def has_secret_key(self) -> bool:
        return bool(self.secret_key)

    @property
    def is_configured(self) -> bool:
        return bool(self.seller_id and self.access_key and self.has_secret_key)

    @property
    def mode(self) -> PaymentMode:
        return PaymentMode(self.payment_mode)

    def __repr__(self) -> str:
        return f"<AmazonPaySettings {self.environment} seller={self.seller_id!r}>"


def check_timing() -> schedule.Timing:
    """How patiently the reconciler asks Amazon: live Amazon takes longer than its sandboxes."""
    environment = AmazonPaySettings.objects.filter(pk=1).values_list("environment", flat=True).first()
    return schedule.LIVE if environment == Environment.LIVE else schedule.SANDBOX


class Payment(models.Model):
    """An order's Amazon Pay payment: its order reference and what was done on it."""

    order = models.OneToOneField(Order, related_name="amazon_payment", on_delete=models.PROTECT)
    amazon_order_reference_id = models.CharField("Amazon Order Reference ID", max_length=32, unique=True)
    order_reference_state = models.CharField(max_length=16, default="Draft")
    order_reference_reason = models.CharField(max_length=64, blank=True)
    order_reference_updated = models.DateTimeField(null=True, blank=True)
    order_total = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    # The payment action in force when the buyer paid: changing the store setting later does
    # not change what an existing order offers.
    mode = models.CharField(max_length=32, choices=[(m.value, m.label) for m in PaymentMode])
    created_at = models.DateTimeField(default=timezone.now)
    # The reconciler's timetable (paydesk.amazonpay.schedule): when this payment next needs
    # Amazon's word and why, kept up to date by the payment service each time it records
    # something; `checked_at` is the last refresh (the reconciler's, or one a person asked
    # for) and `checks` how many the reconciler made in a row for `check_reason` (repeated
    # checks back off).
    next_check_at = models.DateTimeField(null=True, blank=True)
    check_reason = models.CharField(
        max_length=32, blank=True, choices=[(r.value, r.label) for r in schedule.CheckReason]
    )
    checked_at = models.DateTimeField(null=True, blank=True)
    checks = models.PositiveIntegerField(default=0)
    # A reconciler worker is walking this payment until then (its lease): no other worker takes
    # it meanwhile, whatever the walk's own records do to the plan above. Past it, a worker that
    # died has let go.
    claimed_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # Only payments with something to check are in it: the reconciler's range scan
            # stays small however many settled payments the table holds.
            models.Index(
                fields=["next_check_at"],
                name="payment_next_check_idx",
                condition=models.Q(next_check_at__isnull=False),
            )
        ]

    def __str__(self) -> str:
        return self.amazon_order_reference_id

    def plan_next_check(self, view: PaymentView, *, unknown_settle: timedelta) -> None:
        """Store when the reconciler should next ask Amazon about this (locked) payment.

        Called by the payment service whenever it records something; `unknown_settle` is the
        service's time after which an Unknown request cannot still be on its way.
        """
        check = schedule.next_check(
            view,
            checked_at=self.checked_at,
            checked_for=self.check_reason,
            checks=self.checks,
            # A requested check stands until a refresh after it.
            requested=self.next_check_at if self._requested_check_stands() else None,
            unknown_settle=unknown_settle,
            # Amazon's ids say which environment made them: P... live, S... a sandbox
            # (docs/amazon-pay-v1.md §1.5), so no settings query is needed here.
            timing=schedule.SANDBOX if self.is_sandbox else schedule.LIVE,
        )
        due = check.due if check is not None else None
        reason = check.reason.value if check is not None else ""
        checks = self.checks if reason == self.check_reason else 0
        if (due, reason, checks) != (self.next_check_at, self.check_reason, self.checks):
            self._store_check(due, reason, checks)

    def _store_check(self, due: datetime | None, reason: str, checks: int) -> None:
        self.next_check_at, self.check_reason, self.checks = due, reason, checks
        Payment.objects.filter(pk=self.pk).update(next_check_at=due, check_reason=reason, checks=checks)

    def _requested_check_stands(self) -> bool:
        if self.check_reason != schedule.CheckReason.REQUESTED or self.next_check_at is None:
            return False
        return self.checked_at is None or self.next_check_at > self.checked_at

    def refreshed(self, at: datetime) -> None:
        """A refresh that began at `at` had Amazon's word on everything: checks that fell due
        before it are satisfied, and what it found is trusted without an IPN."""
        if self.checked_at is not None and self.checked_at >= at:
            return
        self.checked_at = at
        Payment.objects.filter(pk=self.pk).update(checked_at=at)

    def check_within(self, delay: timedelta) -> None:
        """Have the reconciler ask Amazon about this (locked) payment within `delay`, unless a
        check is due sooner. For calls that leave no transaction to plan from (void, close,
        cancel); `plan_next_check` keeps the requested check until a refresh after it."""
        due = timezone.now() + delay
        if self.next_check_at is None or self.next_check_at > due:
            self._store_check(due, schedule.CheckReason.REQUESTED.value, 0)

    @property
    def is_sandbox(self) -> bool:
        # Live order references start with P, sandbox ones with S (docs/amazon-pay-v1.md §1.5).
        return not self.amazon_order_reference_id.startswith("P")

    @property
    def order_total_money(self) -> Money:
        return Money(self.order_total, self.currency)

    def view(self, transactions: list[Transaction] | None = None) -> PaymentView:
        """This payment as the pure core sees it."""
        rows = transactions if transactions is not None else list(self.transactions.all())
        return PaymentView(
            order_total=self.order_total_money,
            mode=PaymentMode(self.mode),
            order_reference_state=self.order_reference_state,
            transactions=tuple(t.view(sandbox=self.is_sandbox) for t in rows),
            fulfilled=self.order.fulfilled,
            confirmed_at=self.checked_at,
            check_requested=self._requested_check_stands(),
        )


class Transaction(models.Model):
    """One authorization, capture or refund, as Amazon last reported it.

    Created, with its reference id, before Amazon is called, so a crash after Amazon acted
    can be recovered by looking the object up by that reference id.
    """

    payment = models.ForeignKey(Payment, related_name="transactions", on_delete=models.PROTECT)
    kind = models.CharField(max_length=16, choices=[(k.value, k.value) for k in Kind])
    # Unique per kind, not overall: the capture Amazon makes for an Authorize with CaptureNow
    # carries the authorization's reference id.
    reference_id = models.CharField(max_length=32)
    amazon_id = models.CharField(max_length=40, unique=True, null=True, blank=True)
    # A capture's authorization id, a refund's capture id.
    parent_amazon_id = models.CharField(max_length=40, blank=True)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    state = models.CharField(max_length=16)
    reason_code = models.CharField(max_length=64, blank=True)
    reason_description = models.CharField(max_length=255, blank=True)
    soft_decline = models.BooleanField(default=False)
    fee = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    amazon_updated_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    requested_at = models.DateTimeField(default=timezone.now)
    notified = models.BooleanField(default=False)
    capture_now = models.BooleanField(default=False)
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)
    # The staff form's (or API client's) idempotency key: the same key twice is one movement.
    idempotency_key = models.CharField(max_length=64, unique=True, null=True, blank=True)

    class Meta:
        ordering = ["requested_at", "id"]
        indexes = [
            models.Index(fields=["state", "requested_at"], name="txn_state_idx"),
            # "Authorizations expiring within 7 days": without it PostgreSQL read every Open
            # transaction and dropped three in four (bench/order_pages.py --explain).
            models.Index(
                fields=["expires_at"],
                condition=models.Q(kind="authorization", state="Open"),
                name="txn_expiring_idx",
            ),
        ]
        constraints = [models.UniqueConstraint(fields=["kind", "reference_id"], name="txn_reference_unique")]

    def __str__(self) -> str:
        return f"{self.kind} {self.amazon_id or self.reference_id}"

    @property
    def amount_money(self) -> Money:
        return Money(self.amount, self.currency)

    def view(self, *, sandbox: bool = False) -> TransactionView:
        expires_at = self.expires_at
        if sandbox and self.kind == Kind.AUTHORIZATION and self.requested_at is not None:
            # What Amazon's sandbox does, not what it says.
            closes = self.requested_at + timedelta(days=limits.SANDBOX_AUTHORIZATION_VALIDITY_DAYS)
            expires_at = closes if expires_at is None else min(expires_at, closes)
        return TransactionView(
            kind=Kind(self.kind),
            reference_id=self.reference_id,
            amount=self.amount_money,
            state=self.state,
            amazon_id=self.amazon_id,
            parent_id=self.parent_amazon_id or None,
            reason_code=self.reason_code or None,
            reason_description=self.reason_description or None,
            last_updated=self.amazon_updated_at,
            requested_at=self.requested_at,
            expires_at=expires_at,
            notified=self.notified,
            soft_decline=self.soft_decline,
        )


class Source(models.TextChoices):
    STAFF = "staff", "Staff"
    IPN = "ipn", "IPN"
    REFRESH = "refresh", "Refresh"
    CHECKOUT = "checkout", "Checkout"
    RECONCILER = "reconciler", "Reconciler"
    API = "api", "API"


class Outcome(models.TextChoices):
    DONE = "done", "Done"
    PENDING = "pending", "Pending"
    DECLINED = "declined", "Declined"
    FAILED = "failed", "Failed"
    UNKNOWN = "unknown", "Outcome unknown"
    REFUSED = "refused", "Refused by Paydesk"
    INFO = "info", "Info"
    STALE = "stale", "Ignored (older news)"


class PaymentEvent(models.Model):
    """One API call, notification or staff action on a payment: the audit trail.

    Rows are only ever added; the payment's state is checked against them, never rebuilt
    from memory.
    """

    payment = models.ForeignKey(Payment, related_name="events", on_delete=models.PROTECT)
    transaction = models.ForeignKey(
        Transaction, related_name="events", null=True, blank=True, on_delete=models.PROTECT
    )
    at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=16, choices=Source.choices)
    actor = models.CharField(max_length=150, blank=True)
    operation = models.CharField(max_length=64)
    reference_id = models.CharField(max_length=32, blank=True)
    amazon_id = models.CharField(max_length=40, blank=True)
    amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    state = models.CharField(max_length=16, blank=True)
    reason_code = models.CharField(max_length=64, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    message = models.TextField(blank=True)
    request_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["-at", "-id"], name="event_at_idx")]

    @property
    def amount_money(self) -> Money | None:
        return Money(self.amount, self.currency) if self.amount is not None else None


class Verdict(models.TextChoices):
    RECEIVED = "received", "Received"
    ACCEPTED = "accepted", "Accepted"
    DUPLICATE = "duplicate", "Duplicate"
    REJECTED = "rejected", "Rejected"
    MALFORMED = "malformed", "Malformed"
    RETRY = "retry", "Not verified yet (Amazon will retry)"


class Notification(models.Model):
    """One HTTP request to the IPN endpoint, stored raw before anything else happens.

    `message_id` is set only once the message is verified, so the unique constraint stops a
    verified SNS message from being applied twice while forged copies stay on record.
    """

    received_at = models.DateTimeField(default=timezone.now)
    remote_addr = models.CharField(max_length=64, blank=True)
    headers = models.JSONField(default=dict)
    body = models.TextField(blank=True)
    body_size = models.PositiveIntegerField(default=0)
    claimed_message_id = models.CharField(max_length=100, blank=True)
    message_id = models.CharField(max_length=100, unique=True, null=True, blank=True)
    verdict = models.CharField(max_length=16, choices=Verdict.choices, default=Verdict.RECEIVED)
    reason = models.CharField(max_length=64, blank=True)
    detail = models.TextField(blank=True)
    sns_type = models.CharField(max_length=32, blank=True)
    notification_type = models.CharField(max_length=64, blank=True)
    seller_id = models.CharField(max_length=32, blank=True)
    amazon_id = models.CharField(max_length=40, blank=True)
    object_state = models.CharField(max_length=16, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    payment = models.ForeignKey(
        Payment, related_name="notifications", null=True, blank=True, on_delete=models.PROTECT
    )
    applied = models.BooleanField(default=False)
    applied_at = models.DateTimeField(null=True, blank=True)
    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="duplicates"
    )

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["-received_at", "-id"], name="ipn_received_idx"),
            models.Index(fields=["verdict", "-received_at"], name="ipn_verdict_idx"),
        ]

    def __str__(self) -> str:
        return f"IPN {self.notification_type or self.sns_type or '?'} {self.claimed_message_id}"


class QuotaBucket(models.Model):
    """One of Amazon's per-seller, per-operation token buckets, as every Paydesk process sees it.

    Amazon throttles each operation per seller across all of the seller's callers, so on
    PostgreSQL every web process and reconcile worker paces its requests through these rows
    (`paydesk.amazonpay.quota.PostgresBuckets`, one atomic UPDATE per request).
    """

    # The seller id and "sandbox" or "live": Amazon's sandbox and live buckets are separate.
    account = models.CharField(max_length=48)
    operation = models.CharField(max_length=64)
    # May go below zero: requests queued for tokens that do not exist yet.
    tokens = models.FloatField()
    counted_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "operation"], name="quota_bucket_unique")]

    def __str__(self) -> str:
        return f"{self.account} {self.operation}: {self.tokens:.2f}"
