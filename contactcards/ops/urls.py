from django.urls import path

from contactcards.ops import views

urlpatterns = [
    path("metrics", views.metrics, name="metrics"),
]
