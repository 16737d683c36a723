from django.urls import path

from contactcards.sync import views

urlpatterns = [
    path("t/<slug:slug>/settings/webhooks/", views.webhooks_page, name="webhooks"),
    path("t/<slug:slug>/settings/webhooks/subscribe/", views.webhooks_create, name="webhooks_create"),
    path("t/<slug:slug>/settings/webhooks/test/", views.webhooks_test, name="webhooks_test"),
    path("t/<slug:slug>/settings/webhooks/<str:subscription_id>/", views.webhooks_subscription,
         name="webhooks_subscription"),
    path("hooks/linq/<str:token>/", views.webhook_receiver, name="webhook_receiver"),
]
