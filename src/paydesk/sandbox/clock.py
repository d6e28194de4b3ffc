"""The sandbox clock: real time plus an offset that tests can push forward (never back).

Everything Amazon would do "later" (settle an authorization, complete a refund, expire an
authorization after 30 days) is due at a time on this clock. Request Timestamps are *not* checked
against it but against the real clock, because the client signing the request lives in real time.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

# ISO 8601 durations as used by the control API: P3D, PT90M, P1DT2H30M, PT0.5S. Years and months
# have no fixed length, so they are refused rather than guessed.
_DURATION = re.compile(
    r"^P(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)


def parse_duration(text: str) -> timedelta:
    """`P3D` -> 3 days. Raises ValueError for anything else (including `P1M`)."""
    match = _DURATION.match(text)
    if not match or text in ("P", "PT") or text.endswith("T"):
        raise ValueError(f"{text!r} is not an ISO 8601 duration like P3D or PT15M")
    parts = {name: float(value) for name, value in match.groupdict().items() if value}
    return timedelta(**parts)


def utc_now() -> datetime:
    return datetime.now(UTC)


class SandboxClock:
    """Thread-safe: many request threads read it while a control call moves it."""

    def __init__(self, offset: timedelta = timedelta(0), real_now: Callable[[], datetime] = utc_now):
        self._offset = offset
        self._real_now = real_now
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            offset = self._offset
        return self._real_now() + offset

    def real_now(self) -> datetime:
        return self._real_now()

    @property
    def offset(self) -> timedelta:
        with self._lock:
            return self._offset

    def advance(self, by: timedelta) -> datetime:
        if by < timedelta(0):
            raise ValueError("the sandbox clock only moves forward")
        with self._lock:
            self._offset += by
        return self.now()


def amazon_timestamp(moment: datetime) -> str:
    """Amazon's timestamp format: ISO 8601 UTC with milliseconds, e.g. 2015-10-30T21:02:38.508Z."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_request_timestamp(text: str) -> datetime:
    """A request's Timestamp: ISO 8601, any offset; the SDKs send `...Z` with or without millis."""
    candidate = text.strip()
    if candidate.endswith(("Z", "z")):
        candidate = candidate[:-1] + "+00:00"
    moment = datetime.fromisoformat(candidate)
    if moment.tzinfo is None:  # MWS reads an offset-less time as UTC
        moment = moment.replace(tzinfo=UTC)
    return moment
