from django.urls import path

from contactcards.alerts import views

urlpatterns = [
    path("t/<slug:slug>/alerts/", views.alerts_page, name="alerts"),
    path("t/<slug:slug>/alerts/add/<str:scope>/", views.alerts_add, name="alerts_add"),
    path("t/<slug:slug>/alerts/deliveries/", views.alerts_deliveries, name="alerts_deliveries"),
    path("t/<slug:slug>/alerts/<int:subscription_id>/", views.alerts_change, name="alerts_change"),
]
