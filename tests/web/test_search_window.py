"""Name searches page through a time window first (paydesk.orders.search.page_of): whatever the
window, the pages must hold exactly the orders a plain newest-first walk gives, in order."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from paydesk.orders.models import Order
from paydesk.orders.search import NAME_SEARCH_WINDOW, OrderFilters, page_of

pytestmark = pytest.mark.django_db
NAMES = ["Ann Ward", "Bo Edwards", "Cy Howard", "Di Stone", "Ed Ward"]


@pytest.fixture
def orders():
    now = timezone.now()
    made = []
    for i in range(60):
        # Uneven gaps, two orders sharing a moment, and a few far in the past.
        placed = (
            now - timedelta(hours=(i * 7) % 23 + i * 11) - (timedelta(days=400) if i > 52 else timedelta(0))
        )
        made.append(
            Order(
                number=str(5000 + i),
                placed_at=placed if i != 9 else made[8].placed_at,
                customer_name=NAMES[i % len(NAMES)],
                customer_email=f"b{i}@example.com",
                currency="USD",
                subtotal=Decimal("5.00"),
                total=Decimal("5.00"),
                status="processed",
            )
        )
    Order.objects.bulk_create(made)
    return made


def walk(filters: OrderFilters, window, size: int) -> tuple[list[str], list[str]]:
    """Every page older and older, then back newer and newer; the numbers seen each way."""
    orders = filters.apply(Order.objects.all())
    forward, pages, cursor = [], [], ""
    while True:
        page = page_of(orders, after=cursor, size=size, window=window)
        pages.append(page)
        forward += [o.number for o in page.orders]
        if not page.older:
            break
        cursor = page.older
    backward = []
    page = pages[-1]
    while page.newer:
        page = page_of(orders, before=page.newer, size=size, window=window)
        backward = [o.number for o in page.orders] + backward
    return forward, backward + [o.number for o in pages[-1].orders]


@pytest.mark.parametrize("window", [None, timedelta(hours=5), timedelta(days=3), timedelta(days=30)])
@pytest.mark.parametrize("text", ["ward", "Ed Ward", "zzz"])
def test_pages_hold_the_same_orders_whatever_the_window(orders, window, text):
    expected = [
        o.number
        for o in sorted(orders, key=lambda o: (o.placed_at, int(o.number)), reverse=True)
        if text.lower() in o.customer_name.lower()
    ]
    forward, backward = walk(OrderFilters(text=text), window, size=4)
    assert forward == expected
    assert backward == expected


def test_only_name_searches_get_a_window():
    assert OrderFilters(text="ward").window == NAME_SEARCH_WINDOW
    for text in ("", "#5001", "b1@example.com", "S01-1234567"):
        assert OrderFilters(text=text).window is None


def test_a_page_filled_within_the_window_costs_one_query(orders, django_assert_num_queries):
    filtered = OrderFilters(text="ward").apply(Order.objects.all())
    with django_assert_num_queries(1):
        page_of(filtered, size=3, window=timedelta(days=30))
    with django_assert_num_queries(2):  # 3 days hold fewer than 21 matches: look past them
        page_of(filtered, size=20, window=timedelta(days=3))
