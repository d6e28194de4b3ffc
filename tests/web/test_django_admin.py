"""Django admin shows orders but never writes them: order status is the payment service's alone."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.auth.models import Permission, User

from paydesk.orders.models import Order

from .conftest import make_order


def _superuser():
    return User.objects.create_superuser("root", password="correct horse battery staple")


def test_the_order_changelist_still_lists_orders_for_the_benchmark(client, amazon_settings):
    make_order()
    # The benchmark's staff user: view permission only (bench/order_pages.py).
    staff = User.objects.create_user("bench-staff", password="x" * 12, is_staff=True)
    staff.user_permissions.add(
        Permission.objects.get(content_type__app_label="orders", codename="view_order")
    )
    client.force_login(staff)
    assert client.get("/django-admin/orders/order/").status_code == 200
    client.force_login(_superuser())
    response = client.get("/django-admin/orders/order/")
    assert response.status_code == 200 and "Order #1001" in response.content.decode()


def test_not_even_a_superuser_can_change_an_orders_status_or_total_in_django_admin(client, amazon_settings):
    order, _ = make_order(status="authorized")
    client.force_login(_superuser())
    change_url = f"/django-admin/orders/order/{order.pk}/change/"
    page = client.get(change_url)
    assert page.status_code == 200
    assert 'name="status"' not in page.content.decode() and 'name="total"' not in page.content.decode()
    posted = client.post(
        change_url,
        {
            "number": order.number,
            "customer_name": order.customer_name,
            "customer_email": order.customer_email,
            "currency": "USD",
            "subtotal": "1.00",
            "shipping_cost": "0",
            "tax": "0",
            "total": "1.00",
            "status": "completed",
            "payment_method": "amazon_pay",
            "placed_at_0": "2024-01-01",
            "placed_at_1": "00:00:00",
        },
    )
    assert posted.status_code == 403
    order.refresh_from_db()
    assert order.status == "authorized" and order.total == Decimal("100.00")


def test_orders_cannot_be_added_or_deleted_in_django_admin(client, amazon_settings):
    order, _ = make_order()
    client.force_login(_superuser())
    assert client.get("/django-admin/orders/order/add/").status_code == 403
    assert client.post(f"/django-admin/orders/order/{order.pk}/delete/", {"post": "yes"}).status_code == 403
    bulk_delete = client.post(
        "/django-admin/orders/order/",
        {"action": "delete_selected", "_selected_action": [order.pk], "post": "yes"},
    )
    assert bulk_delete.status_code in (200, 302)
    assert Order.objects.filter(pk=order.pk).exists()
