"""Django admin's stock changelist for orders, registered for benchmark 3 (bench/order_pages.py):
the baseline our order list is compared with. It counts the whole table and pages with OFFSET,
which is exactly what the order list avoids; staff use the order desk, not this."""

from django.contrib import admin

from paydesk.orders.models import Order

admin.site.register(Order)
