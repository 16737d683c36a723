from django.urls import path

from contactcards.history import restore_views, views

urlpatterns = [
    path("t/<slug:slug>/history/", views.team_history, name="team_history"),
    path("t/<slug:slug>/history/export.csv", views.history_export, name="history_export"),
    path("t/<slug:slug>/history/numbers.json", views.history_number_search, name="history_number_search"),
    path("t/<slug:slug>/history/<int:pk>/", views.entry_detail, name="audit_entry"),
    path("t/<slug:slug>/history/<int:pk>/restore/", restore_views.restore_version, name="restore_version"),
    path("t/<slug:slug>/numbers/<e164:e164>/history/", views.number_history, name="number_history"),
]
