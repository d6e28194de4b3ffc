"""Faults on demand: make the next N calls of an operation fail the way networks and Amazon fail.

"act_then_*" modes are the dangerous case a payment client must survive: Amazon performed the
operation and committed it (money may have moved), but the reply never arrives intact.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace

TIMEOUT = "timeout"  # hold the connection, then close it without a reply
HTTP_500 = "500"  # InternalServerError, nothing done
HTTP_503 = "503"  # ServiceUnavailable, nothing done
RESET = "reset"  # TCP reset before anything is done
ACT_THEN_RESET = "act_then_reset"
ACT_THEN_500 = "act_then_500"
ACT_THEN_TIMEOUT = "act_then_timeout"

MODES = frozenset({TIMEOUT, HTTP_500, HTTP_503, RESET, ACT_THEN_RESET, ACT_THEN_500, ACT_THEN_TIMEOUT})
ACTING_MODES = frozenset({ACT_THEN_RESET, ACT_THEN_500, ACT_THEN_TIMEOUT})
ANY_OPERATION = "*"
# A held connection is released after at most this long, so no test can hang the sandbox.
MAX_HOLD_SECONDS = 120.0


@dataclass(frozen=True, slots=True)
class Fault:
    operation: str
    mode: str
    remaining: int
    hold_seconds: float = 10.0

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown fault mode {self.mode!r}; choose from {sorted(MODES)}")
        if self.remaining < 1:
            raise ValueError("a fault must apply to at least one call")
        if not 0 <= self.hold_seconds <= MAX_HOLD_SECONDS:
            raise ValueError(f"hold_seconds must be between 0 and {MAX_HOLD_SECONDS:g}")

    @property
    def acts_first(self) -> bool:
        return self.mode in ACTING_MODES

    def as_json(self) -> dict[str, object]:
        return {
            "operation": self.operation,
            "mode": self.mode,
            "remaining": self.remaining,
            "hold_seconds": self.hold_seconds,
        }


class FaultPlan:
    """Thread-safe queue of armed faults; the first one matching an operation is used."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def arm(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def take(self, action: str) -> Fault | None:
        with self._lock:
            for index, fault in enumerate(self._faults):
                if fault.operation in (action, ANY_OPERATION):
                    if fault.remaining == 1:
                        del self._faults[index]
                    else:
                        self._faults[index] = replace(fault, remaining=fault.remaining - 1)
                    return fault
        return None

    def armed(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
