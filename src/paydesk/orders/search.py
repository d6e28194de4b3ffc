"""Finding orders: filters, text search and keyset pagination for the order list.

The list must stay fast on millions of orders, so it never counts the whole table and never
uses OFFSET: each page starts after the last row of the previous one (placed_at, id), which an
index serves directly. Text search picks one indexed column by what the text looks like,
instead of a slow OR of substring searches over all of them.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import DurationField, F, Q, QuerySet, Value
from django.utils import timezone

from paydesk.orders.models import Order

PAGE_SIZE = 50
_ORDER_REFERENCE = re.compile(r"^[PS]\d{2}-[\d-]*$", re.IGNORECASE)
_ORDER_NUMBER = re.compile(r"^#?\d[\w-]*$")


# Name searches look in this many days back from the page's start first (see page_of).
NAME_SEARCH_WINDOW = timedelta(days=30)


def search_kind(text: str) -> str:
    """What the search box's text looks like: "reference", "email", "number" or "name"."""
    text = text.strip()
    if _ORDER_REFERENCE.match(text):
        return "reference"
    if "@" in text:
        return "email"
    if _ORDER_NUMBER.match(text):
        return "number"
    return "name"


def text_filter(text: str) -> Q:
    """The condition for the search box: order number, e-mail, Amazon reference id or name."""
    text = text.strip()
    kind = search_kind(text)
    if kind == "reference":
        return Q(amazon_payment__amazon_order_reference_id__startswith=text.upper())
    if kind == "email":
        return Q(customer_email__startswith=text.lower())
    if kind == "number":
        return Q(number__startswith=text.lstrip("#"))
    return Q(customer_name__icontains=text)


@dataclass(frozen=True)
class OrderFilters:
    status: str = ""
    date_from: date | None = None
    date_to: date | None = None
    text: str = ""
    # One of paydesk.amazonpay.attention.KINDS: late, expiring, declined.
    attention: str = ""

    def apply(self, orders: QuerySet[Order]) -> QuerySet[Order]:
        tz = timezone.get_current_timezone()
        if self.attention:
            from paydesk.amazonpay import attention

            needing = attention.transactions(self.attention, timezone.now())
            orders = orders.filter(amazon_payment__in=needing.values("payment_id"))
        if self.status:
            orders = orders.filter(status=self.status)
        if self.date_from:
            orders = orders.filter(placed_at__gte=datetime.combine(self.date_from, time.min, tzinfo=tz))
        if self.date_to:
            orders = orders.filter(placed_at__lte=datetime.combine(self.date_to, time.max, tzinfo=tz))
        if self.text.strip():
            orders = orders.filter(text_filter(self.text))
        return orders

    @property
    def window(self) -> timedelta | None:
        """The window `page_of` should look in first: name searches only."""
        return NAME_SEARCH_WINDOW if self.text.strip() and search_kind(self.text) == "name" else None


def encode_cursor(order: Order) -> str:
    raw = f"{order.placed_at.isoformat()}|{order.pk}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str) -> tuple[datetime, int] | None:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        placed, pk = raw.split("|")
        moment, key = datetime.fromisoformat(placed), int(pk)
    except (ValueError, UnicodeDecodeError):
        return None
    # Only what `encode_cursor` could have made: an aware time with room for the name-search
    # window on either side, and a key the database's bigint holds.
    if moment.tzinfo is None or not 1900 <= moment.year <= 9000 or not 0 < key < 2**63:
        return None
    return moment, key


@dataclass(frozen=True)
class Page:
    orders: list[Order]
    newer: str | None  # cursor for the page before (newer orders), if any
    older: str | None  # cursor for the page after (older orders), if any


def page_of(
    orders: QuerySet[Order],
    *,
    after: str = "",
    before: str = "",
    size: int = PAGE_SIZE,
    window: timedelta | None = None,
) -> Page:
    """One page, newest first; `after`/`before` are cursors from a previous page's links.

    The plain `placed_at <=`/`>=` bound repeats what the OR already says, on purpose: the planner
    cannot start an index scan at an OR, so without it PostgreSQL walks the index from the newest
    (or oldest) order to the cursor - a page deep in a million orders took over 100 ms that way
    (bench/order_pages.py); with it the scan starts at the cursor.

    `window` (name searches): look for the page's rows within that span of time from where the
    page starts first, and past it only if the page is not full. A substring of a name can match
    a thousandth of the orders or a hundredth, and PostgreSQL cannot tell which before it runs:
    guessing "few" it fetched all 16,000 matches of a common surname through the trigram index to
    sort them (200-290 ms on a million orders), guessing "many" it walked the whole date index for
    a rare one (400 ms). Within a window either guess costs little; past it, a name that did not
    fill the page in the window is rare, and the trigram index serves it.
    """
    before_key = decode_cursor(before) if before else None
    after_key = decode_cursor(after) if after else None
    if before_key:
        placed, pk = before_key
        newer = (
            orders.filter(placed_at__gte=placed)
            .filter(Q(placed_at__gt=placed) | Q(placed_at=placed, pk__gt=pk))
            .order_by("placed_at", "id")
        )
        rows = _first(newer, size + 1, window, start=placed, forward_in_time=True)
        more_newer = len(rows) > size
        rows = list(reversed(rows[:size]))
        return Page(
            rows,
            encode_cursor(rows[0]) if more_newer and rows else None,
            encode_cursor(rows[-1]) if rows else None,
        )
    start = timezone.now()
    if after_key:
        placed, pk = after_key
        start = placed
        orders = orders.filter(placed_at__lte=placed).filter(
            Q(placed_at__lt=placed) | Q(placed_at=placed, pk__lt=pk)
        )
    rows = _first(orders.order_by("-placed_at", "-id"), size + 1, window, start=start, forward_in_time=False)
    more_older = len(rows) > size
    rows = rows[:size]
    return Page(
        rows,
        encode_cursor(rows[0]) if after_key and rows else None,
        encode_cursor(rows[-1]) if more_older else None,
    )


def _first(
    ordered: QuerySet[Order], count: int, window: timedelta | None, *, start: datetime, forward_in_time: bool
) -> list[Order]:
    """The first `count` rows of `ordered` (sorted by placed_at, away from `start`); with a
    `window`, two queries split at start +/- window, the second only when the first falls short."""
    if window is None:
        return list(ordered[:count])
    if forward_in_time:
        edge = start + window
        near, far = Q(placed_at__lt=edge), Q(placed_at__gte=edge)
    else:
        edge = start - window
        near, far = Q(placed_at__gte=edge), Q(placed_at__lt=edge)
    rows = list(ordered.filter(near)[:count])
    if len(rows) < count:
        # Past the window the name is rare (it did not fill the page within it): the right plan
        # fetches its few matches through the trigram index and sorts them. PostgreSQL may guess
        # "common" from its statistics and walk the date index through every older order instead
        # (a full name: 170-340 ms on a million orders); ordering by an expression that index
        # cannot give rules that plan out. Same order: adding zero changes no placed_at.
        moment = F("placed_at") + Value(timedelta(0), output_field=DurationField())
        order = (moment.asc(), "id") if forward_in_time else (moment.desc(), "-id")
        rows += list(ordered.filter(far).order_by(*order)[: count - len(rows)])
    return rows
