from django.urls import path

from contactcards.alerts import views

urlpatterns = [
    path("t/<slug:slug>/alerts/", views.alerts_page, name="alerts"),
    path("t/<slug:slug>/alerts/add/mine/", views.alerts_add, {"scope": "mine"}, name="alerts_add_mine"),
    path("t/<slug:slug>/alerts/add/team/", views.alerts_add, {"scope": "team"}, name="alerts_add_team"),
    path("t/<slug:slug>/alerts/deliveries/", views.alerts_deliveries, name="alerts_deliveries"),
    path("t/<slug:slug>/alerts/<int:alert_id>/", views.alerts_change, name="alerts_change"),
]
