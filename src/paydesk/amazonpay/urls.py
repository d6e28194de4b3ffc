from django.urls import path

from paydesk.amazonpay import views

app_name = "amazonpay"
urlpatterns = [
    path("orders/bulk/", views.bulk_action, name="bulk"),
    path("orders/<str:number>/<str:action>/", views.order_action, name="action"),
    path("settings/", views.settings_page, name="settings"),
    path("log/", views.event_log, name="events"),
    path("ipn/", views.ipn, name="ipn"),
    path("ipn-log/", views.ipn_log, name="ipn_log"),
    path("ipn-log/<int:pk>/", views.ipn_detail, name="ipn_detail"),
]
