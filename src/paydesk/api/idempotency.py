"""Idempotency keys for the actions (the Idempotency-Key header, IETF
draft-ietf-httpapi-idempotency-key-header: 400 without a key, 409 while the first request
with the key still runs, 422 for the same key with a different request).

The key row is inserted and committed *before* the action runs. The database's unique
constraint on (user, key) then decides which of two concurrent copies runs: the other one
fails to insert and finds the row, still running (409) or finished (its stored reply).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from paydesk.api.models import IdempotentRequest

# A request still marked running after this long died with its process (a payment action
# takes seconds: the client's retries are bounded at 30 s); its key may be taken over.
ABANDONED_AFTER = timedelta(minutes=10)


def fingerprint(method: str, path: str, body: dict) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(f"{method}\n{path}\n{canonical}".encode()).hexdigest()


def service_key(user_id: int, key: str) -> str:
    """The key handed to the payment service, which keeps one key space for every caller
    (web forms too): derived from the user and the client's key so two API users' keys never
    meet. 60 characters, inside the service's 64."""
    return "api-" + hashlib.sha256(f"{user_id}\n{key}".encode()).hexdigest()[:56]


@dataclass(frozen=True)
class Claimed:
    """This request holds the key: run the action, then `finish`."""

    row: IdempotentRequest


@dataclass(frozen=True)
class Finished:
    """The same request ran before: answer its stored reply."""

    row: IdempotentRequest


@dataclass(frozen=True)
class Running:
    row: IdempotentRequest


@dataclass(frozen=True)
class Reused:
    """The key belongs to a different request."""

    row: IdempotentRequest


def claim(
    user, key: str, *, method: str, path: str, body: dict, now: datetime | None = None
) -> Claimed | Finished | Running | Reused:
    now = now or timezone.now()
    mark = fingerprint(method, path, body)
    for _ in range(3):
        try:
            with transaction.atomic():
                row = IdempotentRequest.objects.create(
                    user=user, key=key, fingerprint=mark, method=method, path=path[:255], started_at=now
                )
            return Claimed(row)
        except IntegrityError:
            row = IdempotentRequest.objects.filter(user=user, key=key).first()
        if row is None:
            continue  # deleted between our insert and our read: try to insert again
        if row.fingerprint != mark:
            return Reused(row)
        if row.finished_at is not None:
            return Finished(row)
        if row.started_at < now - ABANDONED_AFTER:
            # Take over a dead request's key; of two takers only the one whose UPDATE still
            # sees the old start time wins.
            taken = IdempotentRequest.objects.filter(
                pk=row.pk, finished_at=None, started_at=row.started_at
            ).update(started_at=now)
            if taken:
                row.started_at = now
                return Claimed(row)
        return Running(row)
    return Running(row)  # pragma: no cover - the row kept vanishing: let the client retry


def finish(claimed: Claimed, *, status: int, content_type: str, body: str) -> None:
    IdempotentRequest.objects.filter(pk=claimed.row.pk, finished_at=None).update(
        finished_at=timezone.now(), status_code=status, content_type=content_type, body=body
    )


def release(claimed: Claimed, *, now: datetime | None = None) -> None:
    """Give the key back after a crash in our own code, so the client's retry can run at once.

    The row stays, marked as abandoned, so the key keeps its request's fingerprint: only the
    same request may take it over (`claim`), a different one is still refused as a reuse.
    Safe for money: for capture, refund and authorize the payment service keeps its own copy
    of the key on the transaction it created and answers a repeat with that transaction; void,
    close, cancel and refresh are checked against the payment's state again, so a repeat of
    one that happened is refused (or, for refresh, harmless)."""
    abandoned = (now or timezone.now()) - ABANDONED_AFTER - timedelta(seconds=1)
    IdempotentRequest.objects.filter(pk=claimed.row.pk, finished_at=None).update(started_at=abandoned)
