"""The audit history: team-wide and per number."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from ..access import get_number_for_user, get_team_for_user
from ..models import AuditEntry

PAGE_SIZE = 50


def team_history(request: HttpRequest, slug: str) -> HttpResponse:
    team, membership = get_team_for_user(request, slug)
    entries = AuditEntry.objects.filter(team=team)
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "contactcards/history.html",
                  {"team": team, "membership": membership, "page": page, "number": None})


def number_history(request: HttpRequest, slug: str, e164: str) -> HttpResponse:
    number, membership = get_number_for_user(request, slug, e164)
    entries = AuditEntry.objects.filter(number=number)
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "contactcards/history.html",
                  {"team": number.team, "membership": membership, "page": page, "number": number})
