"""What the API stores: the tokens programs authenticate with, and the idempotency keys of
the actions they asked for."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class ApiToken(models.Model):
    """A bearer token that acts as one Django user.

    Only the SHA-256 digest of the token is kept: the token itself is shown once, when it is
    made. A plain hash (no salt, no slow KDF) is enough because tokens are 256 random bits,
    not passwords a person chose; it also lets a request find its token with one indexed
    lookup.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, related_name="api_tokens", on_delete=models.CASCADE)
    name = models.CharField(max_length=100, blank=True)
    digest = models.CharField(max_length=64, unique=True)
    # The first characters of the token, so a person can tell their tokens apart.
    prefix = models.CharField(max_length=16)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user}{', ' + self.name if self.name else ''})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class IdempotentRequest(models.Model):
    """One action request, keyed by its client's Idempotency-Key, and the reply it got.

    The row is inserted (and committed) before the action runs; the unique constraint on
    (user, key) is what stops two concurrent copies of a request from both running.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, related_name="api_idempotent_requests", on_delete=models.CASCADE
    )
    key = models.CharField(max_length=64)
    # SHA-256 of the method, the path and the canonical JSON body.
    fingerprint = models.CharField(max_length=64)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=255)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    content_type = models.CharField(max_length=64, blank=True)
    body = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="api_idempotency_key_unique")]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}]"
