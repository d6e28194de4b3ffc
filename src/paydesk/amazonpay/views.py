from __future__ import annotations

import re
import secrets

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from paydesk.amazonpay import inbox, services
from paydesk.amazonpay.errors import AmazonPayError
from paydesk.amazonpay.forms import AmazonPaySettingsForm
from paydesk.amazonpay.models import (
    AmazonPaySettings,
    Notification,
    Outcome,
    Payment,
    PaymentEvent,
    Source,
    Verdict,
)
from paydesk.amazonpay.redaction import sns_body_for_display, sns_headers_for_display
from paydesk.orders.models import OPERATE_ORDERS, VIEW_ORDERS, Order
from paydesk.payments.actions import Action
from paydesk.payments.money import Money, MoneyError, minor_unit_exponent

_LEVEL = {
    Outcome.DONE: messages.SUCCESS,
    Outcome.PENDING: messages.INFO,
    Outcome.DECLINED: messages.ERROR,
    Outcome.FAILED: messages.ERROR,
    Outcome.UNKNOWN: messages.WARNING,
    Outcome.REFUSED: messages.WARNING,
}


def _amount_advice(currency: str) -> str:
    decimals = minor_unit_exponent(currency)
    if decimals == 0:
        return f"Write whole {currency} without separators, e.g. 1050."
    return f"Write digits with a dot before at most {decimals} decimals, no thousands separator: 1050.25."


def _row_cursor(request) -> int | None:
    """The log pages' `before` (a row id): ASCII digits that fit a 64-bit key, else the first
    page. isdigit() would let "²" through to int(), and PostgreSQL refuses a key past bigint."""
    before = request.GET.get("before", "")
    return int(before) if re.fullmatch(r"[0-9]{1,18}", before) else None


@login_required
@permission_required(OPERATE_ORDERS, raise_exception=True)
@require_POST
def order_action(request, number: str, action: str):
    """Run one of the whitelisted order actions, then show the order again with the result."""
    try:
        act = Action(action)
    except ValueError:
        raise Http404("No such action") from None
    order = get_object_or_404(Order, number=number)
    payment = get_object_or_404(Payment, order=order)
    actor = services.Actor.staff(request.user)
    target = request.POST.get("target", "").strip() or None
    key = request.POST.get("key", "").strip()[:64] or None
    amount = None
    if "amount" in request.POST:
        # The form has an amount field: it says how much. Left blank, it must not mean "all".
        typed = request.POST["amount"].strip()
        if not typed:
            messages.error(request, f"Enter the amount to {act.label.lower()}. Nothing was done.")
            return redirect("orders:detail", number=number)
        try:
            amount = Money.parse(typed, payment.currency)
        except MoneyError:
            messages.error(
                request,
                f"“{typed}” is not an amount in {payment.currency}. {_amount_advice(payment.currency)}",
            )
            return redirect("orders:detail", number=number)
    result = services.run_action(
        act, payment.pk, actor=actor, target=target, amount=amount, idempotency_key=key
    )
    messages.add_message(request, _LEVEL.get(result.outcome, messages.INFO), result.message)
    return redirect("orders:detail", number=number)


@login_required
@permission_required(OPERATE_ORDERS, raise_exception=True)
@require_POST
def bulk_action(request):
    """Capture or refresh the orders ticked in the order list, and show each order's result."""
    action = request.POST.get("action", "")
    numbers = [n.strip() for n in request.POST.getlist("order") if n.strip()]
    if action not in ("capture", "refresh") or not numbers:
        messages.warning(request, "Tick at least one order, then choose Capture or Refresh status.")
        return redirect("orders:list")
    batch = request.POST.get("key", "").strip()[:64] or secrets.token_urlsafe(16)
    results = services.bulk(action, numbers, actor=services.Actor.staff(request.user), batch_key=batch)
    return render(
        request,
        "amazonpay/bulk_results.html",
        {
            "section": "orders",
            "action": action,
            "results": results,
            "limit": services.BULK_LIMIT,
            "cut": len(set(numbers)) > services.BULK_LIMIT,
        },
    )


