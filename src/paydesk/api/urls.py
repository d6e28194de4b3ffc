from django.urls import path, re_path

from paydesk.api import views

app_name = "api"
urlpatterns = [
    path("openapi.json", views.openapi, name="openapi"),
    path("problems/<str:slug>", views.problem_type, name="problem"),
    path("orders", views.order_list, name="orders"),
    path("orders/<str:number>", views.order_detail, name="order"),
    path("orders/<str:number>/events", views.order_events, name="events"),
    path("orders/<str:number>/actions/<str:action>", views.order_action, name="action"),
    # Anything else under /api/v1/ is a 404 problem document, not an HTML page or a redirect.
    re_path(r"^(?P<path>.*)$", views.unknown_path, name="unknown"),
]
