from django.urls import path

from contactcards.teams import labels_views, views
from contactcards.teams import settings_views as team_settings

urlpatterns = [
    path("", views.home, name="home"),
    path("t/<slug:slug>/", views.dashboard, name="dashboard"),
    path("t/<slug:slug>/refresh/", views.dashboard_refresh, name="dashboard_refresh"),
    path("t/<slug:slug>/numbers/labels/", labels_views.numbers_labels, name="numbers_labels"),
    # team settings: token, connection test, members, numbers
    path("t/<slug:slug>/settings/", team_settings.team_settings, name="team_settings"),
    path("t/<slug:slug>/settings/token/", team_settings.settings_token, name="settings_token"),
    path("t/<slug:slug>/settings/token/test/", team_settings.settings_test_connection, name="settings_test_connection"),
    path("t/<slug:slug>/settings/members/<int:membership_id>/role/", team_settings.settings_member_role,
         name="settings_member_role"),
    path("t/<slug:slug>/settings/members/<int:membership_id>/remove/", team_settings.settings_member_remove,
         name="settings_member_remove"),
    path("t/<slug:slug>/settings/numbers/", team_settings.settings_numbers_add, name="settings_numbers_add"),
    path("t/<slug:slug>/settings/numbers/assigned/", team_settings.settings_assigned_lines,
         name="settings_assigned_lines"),
    path("t/<slug:slug>/settings/numbers/import/", team_settings.settings_numbers_import,
         name="settings_numbers_import"),
    path("t/<slug:slug>/settings/numbers/<e164:e164>/labels/", team_settings.settings_number_labels,
         name="settings_number_labels"),
    path("t/<slug:slug>/settings/numbers/<e164:e164>/remove/", team_settings.settings_number_remove,
         name="settings_number_remove"),
]
