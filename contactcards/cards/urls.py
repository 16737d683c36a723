from django.urls import path

from contactcards.cards import views

urlpatterns = [
    path("t/<slug:slug>/numbers/<e164:e164>/", views.card_detail, name="card"),
]
