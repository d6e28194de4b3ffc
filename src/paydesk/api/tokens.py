"""API tokens: made, found by their digest, revoked."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from paydesk.api.models import ApiToken

# "pdk_" marks a Paydesk API token in logs and secret scanners; 32 random bytes follow.
TOKEN_PREFIX = "pdk_"  # noqa: S105 - a marker, not a secret
# RFC 6750 §2.1 b64token: the characters a Bearer credential may contain.
_BEARER = re.compile(r"^Bearer +([A-Za-z0-9\-._~+/]+=*) *$", re.IGNORECASE)
# Recording every use would turn each read into a database write; once a minute is enough
# to tell a token in use from a forgotten one.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def digest_of(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(user: AbstractBaseUser, *, name: str = "") -> tuple[ApiToken, str]:
    """A new token for `user`: the stored row and the token itself, which is never stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken.objects.create(user=user, name=name[:100], digest=digest_of(token), prefix=token[:12])
    return row, token


def bearer_token(authorization: str) -> str | None:
    """The token of an `Authorization: Bearer …` header, or None for any other header."""
    match = _BEARER.fullmatch(authorization.strip())
    return match.group(1) if match else None


def user_for(token: str):
    """The active user an unrevoked token belongs to, or None."""
    row = ApiToken.objects.select_related("user").filter(digest=digest_of(token), revoked_at=None).first()
    if row is None or not row.user.is_active:
        return None
    now = timezone.now()
    if row.last_used_at is None or row.last_used_at < now - LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
    return row.user


def revoke(rows) -> int:
    """Revoke these tokens (a queryset); returns how many were still active."""
    return rows.filter(revoked_at=None).update(revoked_at=timezone.now())
