"""Every page of the product, one ``urls.py`` per domain (each domain's views sit beside it)."""

from django.urls import include, path

from contactcards.common import preferences

urlpatterns = [
    path("account/time-zone/", preferences.time_zone, name="time_zone"),
    path("", include("contactcards.teams.urls")),  # home, dashboard, team settings
    path("", include("contactcards.cards.urls")),  # one number's card
    path("", include("contactcards.history.urls")),  # history, export, restore
    path("", include("contactcards.sync.urls")),  # webhooks: receiver and settings
    path("", include("contactcards.photos.urls")),  # photo check, library, stored photos
    path("", include("contactcards.rollout.urls")),  # bulk edit, CSV, jobs
    path("", include("contactcards.streams.urls")),  # audit streams: settings page
    path("", include("contactcards.api.urls")),  # /api/v1/ (REST, tokens), and the token pages
    path("", include("contactcards.alerts.urls")),  # alerts: subscriptions, deliveries
]
