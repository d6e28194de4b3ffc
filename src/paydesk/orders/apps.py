from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "paydesk.orders"
    label = "orders"
    verbose_name = "Orders"
