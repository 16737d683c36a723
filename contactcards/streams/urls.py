from django.urls import path

from contactcards.streams import views

urlpatterns = [
    path("t/<slug:slug>/settings/streams/", views.streams_page, name="streams"),
    path("t/<slug:slug>/settings/streams/add/", views.streams_add, name="streams_add"),
    path("t/<slug:slug>/settings/streams/<int:stream_id>/", views.stream_change, name="stream_change"),
    path("t/<slug:slug>/settings/streams/<int:stream_id>/action/", views.stream_action, name="stream_action"),
]
