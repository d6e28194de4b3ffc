from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="orders:list", permanent=False)),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("orders/", include("paydesk.orders.urls")),
    path("dashboard/", include("paydesk.dashboard.urls")),
    path("amazonpay/", include("paydesk.amazonpay.urls")),
    path("shop/", include("paydesk.shop.urls")),
    path("api/v1/", include("paydesk.api.urls")),
    path("django-admin/", admin.site.urls),
]
