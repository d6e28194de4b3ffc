"""Django admin's stock changelist for orders, registered for benchmark 3 (bench/order_pages.py):
the baseline our order list is compared with. It counts the whole table and pages with OFFSET,
which is exactly what the order list avoids; staff use the order desk, not this.

Read-only, for superusers too: an order's status and amounts are written only by the payment
service, in the same transaction as the payment change they follow (README, "One writer"). An
edit here would bypass the lock, the transition guard and the history row.
"""

from django.contrib import admin

from paydesk.orders.models import Order


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
