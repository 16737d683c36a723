"""The board version: database triggers change it on every change the dashboard shows, by any path.

The dashboard reuses a computed board while the version stays the same (teams/dashboard.py),
so a change that did not move the version would leave a stale page: each kind of change is made
here the way the app never makes it (bulk update, raw SQL, deletion) and must move the version.
The tests commit (``transactional_db``): on PostgreSQL the triggers run at commit, as in production.
"""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conftest import CARD_NUMBER, EMPTY_NUMBER
from contactcards.models import (
    AuditEntry,
    BoardVersion,
    CardMirror,
    PhoneNumber,
    Tag,
    Team,
    point_numbers_at_newest_entries,
)
from contactcards.sync.reconcile import reconcile_team
from tests.support.helpers import sign_in_as

URL = "/t/acme/"


def version(team) -> str | None:
    return BoardVersion.objects.filter(team=team).values_list("version", flat=True).first()


def raw(sql: str, params: list) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.mark.usefixtures("transactional_db")
def test_every_kind_of_change_moves_the_version_and_nothing_else_does(team, other_team, alice):
    number = PhoneNumber.objects.get(team=team, e164=CARD_NUMBER)
    seen = [version(team)]
    other = version(other_team)

    def moved(what: str) -> None:
        now = version(team)
        assert now is not None and now not in seen, f"{what} did not change the board version"
        seen.append(now)

    PhoneNumber.objects.create(team=team, e164="+15550009999")
    moved("a number added")
    PhoneNumber.objects.filter(pk=number.pk).update(label="Front desk")  # a bulk update: no signal, no save()
    moved("a label changed by a bulk update")
    raw("INSERT INTO contactcards_cardmirror (number_id, has_card, first_name, last_name, image_url, is_active,"
        " source, as_of, recorded_at) VALUES (%s, %s, 'Raw', '', '', %s, 'read', %s, %s)",
        [number.pk, True, True, timezone.now(), timezone.now()])
    moved("a mirror row inserted by raw SQL")
    CardMirror.objects.filter(pk=number.pk).update(seen_at=timezone.now())
    moved("a mirror row updated")
    tag = Tag.objects.create(team=team, name="east")
    moved("a tag created")
    number.tags.add(tag)
    moved("a number tagged")
    number.tags.remove(tag)
    moved("a tag removed from a number")
    [entry] = AuditEntry.objects.bulk_create([AuditEntry(  # bulk: save() would also point the number at it
        team=team, number=number, phone_number=number.e164, user=alice, username="alice",
        action=AuditEntry.Action.UPDATE, changes={"last_name": ["A", "B"]}, outcome=AuditEntry.Outcome.PENDING)])
    assert version(team) == seen[-1], "an appended audit row changes nothing the board shows"
    point_numbers_at_newest_entries(PhoneNumber.objects.filter(pk=number.pk))
    moved("the number pointed at its newest entry")
    assert entry.fill_outcome(outcome=AuditEntry.Outcome.SUCCESS, outcome_at=timezone.now())
    moved("the newest entry's outcome filled in")
    CardMirror.objects.filter(pk=number.pk).delete()
    moved("a mirror row deleted")
    PhoneNumber.objects.filter(e164="+15550009999").delete()
    moved("a number removed")
    assert version(other_team) == other, "another team's changes never move this team's version"


@pytest.mark.usefixtures("transactional_db")
def test_a_team_with_its_board_can_be_deleted(sandbox):
    team = Team.objects.create(slug="short-lived", name="Short lived")
    number = PhoneNumber.objects.create(team=team, e164="+15550008888")
    Tag.objects.create(team=team, name="x").numbers.add(number)
    assert version(team) is not None
    team.delete()
    assert not BoardVersion.objects.filter(team_id=team.pk).exists()


@pytest.mark.usefixtures("transactional_db")
def test_the_dashboard_reuses_a_board_only_while_nothing_changed(client, team, alice, sandbox):
    assert reconcile_team(team=team).ok
    sign_in_as(client, alice)
    first = client.get(URL)
    assert first.status_code == 200
    with CaptureQueriesContext(connection) as again:
        second = client.get(URL)
    assert second.context["board"] == first.context["board"]
    board_queries = [q["sql"] for q in again.captured_queries if "contactcards_cardmirror" in q["sql"]]
    assert board_queries == [], "an unchanged board is reused, not queried again"

    # A change made behind the app's back (raw SQL): the very next page shows it.
    number = PhoneNumber.objects.get(team=team, e164=EMPTY_NUMBER)
    raw("UPDATE contactcards_phonenumber SET label = %s WHERE id = %s", ["Changed by SQL", number.pk])
    raw("UPDATE contactcards_cardmirror SET first_name = %s, has_card = %s WHERE number_id = %s",
        ["Renamed", True, PhoneNumber.objects.get(team=team, e164=CARD_NUMBER).pk])
    html = client.get(URL).content.decode()
    assert "Changed by SQL" in html and "Renamed" in html
