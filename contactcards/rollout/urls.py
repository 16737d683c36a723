from django.urls import path

from contactcards.rollout import deferred_views, views

# many numbers at once: bulk edit, CSV out and in, the jobs that roll changes out
urlpatterns = [
    path("t/<slug:slug>/bulk/", views.bulk_edit, name="bulk_edit"),
    path("t/<slug:slug>/cards.csv", views.cards_export, name="cards_export"),
    path("t/<slug:slug>/import/", views.cards_import, name="cards_import"),
    path("t/<slug:slug>/jobs/", views.job_list, name="job_list"),
    path("t/<slug:slug>/jobs/<int:pk>/", views.job_detail, name="job_detail"),
    path("t/<slug:slug>/jobs/<int:pk>/progress.json", views.job_progress, name="job_progress"),
    path("t/<slug:slug>/jobs/<int:pk>/cancel/", views.job_cancel, name="job_cancel"),
    path("t/<slug:slug>/jobs/<int:pk>/retry/", views.job_retry, name="job_retry"),
    # issue 24: changes that wait for an approver or their time
    path("t/<slug:slug>/planned/", deferred_views.planned_changes, name="planned_changes"),
    path("t/<slug:slug>/jobs/<int:pk>/decide/", deferred_views.job_decide, name="job_decide"),
    path("t/<slug:slug>/jobs/<int:pk>/reschedule/", deferred_views.job_reschedule, name="job_reschedule"),
    path("t/<slug:slug>/settings/approvals/", deferred_views.approval_settings, name="approval_settings"),
]
