"""``/api/v1/``: the REST API, its OpenAPI schema and docs page; the token pages (account, team settings)."""

from django.urls import path

from contactcards.api import token_views, views

urlpatterns = [
    path("api/v1/openapi.json", views.Schema.as_view(), name="api_schema"),
    path("api/v1/docs/", views.docs, name="api_docs"),
    path("api/v1/teams/", views.TeamList.as_view(), name="api_teams"),
    path("api/v1/teams/<str:slug>/numbers/", views.NumberList.as_view(), name="api_numbers"),
    path("api/v1/teams/<str:slug>/numbers/<str:e164>/card", views.CardDetail.as_view(), name="api_card"),
    path("api/v1/teams/<str:slug>/history/", views.HistoryList.as_view(), name="api_history"),
    path("api/v1/teams/<str:slug>/history.csv", views.HistoryCsv.as_view(), name="api_history_csv"),
    path("api/v1/teams/<str:slug>/jobs/", views.JobCreate.as_view(), name="api_jobs"),
    path("api/v1/teams/<str:slug>/jobs/<str:pk>/", views.JobDetail.as_view(), name="api_job"),
    path("api/v1/teams/<str:slug>/jobs/<str:pk>/cancel", views.JobCancel.as_view(), name="api_job_cancel"),
    path("t/<slug:slug>/settings/api-tokens/", token_views.team_tokens, name="team_api_tokens"),
    path("t/<slug:slug>/settings/api-tokens/<int:pk>/revoke/", token_views.token_revoke_view,
         name="api_token_revoke"),
]
