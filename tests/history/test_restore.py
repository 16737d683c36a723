"""Restore this version: compare with Linq's card now, then one PATCH of only the differing fields."""

from __future__ import annotations

import pytest
from django.utils import timezone

from conftest import CARD_NUMBER
from contactcards.models import AuditEntry
from tests.support.helpers import make_entry, sign_in_as, text

CARD = f"/t/acme/numbers/{CARD_NUMBER}/"


def save(client, **values):
    form = client.get(CARD).context["form"]
    data = {name: form[name].value() or "" for name in ("first_name", "last_name", "image_url", "loaded", "token")}
    response = client.post(CARD, {**data, **values})
    assert response.status_code == 200
    return AuditEntry.objects.filter(action="update").order_by("-id").first()


@pytest.fixture
def versions(client, bob, sandbox):
    sign_in_as(client, bob)
    desk = save(client, last_name="Desk")
    help_ = save(client, last_name="Help")
    sandbox.set_card(CARD_NUMBER, first_name="Zed", last_name="Help",
                     image_url=sandbox.cards[CARD_NUMBER]["image_url"])  # someone else, since
    return desk, help_


def restore_url(entry) -> str:
    return f"/t/acme/history/{entry.pk}/restore/"


def test_it_shows_what_would_change_then_restores_with_one_patch_of_only_those_fields(client, versions, sandbox):
    desk, _ = versions
    page = client.get(restore_url(desk))
    assert page.status_code == 200
    assert [name for name, _now, _then in page.context["differences"]] == ["last_name"]
    writes_before = len(sandbox.writes_for(CARD_NUMBER))
    form = page.context["form"]
    response = client.post(restore_url(desk), {f.html_name: f.value() or "" for f in form})
    assert response.status_code == 302 and response["Location"] == CARD
    writes = sandbox.writes_for(CARD_NUMBER)[writes_before:]
    assert [w.body for w in writes] == [{"last_name": "Desk"}]
    assert (sandbox.cards[CARD_NUMBER]["first_name"], sandbox.cards[CARD_NUMBER]["last_name"]) == ("Zed", "Desk")
    restored = AuditEntry.objects.filter(action="update").order_by("-id").first()
    assert restored.restored_from == desk.pk and restored.changes == {"last_name": ["Help", "Desk"]}
    detail = client.get(f"/t/acme/history/{restored.pk}/").content.decode()
    assert f'href="/t/acme/history/{desk.pk}/"' in detail


def test_a_change_at_linq_after_the_comparison_is_a_conflict_and_sends_nothing(client, versions, sandbox):
    desk, _ = versions
    form = client.get(restore_url(desk)).context["form"]
    sandbox.set_card(CARD_NUMBER, first_name="Zed", last_name="Yet another",
                     image_url=sandbox.cards[CARD_NUMBER]["image_url"])
    writes_before = len(sandbox.writes_for(CARD_NUMBER))
    response = client.post(restore_url(desk), {f.html_name: f.value() or "" for f in form})
    assert response.status_code == 409 and 'id="restore-outcome"' in response.content.decode()
    assert len(sandbox.writes_for(CARD_NUMBER)) == writes_before


def test_nothing_to_restore_when_linq_already_has_that_version(client, versions):
    _, help_ = versions
    assert 'id="nothing-to-restore"' in client.get(restore_url(help_)).content.decode()


def test_personas(client, alice, vera, charlie, versions):
    desk, _ = versions
    sign_in_as(client, alice)
    assert client.get(restore_url(desk)).status_code == 200
    assert 'id="restore-link"' in client.get(f"/t/acme/history/{desk.pk}/").content.decode()
    sign_in_as(client, vera)
    assert client.get(restore_url(desk)).status_code == 403
    assert client.post(restore_url(desk)).status_code == 403
    assert 'id="restore-link"' not in client.get(f"/t/acme/history/{desk.pk}/").content.decode()
    sign_in_as(client, charlie)
    assert client.get(restore_url(desk)).status_code == 404
    assert client.post(restore_url(desk)).status_code == 404


def test_entries_without_a_version_are_404_and_bad_posts_keep_the_page(client, bob, versions, team):
    token_change = AuditEntry.objects.create(team=team, user=bob, username="bob", action="token_change",
                                             outcome="success")
    assert client.get(restore_url(token_change)).status_code == 404
    assert client.get("/t/acme/history/999999999/restore/").status_code == 404
    desk, _ = versions
    response = client.post(restore_url(desk), {"loaded": "tampered", "token": "\x00"})
    assert response.status_code == 200 and "stale" in response.content.decode()
    assert client.put(restore_url(desk)).status_code == 405


def test_the_number_timeline_offers_restore_to_writers_only(client, vera, versions):
    desk, _ = versions
    timeline = client.get(f"/t/acme/numbers/{CARD_NUMBER}/history/").content.decode()
    assert f'href="/t/acme/history/{desk.pk}/restore/"' in timeline
    sign_in_as(client, vera)
    assert "/restore/" not in client.get(f"/t/acme/numbers/{CARD_NUMBER}/history/").content.decode()


def test_the_page_says_plainly_what_comes_back_and_the_history_marks_the_restore(client, versions, sandbox):
    desk, _ = versions
    page = text(client.get(restore_url(desk)))
    assert "The whole card comes back as it was after the change of" in page and "by bob" in page
    assert "Last name" in page and "last_name" not in page and ": last name as they were then." in page
    assert "stay as they are: first name, photo" in page  # never set through the history: said, not guessed
    form = client.get(restore_url(desk)).context["form"]
    response = client.post(restore_url(desk), {f.html_name: f.value() or "" for f in form}, follow=True)
    assert "The card is back as it was on" in text(response) and "Linq updated last name." in text(response)
    history = text(client.get("/t/acme/history/"))
    assert history.count("Restore of") == 1
    assert f"Restore of {timezone.localtime(desk.created_at):%Y-%m-%d %H:%M}" in history
    number_history = text(client.get(f"/t/acme/numbers/{CARD_NUMBER}/history/"))
    assert number_history.count("Restore of") == 1


def test_a_version_after_a_set_up_is_the_whole_card_photo_included(team, bob):
    from contactcards.history.versions import version_after
    from contactcards.models import PhoneNumber

    number = PhoneNumber.objects.get(e164=CARD_NUMBER)
    created = make_entry(team, number=number, user=bob, action=AuditEntry.Action.CREATE,
                         changes={"first_name": ["", "Acme"], "last_name": ["", "Support"]})
    make_entry(team, number=number, user=bob, changes={"image_url": ["", "https://cdn.example.com/a.png"]})
    assert version_after(created) == {"first_name": "Acme", "last_name": "Support", "image_url": ""}
