from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.contrib.auth.decorators import login_required, permission_required
from django.db.models import Count, Sum
from django.db.models.functions import TruncDate
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe

from paydesk.amazonpay import attention
from paydesk.amazonpay.models import Transaction
from paydesk.dashboard.charts import Bar, columns, horizontal_bars
from paydesk.orders.models import VIEW_ORDERS, Order
from paydesk.payments.money import Money, minor_unit
from paydesk.payments.status import OrderStatus

_TONE = {
    OrderStatus.AUTHORIZED: "warn",
    OrderStatus.QUEUED: "warn",
    OrderStatus.DECLINED: "bad",
    OrderStatus.FAILED: "bad",
    OrderStatus.CANCELED: "bad",
    OrderStatus.PROCESSED: "ok",
    OrderStatus.COMPLETED: "ok",
    OrderStatus.PARTIALLY_CAPTURED: "ok",
}


def summed(value: Decimal | float | int | None, currency: str) -> Money:
    """A database SUM as money in its currency.

    SQLite keeps decimals as integers or floats and sums them as such, so the sum of 1000.05,
    100.40 and 42.40 comes back as 1142.8500000000001 or 1142.85000000000. Read through its
    text (never computed with as a float), then rounded to the currency's minor unit:
    every summand had at most that many decimals, so only the float noise is dropped.
    """
    if value is None:
        return Money.zero(currency)
    return Money(Decimal(str(value)).quantize(minor_unit(currency)), currency)


@login_required
@permission_required(VIEW_ORDERS, raise_exception=True)
def dashboard(request):
    now = timezone.now()
    orders_url = reverse("orders:list")
    by_status = {
        (row["status"], row["currency"]): row
        for row in Order.objects.values("status", "currency").annotate(n=Count("id"), amount=Sum("total"))
    }
    currencies = sorted({currency for _, currency in by_status}) or ["USD"]
    status_rows = []
    for status in OrderStatus:
        amounts = [
            summed(by_status[(status.value, c)]["amount"], c)
            for c in currencies
            if (status.value, c) in by_status
        ]
        count = sum(by_status[(status.value, c)]["n"] for c in currencies if (status.value, c) in by_status)
        status_rows.append({"status": status, "count": count, "amounts": amounts})
    chart = horizontal_bars(
        [
            Bar(
                r["status"].label,
                r["count"],
                str(r["count"]),
                f"{orders_url}?status={r['status'].value}",
                _TONE.get(r["status"], ""),
            )
            for r in status_rows
        ]
    )

    since = (now - timedelta(days=29)).date()
    per_day = {
        row["day"]: row["n"]
        for row in Order.objects.filter(placed_at__date__gte=since)
        .annotate(day=TruncDate("placed_at"))
        .values("day")
        .annotate(n=Count("id"))
    }
    days = [since + timedelta(days=i) for i in range(30)]
    orders_chart = columns([(f"{day:%b %d}", per_day.get(day, 0)) for day in days])

    captured_week = (
        Transaction.objects.filter(
            kind="capture", state__in=("Completed", "Closed"), requested_at__gte=now - timedelta(days=7)
        )
        .values("currency")
        .annotate(amount=Sum("amount"))
    )
    attention_rows = [
        {
            "kind": kind,
            "label": label,
            "count": attention.transactions(kind, now).values("payment_id").distinct().count(),
            "href": f"{orders_url}?attention={kind}",
        }
        for kind, label in attention.KINDS.items()
    ]
    recent_declines = attention.declined(now).select_related("payment__order").order_by("-requested_at")[:10]
    return render(
        request,
        "dashboard/index.html",
        {
            "section": "dashboard",
            "status_rows": status_rows,
            "status_chart": mark_safe(chart),  # noqa: S308 - built by charts.py, every text escaped
            "orders_chart": mark_safe(orders_chart),  # noqa: S308 - idem
            "attention_rows": attention_rows,
            "recent_declines": recent_declines,
            "captured_week": [summed(row["amount"], row["currency"]) for row in captured_week],
        },
    )
