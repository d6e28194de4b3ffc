from django.urls import path

from paydesk.orders import views

app_name = "orders"
urlpatterns = [
    path("", views.order_list, name="list"),
    path("<str:number>/", views.order_detail, name="detail"),
    path("<str:number>/fulfilled/", views.mark_fulfilled, name="fulfilled"),
]
