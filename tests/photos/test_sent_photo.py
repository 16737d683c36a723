"""A photo link is sent once: Linq re-hosts it, and the link sent last is no change while Linq still shows
what it made of it (issue 21) - in a CSV import, a bulk edit, a restore and the card page alike.

Rollouts run on real ``db_worker`` processes (``workers``), which check each photo link the way Linq
would fetch it: they are pointed at the local https image server like the app (``photo_settings``).
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from conftest import CARD_NUMBER
from contactcards.cards.outcomes import OutcomeUnknown, Saved, Unchanged
from contactcards.cards.services import card_update
from contactcards.models import AuditEntry, PhoneNumber, SentPhoto
from contactcards.rollout import jobs
from contactcards.rollout.cards_csv import parse_cards_csv
from contactcards.rollout.plan import Target, build_plan
from contactcards.sync.reads import card_fetch
from tests.history.test_restore import restore_url, save
from tests.support.clock import Clock
from tests.support.helpers import sign_in_as
from tests.support.photo_fixtures import ALLOWED, Route, png_bytes
from tests.support.rollout_helpers import many_numbers, numbers, start_bulk, start_import, writes

pytestmark = pytest.mark.usefixtures("photo_settings")
COUNT = 3


@pytest.fixture
def links(image_server):
    """The team's own photo links, one per number, on the local https image server."""
    for i in range(COUNT):
        image_server.routes[f"/team/{i}.png"] = Route(body=png_bytes(600, 600, color=(i * 40, 90, 160)))
    return [image_server.url(f"/team/{i}.png") for i in range(COUNT)]


@pytest.fixture
def photo_workers(workers, photo_tls):
    """Task workers that check photo links as the app does here (the image server on loopback)."""
    workers.extra_env["PHOTO_FETCH_ALLOWED_NETWORKS"] = ",".join(ALLOWED)
    workers.extra_env["PHOTO_FETCH_CA_BUNDLE"] = str(photo_tls.cert)
    return workers


def sheet(links: list[str], last: str) -> bytes:
    rows = ["number,first_name,last_name,image_url"]
    rows += [f"{numbers(i)},Acme,{last} {i},{link}" for i, link in enumerate(links)]
    return ("\r\n".join(rows) + "\r\n").encode()


def bodies(sandbox, i: int) -> list[dict]:
    return [write.body for write in sandbox.writes_for(numbers(i))]


def preview(team, raw: bytes):
    parsed = parse_cards_csv(raw)
    assert parsed.ok, parsed.problems
    return build_plan(team, parsed.targets)


@pytest.mark.django_db(transaction=True)
def test_a_sheet_imported_twice_with_its_own_photo_links_sends_each_photo_once(photo_workers, team, alice,
                                                                               sandbox, links):
    workers = photo_workers
    many_numbers(team, sandbox, COUNT)
    start_import(team, alice, sheet(links, "Support"))
    workers.run_batch()

    for i, link in enumerate(links):
        card = sandbox.cards[numbers(i)]
        assert card["image_url"] and card["image_url"] != link  # Linq re-hosted it on its CDN
        assert bodies(sandbox, i) == [{"first_name": "Acme", "last_name": f"Support {i}", "image_url": link}]
        sent = SentPhoto.objects.get(number__e164=numbers(i))
        assert (sent.url, sent.linq_url) == (link, card["image_url"])

    # The same sheet again: every number is unchanged, the photo included.
    again = preview(team, sheet(links, "Support"))
    assert [(row.kind, row.changes) for row in again.rows] == [("skip", {})] * COUNT

    # A sheet that changes the last names keeps the same links: only the names are sent.
    second = start_import(team, alice, sheet(links, "Help"))
    assert all("image_url" not in item.changes for item in second.items.all())
    workers.run_batch()
    assert jobs.job_progress(second).counts[jobs.State.SENT] == COUNT
    for i in range(COUNT):
        assert bodies(sandbox, i)[1:] == [{"last_name": f"Help {i}"}]
        assert writes(sandbox, numbers(i)) == 2


