from django.urls import path

from paydesk.shop import views

app_name = "shop"
urlpatterns = [
    path("", views.index, name="index"),
    path("checkout/", views.checkout, name="checkout"),
    path("thanks/<str:number>/", views.thanks, name="thanks"),
]
