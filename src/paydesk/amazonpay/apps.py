from django.apps import AppConfig


class AmazonPayConfig(AppConfig):
    name = "paydesk.amazonpay"
    label = "amazonpay"
    verbose_name = "Amazon Pay"
