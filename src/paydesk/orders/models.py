from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.utils import timezone

from paydesk.payments.money import Money
from paydesk.payments.status import OrderStatus

AMAZON_PAY = "amazon_pay"
PAYMENT_METHODS = [(AMAZON_PAY, "Amazon Pay")]


# Who may do what, for the web desk and the API alike. Moving money on an order needs seeing
# it too: a user who may not open an order must not capture or refund it by its number.
VIEW_ORDERS = "orders.view_order"
OPERATE_PAYMENTS = "orders.operate_payments"
OPERATE_ORDERS = (VIEW_ORDERS, OPERATE_PAYMENTS)


class Order(models.Model):
    number = models.CharField(max_length=32, unique=True)
    placed_at = models.DateTimeField(default=timezone.now)
    customer_name = models.CharField(max_length=200)
    customer_email = models.EmailField(max_length=254)
    currency = models.CharField(max_length=3)
    subtotal = models.DecimalField(max_digits=14, decimal_places=2)
    shipping_cost = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal(0))
    tax = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal(0))
    total = models.DecimalField(max_digits=14, decimal_places=2)
    # Derived from the payment by paydesk.payments.status.order_status and written only by the
    # payment service, in the same database transaction as the payment change it follows.
    status = models.CharField(
        max_length=32,
        choices=[(s.value, s.label) for s in OrderStatus],
        default=OrderStatus.NOT_FINISHED.value,
    )
    payment_method = models.CharField(max_length=32, choices=PAYMENT_METHODS, default=AMAZON_PAY)
    fulfilled = models.BooleanField(default=False)
    shipping_name = models.CharField(max_length=200, blank=True)
    shipping_address = models.TextField(blank=True)

    class Meta:
        ordering = ["-placed_at", "-id"]
        indexes = [
            models.Index(fields=["-placed_at", "-id"], name="order_placed_idx"),
            models.Index(fields=["status", "-placed_at", "-id"], name="order_status_placed_idx"),
            # The search box looks e-mails up by prefix (LIKE 'x%'). Under any collation but C, a
            # plain b-tree cannot serve that, so PostgreSQL used to read all the orders;
            # varchar_pattern_ops can (PostgreSQL docs, "Operator Classes and Operator Families").
            # Other databases ignore opclasses. Names are searched by substring: migration
            # 0002 adds a trigram index for that on PostgreSQL.
            models.Index(
                fields=["customer_email"], name="order_email_prefix_idx", opclasses=["varchar_pattern_ops"]
            ),
        ]
        permissions = [("operate_payments", "Can capture, void, refund and refresh Amazon Pay payments")]

    def __str__(self) -> str:
        return f"Order #{self.number}"

    @property
    def total_money(self) -> Money:
        return Money(self.total, self.currency)

    @property
    def status_enum(self) -> OrderStatus:
        return OrderStatus(self.status)


class OrderLine(models.Model):
    order = models.ForeignKey(Order, related_name="lines", on_delete=models.CASCADE)
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        ordering = ["id"]

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity
