from __future__ import annotations

import secrets
from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from paydesk.amazonpay.attention import KINDS as ATTENTION
from paydesk.amazonpay.panel import payment_panel
from paydesk.orders.models import Order
from paydesk.orders.search import OrderFilters, page_of
from paydesk.payments.status import OrderStatus


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@login_required
@permission_required("orders.view_order", raise_exception=True)
def order_list(request):
    params = request.GET
    status = params.get("status", "")
    filters = OrderFilters(
        status=status if status in OrderStatus._value2member_map_ else "",
        date_from=_date(params.get("from", "")),
        date_to=_date(params.get("to", "")),
        text=params.get("q", "")[:100],
        attention=params.get("attention", "") if params.get("attention", "") in ATTENTION else "",
    )
    orders = filters.apply(Order.objects.select_related("amazon_payment"))
    page = page_of(orders, after=params.get("after", ""), before=params.get("before", ""))
    query = params.copy()
    for key in ("after", "before"):
        query.pop(key, None)
    return render(
        request,
        "orders/list.html",
        {
            "section": "orders",
            "page": page,
            "filters": filters,
            "statuses": list(OrderStatus),
            "attention_kinds": ATTENTION,
            "can_operate": request.user.has_perm("orders.operate_payments"),
            "bulk_key": secrets.token_urlsafe(16),
            "query": query.urlencode(),
            "bad_dates": bool(params.get("from") and not filters.date_from)
            or bool(params.get("to") and not filters.date_to),
        },
    )


@login_required
@permission_required("orders.view_order", raise_exception=True)
def order_detail(request, number: str):
    order = get_object_or_404(
        Order.objects.select_related("amazon_payment").prefetch_related("lines"), number=number
    )
    context = {
        "section": "orders",
        "order": order,
        "can_operate": request.user.has_perm("orders.operate_payments"),
    }
    context.update(payment_panel(order))
    return render(request, "orders/detail.html", context)


@login_required
@permission_required("orders.operate_payments", raise_exception=True)
@require_POST
def mark_fulfilled(request, number: str):
    """The goods went out: a paid order becomes Completed (X-Cart's word for paid and shipped)."""
    from paydesk.amazonpay import services
    from paydesk.amazonpay.models import Payment

    order = get_object_or_404(Order, number=number)
    payment = get_object_or_404(Payment, order=order)
    result = services.mark_fulfilled(payment.pk, actor=services.Actor.staff(request.user))
    messages.success(request, result.message)
    return redirect("orders:detail", number=number)
