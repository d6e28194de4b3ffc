from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from paydesk.amazonpay import services
from paydesk.amazonpay.models import AmazonPaySettings
from paydesk.orders.models import Order
from paydesk.payments.money import Money
from paydesk.shop import buyer
from paydesk.shop.catalog import BY_SKU, PRODUCTS, SHIPPING, demo_price


def index(request):
    currency = AmazonPaySettings.load().currency
    return render(
        request,
        "shop/index.html",
        {
            "products": [{"product": p, "price": p.price_in(currency)} for p in PRODUCTS],
            "shipping": demo_price(SHIPPING, currency),
        },
    )


def _quantity(value: str) -> int:
    return int(value) if value.isdigit() and int(value) <= 99 else 0


@require_POST
def checkout(request):
    settings = AmazonPaySettings.load()
    currency = settings.currency
    lines = []
    for sku, product in BY_SKU.items():
        quantity = _quantity(request.POST.get(f"qty-{sku}", "0"))
        if quantity:
            lines.append(services.CartLine(sku, product.name, quantity, product.price_in(currency)))
    if not lines:
        messages.error(request, "Choose at least one item.")
        return redirect("shop:index")
    shipping = demo_price(SHIPPING, currency)
    amount = (
        Money(sum((line.unit_price.amount * line.quantity for line in lines), Decimal(0)), currency)
        + shipping
    )
    name = request.POST.get("name", "").strip()[:100]
    email = request.POST.get("email", "").strip()[:200]
    method = "declined" if request.POST.get("payment_method") == "declined" else "valid"
    try:
        reference = buyer.create_order_reference(
            settings, amount=amount, name=name, email=email, payment_method=method
        )
    except buyer.BuyerUnavailable as exc:
        messages.error(request, str(exc))
        return redirect("shop:index")
    order, result = services.checkout(
        reference, lines=lines, shipping=shipping, customer_name=name, customer_email=email
    )
    request.session["shop_result"] = result.message
    # The thank-you page is the buyer's own: order numbers are sequential, so without this anyone
    # could read every order's status by counting.
    request.session[_PLACED] = [*request.session.get(_PLACED, [])[-19:], order.number]
    return redirect("shop:thanks", number=order.number)


_PLACED = "shop_orders"


def thanks(request, number: str):
    if number not in request.session.get(_PLACED, []):
        raise Http404("No order of yours has this number.")
    order = get_object_or_404(Order, number=number)
    return render(
        request, "shop/thanks.html", {"order": order, "result": request.session.pop("shop_result", "")}
    )
