"""Amazon's state machines, as data.

Each Amazon Pay object (order reference, authorization, capture, refund) moves through the
states Amazon documents (docs/amazon-pay-v1.md §3). Paydesk learns of those states from three
places that can arrive in any order — the reply to its own call, an IPN, a refresh — so the
one question asked here is: does this report move what we know forward, or is it stale?
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class Kind(enum.StrEnum):
    ORDER_REFERENCE = "order_reference"
    AUTHORIZATION = "authorization"
    CAPTURE = "capture"
    REFUND = "refund"


# Amazon's state names, exactly as they appear on the wire.
DRAFT, OPEN, SUSPENDED, CANCELED, CLOSED = "Draft", "Open", "Suspended", "Canceled", "Closed"
PENDING, DECLINED, COMPLETED = "Pending", "Declined", "Completed"

# Paydesk's own states for an object it asked Amazon to create.
# Unknown: the request is under way, or no reply came back (timeout, dropped connection) so
# Amazon may or may not have acted. Never guessed; a refresh looks the object up by its
# reference id.
UNKNOWN = "Unknown"
# Failed: Amazon refused the request (an ErrorResponse) or never received it; no object exists.
FAILED = "Failed"
PAYDESK_STATES = frozenset({UNKNOWN, FAILED})


@dataclass(frozen=True)
class StateMachine:
    kind: Kind
    # state -> the states Amazon may move it to next (docs/amazon-pay-v1.md §3.1-3.4)
    moves: dict[str, frozenset[str]]

    @property
    def states(self) -> frozenset[str]:
        return frozenset(self.moves)

    @property
    def terminal(self) -> frozenset[str]:
        return frozenset(state for state, nexts in self.moves.items() if not nexts)

    def reachable(self, state: str) -> frozenset[str]:
        """Every state that can follow `state`, directly or through states we never saw."""
        seen: set[str] = set()
        todo = list(self.moves.get(state, ()))
        while todo:
            nxt = todo.pop()
            if nxt not in seen:
                seen.add(nxt)
                todo.extend(self.moves.get(nxt, ()))
        return frozenset(seen)


ORDER_REFERENCE = StateMachine(
    Kind.ORDER_REFERENCE,
    {
        DRAFT: frozenset({OPEN, CANCELED}),
        # Open -> Suspended on an InvalidPaymentMethod decline, and back once the buyer
        # picks another payment method: the only cycle in Amazon's machines.
        OPEN: frozenset({SUSPENDED, CANCELED, CLOSED}),
        SUSPENDED: frozenset({OPEN, CANCELED, CLOSED}),
        CANCELED: frozenset(),
        CLOSED: frozenset(),
    },
)
AUTHORIZATION = StateMachine(
    Kind.AUTHORIZATION,
    {
        PENDING: frozenset({OPEN, DECLINED, CLOSED}),
        OPEN: frozenset({CLOSED}),
        DECLINED: frozenset(),
        CLOSED: frozenset(),
    },
)
CAPTURE = StateMachine(
    Kind.CAPTURE,
    {
        PENDING: frozenset({COMPLETED, DECLINED, CLOSED}),
        # A completed capture closes when it is refunded in full or after 10 refunds.
        COMPLETED: frozenset({CLOSED}),
        DECLINED: frozenset(),
        CLOSED: frozenset(),
    },
)
REFUND = StateMachine(
    Kind.REFUND,
    {
        PENDING: frozenset({COMPLETED, DECLINED}),
        COMPLETED: frozenset(),
        DECLINED: frozenset(),
    },
)

MACHINES = {m.kind: m for m in (ORDER_REFERENCE, AUTHORIZATION, CAPTURE, REFUND)}


class Verdict(enum.StrEnum):
    ADVANCE = "advance"  # a newer state: apply it
    REFRESH = "refresh"  # same state, newer details (e.g. a later LastUpdateTimestamp)
    STALE = "stale"  # older than what we know, or a move Amazon never makes: ignore


def judge(
    kind: Kind,
    known_state: str,
    known_updated: datetime | None,
    reported_state: str,
    reported_updated: datetime | None,
) -> Verdict:
    """Whether Amazon's report of an object moves what Paydesk knows forward.

    An IPN can arrive after a refresh already showed a later state, and SNS may deliver
    notifications out of order, so a report never moves an object backwards: a terminal state
    stays, an older LastUpdateTimestamp loses, and a move outside Amazon's machine is stale.
    """
    machine = MACHINES[kind]
    if reported_state not in machine.states:
        raise ValueError(f"{reported_state!r} is not a state of an Amazon {kind.value}")
    if known_state in PAYDESK_STATES:
        return Verdict.ADVANCE
    if known_state not in machine.states:
        raise ValueError(f"{known_state!r} is not a state of an Amazon {kind.value}")
    older = known_updated is not None and reported_updated is not None and reported_updated < known_updated
    if reported_state == known_state:
        newer = reported_updated is not None and (known_updated is None or reported_updated > known_updated)
        return Verdict.REFRESH if newer else Verdict.STALE
    if known_state in machine.terminal or older:
        return Verdict.STALE
    # Suspended <-> Open go both ways; the timestamp check above tells which came last.
    return Verdict.ADVANCE if reported_state in machine.reachable(known_state) else Verdict.STALE
