from django.urls import include, path, register_converter

from contactcards.converters import E164Converter
from contactcards.views import cards, history, preferences, restore, rollout, teams, webhooks
from contactcards.views import settings as team_settings

register_converter(E164Converter, "e164")

urlpatterns = [
    path("account/time-zone/", preferences.time_zone, name="time_zone"),
    path("", teams.home, name="home"),
    path("t/<slug:slug>/", teams.dashboard, name="dashboard"),
    path("t/<slug:slug>/refresh/", teams.dashboard_refresh, name="dashboard_refresh"),
    path("t/<slug:slug>/settings/webhooks/", webhooks.webhooks_page, name="webhooks"),
    path("t/<slug:slug>/settings/webhooks/subscribe/", webhooks.webhooks_create, name="webhooks_create"),
    path("t/<slug:slug>/settings/webhooks/test/", webhooks.webhooks_test, name="webhooks_test"),
    path("t/<slug:slug>/settings/webhooks/alerts/", webhooks.webhooks_alerts, name="webhooks_alerts"),
    path("t/<slug:slug>/settings/webhooks/<str:subscription_id>/", webhooks.webhooks_subscription,
         name="webhooks_subscription"),
    path("hooks/linq/<str:token>/", webhooks.webhook_receiver, name="webhook_receiver"),
    path("t/<slug:slug>/history/", history.team_history, name="team_history"),
    path("t/<slug:slug>/history/export.csv", history.history_export, name="history_export"),
    path("t/<slug:slug>/history/<int:pk>/", history.entry_detail, name="audit_entry"),
    path("t/<slug:slug>/history/<int:pk>/restore/", restore.restore_version, name="restore_version"),
    path("t/<slug:slug>/numbers/<e164:e164>/", cards.card_detail, name="card"),
    path("", include("contactcards.photos.urls")),  # issue 14: photo check, library, stored photos
    # many numbers at once (issue 12): bulk edit, CSV out and in, the jobs that roll changes out
    path("t/<slug:slug>/bulk/", rollout.bulk_edit, name="bulk_edit"),
    path("t/<slug:slug>/cards.csv", rollout.cards_export, name="cards_export"),
    path("t/<slug:slug>/import/", rollout.cards_import, name="cards_import"),
    path("t/<slug:slug>/jobs/", rollout.job_list, name="job_list"),
    path("t/<slug:slug>/jobs/<int:pk>/", rollout.job_detail, name="job_detail"),
    path("t/<slug:slug>/jobs/<int:pk>/progress.json", rollout.job_progress, name="job_progress"),
    path("t/<slug:slug>/jobs/<int:pk>/cancel/", rollout.job_cancel, name="job_cancel"),
    path("t/<slug:slug>/numbers/<e164:e164>/history/", history.number_history, name="number_history"),
    # team settings (issue 3): token, connection test, members, numbers
    path("t/<slug:slug>/settings/", team_settings.team_settings, name="team_settings"),
    path("t/<slug:slug>/settings/token/", team_settings.settings_token, name="settings_token"),
    path("t/<slug:slug>/settings/token/test/", team_settings.settings_test_connection, name="settings_test_connection"),
    path("t/<slug:slug>/settings/members/<int:membership_id>/role/", team_settings.settings_member_role,
         name="settings_member_role"),
    path("t/<slug:slug>/settings/members/<int:membership_id>/remove/", team_settings.settings_member_remove,
         name="settings_member_remove"),
    path("t/<slug:slug>/settings/numbers/", team_settings.settings_numbers_add, name="settings_numbers_add"),
    path("t/<slug:slug>/settings/numbers/import/", team_settings.settings_numbers_import,
         name="settings_numbers_import"),
    path("t/<slug:slug>/settings/numbers/<e164:e164>/labels/", team_settings.settings_number_labels,
         name="settings_number_labels"),
    path("t/<slug:slug>/settings/numbers/<e164:e164>/remove/", team_settings.settings_number_remove,
         name="settings_number_remove"),
]
