from django.urls import path, register_converter

from .converters import E164Converter
from .views import cards, history, teams

register_converter(E164Converter, "e164")

urlpatterns = [
    path("", teams.home, name="home"),
    path("t/<slug:slug>/", teams.dashboard, name="dashboard"),
    path("t/<slug:slug>/history/", history.team_history, name="team_history"),
    path("t/<slug:slug>/numbers/<e164:e164>/", cards.card_detail, name="card"),
    path("t/<slug:slug>/numbers/<e164:e164>/history/", history.number_history, name="number_history"),
]