@pytest.mark.django_db(transaction=True)
def test_a_bulk_edit_with_the_same_link_twice_sends_it_once_until_the_photo_changes_at_linq(photo_workers, team,
                                                                                          alice, sandbox, links):
    workers = photo_workers
    many_numbers(team, sandbox, COUNT)
    e164s = [numbers(i) for i in range(COUNT)]
    start_bulk(team, alice, e164s, {"image_url": links[0]})
    workers.run_batch()
    assert all(bodies(sandbox, i) == [{"image_url": links[0]}] for i in range(COUNT))

    # Someone changes the photo of the last number in Linq's own dashboard.
    changed = numbers(COUNT - 1)
    sandbox.set_card(changed, image_url="https://cdn.linqapp.com/contact-card/someone-else.png")

    plan = build_plan(team, [Target(e164=e164, values={"image_url": links[0], "first_name": "Same link"})
                             for e164 in e164s])
    assert [sorted(row.changes) for row in plan.rows] == [["first_name"]] * (COUNT - 1) + [
        ["first_name", "image_url"]]
    jobs.job_create(team=team, user=alice, plan=plan, source="bulk")
    workers.run_batch()

    for i in range(COUNT - 1):  # the link sent last, still shown as Linq made it: not sent again
        assert bodies(sandbox, i)[1:] == [{"first_name": "Same link"}]
    assert bodies(sandbox, COUNT - 1)[1:] == [{"first_name": "Same link", "image_url": links[0]}]
    assert sandbox.cards[changed]["image_url"] != "https://cdn.linqapp.com/contact-card/someone-else.png"


def test_the_card_page_save_path_counts_the_link_sent_last_as_unchanged(team, bob, sandbox, links):
    number = PhoneNumber.objects.get(e164=CARD_NUMBER)
    loaded = {"first_name": "Acme", "last_name": "Support", "image_url": sandbox.cards[CARD_NUMBER]["image_url"]}
    first = card_update(number=number, user=bob, loaded=loaded, submitted={**loaded, "image_url": links[1]})
    assert isinstance(first, Saved)
    now = first.card.fields()
    assert isinstance(card_update(number=number, user=bob, loaded=now, submitted={**now, "image_url": links[1]}),
                      Unchanged)
    # Another field with it: only that field goes.
    third = card_update(number=number, user=bob, loaded=now, submitted={**now, "image_url": links[1], "last_name": "X"})
    assert isinstance(third, Saved) and third.changed == ("last_name",)
    assert [w.body for w in sandbox.writes_for(CARD_NUMBER)] == [{"image_url": links[1]}, {"last_name": "X"}]


def test_a_write_whose_outcome_is_unknown_is_remembered_only_once_a_read_shows_it(monkeypatch, team, bob, sandbox,
                                                                                  links):
    clock = Clock(monkeypatch, sandbox, SimpleNamespace(extra_env={}))
    number = PhoneNumber.objects.get(e164=CARD_NUMBER)
    loaded = {"first_name": "Acme", "last_name": "Support", "image_url": sandbox.cards[CARD_NUMBER]["image_url"]}
    sandbox.add_fault({"kind": "drop", "apply_write": "later", "methods": ["PATCH"], "times": 1})
    unknown = card_update(number=number, user=bob, loaded=loaded, submitted={**loaded, "image_url": links[2]})
    assert isinstance(unknown, OutcomeUnknown)
    assert not SentPhoto.objects.exists()  # not known to be sent: a resend would be a change

    assert sandbox.apply_deferred() == 1  # Linq applies it after we stopped waiting
    clock.advance(seconds=5)
    read = card_fetch(number=number)  # the read that settles it as applied remembers the link
    assert [entry.pk for entry in read.settled] == [unknown.entry.pk]
    sent = SentPhoto.objects.get(number=number)
    assert (sent.url, sent.linq_url, sent.entry_id) == (links[2], read.card.image_url, unknown.entry.pk)
    now = read.card.fields()
    assert isinstance(card_update(number=number, user=bob, loaded=now, submitted={**now, "image_url": links[2]}),
                      Unchanged)
    assert len(sandbox.writes_for(CARD_NUMBER)) == 1


def test_restoring_a_version_with_the_link_sent_last_does_not_send_it_again(client, team, bob, sandbox, links):
    sign_in_as(client, bob)
    with_photo = save(client, image_url=links[0], last_name="Desk")
    save(client, last_name="Help")
    page = client.get(restore_url(with_photo))
    # The version's photo is the link we sent; Linq still shows what it made of it: only the name differs.
    assert [name for name, _now, _then in page.context["differences"]] == ["last_name"]
    response = client.post(restore_url(with_photo), {f.html_name: f.value() or "" for f in page.context["form"]})
    assert response.status_code == 302
    bodies_sent = [w.body for w in sandbox.writes_for(CARD_NUMBER)]
    assert bodies_sent == [{"last_name": "Desk", "image_url": links[0]}, {"last_name": "Help"}, {"last_name": "Desk"}]
    restored = AuditEntry.objects.filter(action="update").order_by("-id").first()
    assert restored.restored_from == with_photo.pk and restored.changes == {"last_name": ["Help", "Desk"]}