@login_required
@permission_required("amazonpay.change_amazonpaysettings", raise_exception=True)
def settings_page(request):
    settings = AmazonPaySettings.load()
    form = AmazonPaySettingsForm(request.POST or None, instance=settings)
    if request.method == "POST" and form.is_valid():
        form.save()
        if "test" in request.POST:
            _test_connection(request)
        else:
            messages.success(request, "Amazon Pay settings saved.")
        return redirect("amazonpay:settings")
    return render(
        request,
        "amazonpay/settings.html",
        {
            "section": "settings",
            "form": form,
            "settings": settings,
            "ipn_url": request.build_absolute_uri(reverse("amazonpay:ipn")),
        },
    )


def _test_connection(request) -> None:
    try:
        status = services.amazon_client().get_service_status()
    except AmazonPayError as exc:
        messages.error(request, f"Settings saved, but the connection test failed: {exc}")
        return
    messages.success(request, f"Settings saved. Amazon Pay answered: service status {status.status}.")


@login_required
@permission_required(VIEW_ORDERS, raise_exception=True)
def event_log(request):
    events = PaymentEvent.objects.select_related("payment__order").order_by("-at", "-id")
    source = request.GET.get("source", "")
    outcome = request.GET.get("outcome", "")
    if source in Source.values:
        events = events.filter(source=source)
    if outcome in Outcome.values:
        events = events.filter(outcome=outcome)
    before = _row_cursor(request)
    if before is not None:
        events = events.filter(pk__lt=before)
    rows = list(events[:101])
    return render(
        request,
        "amazonpay/events.html",
        {
            "section": "events",
            "events": rows[:100],
            "older": rows[99].pk if len(rows) > 100 else None,
            "sources": Source.choices,
            "outcomes": Outcome.choices,
            "source": source,
            "outcome": outcome,
        },
    )


@csrf_exempt
@require_POST
def ipn(request):
    """Amazon's Instant Payment Notifications (SNS HTTP POSTs). Signed by SNS, not by a session:
    CSRF does not apply; the SNS signature is checked instead."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > inbox.MAX_BODY_BYTES:
        # Keep the head of it for the log; do not read 10 MB into memory to refuse it.
        body = request.read(inbox.KEPT_BYTES)
    else:
        body = request.body
    headers = {k.lower(): v for k, v in request.headers.items()}
    answer = inbox.receive(
        body,
        headers=headers,
        remote_addr=request.META.get("REMOTE_ADDR", ""),
        declared_size=max(declared, len(body)),
    )
    row = answer.notification
    return JsonResponse(
        {"notification": row.pk, "verdict": row.verdict, "reason": row.reason}, status=answer.status
    )


@login_required
@permission_required(VIEW_ORDERS, raise_exception=True)
def ipn_log(request):
    rows = Notification.objects.select_related("payment__order").order_by("-received_at", "-id")
    verdict = request.GET.get("verdict", "")
    kind = request.GET.get("type", "")
    applied = request.GET.get("applied", "")
    if verdict in Verdict.values:
        rows = rows.filter(verdict=verdict)
    if kind:
        rows = rows.filter(notification_type=kind[:64])
    if applied in ("yes", "no"):
        rows = rows.filter(applied=applied == "yes")
    before = _row_cursor(request)
    if before is not None:
        rows = rows.filter(pk__lt=before)
    page = list(rows.defer("body")[:101])
    return render(
        request,
        "amazonpay/ipn_log.html",
        {
            "section": "ipn",
            "rows": page[:100],
            "older": page[99].pk if len(page) > 100 else None,
            "verdicts": Verdict.choices,
            "types": ["OrderReferenceNotification", "PaymentAuthorize", "PaymentCapture", "PaymentRefund"],
            "verdict": verdict,
            "type": kind,
            "applied": applied,
        },
    )


@login_required
@permission_required(VIEW_ORDERS, raise_exception=True)
def ipn_detail(request, pk: int):
    row = get_object_or_404(Notification.objects.select_related("payment__order", "duplicate_of"), pk=pk)
    shown = {"body": sns_body_for_display(row.body), "headers": sns_headers_for_display(row.headers)}
    return render(request, "amazonpay/ipn_detail.html", {"section": "ipn", "row": row, **shown})
