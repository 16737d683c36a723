"""Bulk edit, CSV import/export, jobs and labels: pages, personas, bad input (both databases)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from conftest import CARD_NUMBER, EMPTY_NUMBER
from contactcards.models import Job, JobItem, PhoneNumber
from contactcards.rollout.cards_csv import parse_cards_csv
from contactcards.rollout.plan import Target, build_plan
from tests.support.helpers import sign_in_as

pytestmark = pytest.mark.django_db


def url(name, *args):
    return reverse(name, args=["acme", *args])


def upload(client, text: str | bytes, name="cards.csv"):
    raw = text.encode() if isinstance(text, str) else text
    return client.post(url("cards_import"), {"action": "preview", "file": SimpleUploadedFile(name, raw)})


# -- the CSV reader ------------------------------------------------------------------


def test_a_spreadsheet_csv_is_read_row_by_row():
    raw = ("\ufeffnumber;first_name;last_name;tags\r\n\r\n+15550001001;\"Two\nlines\";X;a, b\r\n"
           "'+15550001002;Ann;;\r\n").encode()
    parsed = parse_cards_csv(raw)
    assert parsed.ok
    first, second = parsed.targets
    assert first.row == 3 and first.values["first_name"] == "Two\nlines" and first.tags == ("a", "b")
    assert second.e164 == EMPTY_NUMBER and second.row == 5  # the export's formula guard is stripped


@pytest.mark.parametrize(("raw", "words"), [
    (b"", "empty"),
    (b"number,colour\n+15550001001,red\n", "Unknown column: colour"),
    (b"first_name\nAnn\n", "no \xe2\x80\x9cnumber\xe2\x80\x9d column".decode() if False else "number"),
    (b"number\n", "no rows"),
    ("number\n+15550001001\n".encode("utf-16"), "UTF-8"),
    (b"number,number\n1,2\n", "more than once"),
])
def test_a_file_that_cannot_be_read_gets_one_clear_message(raw, words):
    parsed = parse_cards_csv(raw)
    assert not parsed.ok and words in " ".join(parsed.problems)


def test_thousands_of_rows_are_read():
    rows = "\n".join(f"+1555300{i:04d},Name {i}" for i in range(5000))
    parsed = parse_cards_csv(f"number,first_name\n{rows}\n".encode())
    assert parsed.ok and len(parsed.targets) == 5000 and parsed.targets[-1].row == 5001


def test_bad_rows_are_refused_with_their_row_number_and_reason(team, sandbox):
    raw = (b"number,first_name,image_url,tags\n+15550001001,Acme,http://x.test/a.png,\n"
           b"+1555,Bob,,\n+19999999999,Eve,,\n+15550001001,Again,,\n+15550001002,,,\n+15550001002,,,\"bad,tag!\"\n")
    parsed = parse_cards_csv(raw)
    plan = build_plan(team, parsed.targets)
    reasons = {row.row: " ".join(row.reasons) for row in plan.rows if row.kind == "cannot"}
    assert "https://" in reasons[2]
    assert 3 in reasons and "not one of this team's numbers" in reasons[4]
    assert "already on row 2" in reasons[5]
    assert "tag" in reasons[7]
    assert not plan.can_confirm


def test_the_preview_says_unchanged_change_and_create(team, sandbox):
    plan = build_plan(team, [Target(e164=CARD_NUMBER, values={"first_name": "Acme"}),
                             Target(e164=CARD_NUMBER.replace("1001", "1001"), values={}),
                             Target(e164=EMPTY_NUMBER, values={"first_name": "New", "last_name": "Line"})])
    kinds = [row.kind for row in plan.rows]
    assert kinds[0] == "skip" and kinds[2] == "create"
    assert plan.rows[2].changes == {"first_name": ["", "New"], "last_name": ["", "Line"]}
    assert sandbox.writes_for(CARD_NUMBER) == [] and sandbox.writes_for(EMPTY_NUMBER) == []


# -- pages and personas ------------------------------------------------------------------


def test_personas_on_the_rollout_pages(client, personas, sandbox):
    pages = [url("bulk_edit") + "?n=%2B15550001001", url("cards_import"), url("job_list"), url("cards_export")]
    sign_in_as(client, personas["outsider"])
    assert {client.get(page).status_code for page in pages} == {404}
    sign_in_as(client, personas["viewer"])
    assert [client.get(page).status_code for page in pages] == [403, 403, 200, 200]
    for who in ("editor", "owner"):
        sign_in_as(client, personas[who])
        assert [client.get(page).status_code for page in pages] == [200, 200, 200, 200]


def test_bulk_edit_previews_then_sends_nothing_until_confirmed(client, bob, sandbox, settings):
    sign_in_as(client, bob)
    data = {"n": [CARD_NUMBER, EMPTY_NUMBER], "set_last_name": "on", "last_name": "Helpdesk", "action": "preview"}
    response = client.post(url("bulk_edit"), data)
    html = response.content.decode()
    assert response.status_code == 200 and "Will change" in html and "No card" in html
    assert "a first name is needed" in html  # the number without a card cannot be created from a last name
    assert sandbox.writes_for(CARD_NUMBER) == [] and not Job.objects.exists()
    response = client.post(url("bulk_edit"), {**data, "n": [CARD_NUMBER]})
    fingerprint = response.context["fingerprint"]
    response = client.post(url("bulk_edit"), {**data, "n": [CARD_NUMBER], "action": "confirm",
                                              "fingerprint": fingerprint})
    job = Job.objects.get()
    assert response.status_code == 302 and response["Location"] == url("job_detail", job.pk)
    assert JobItem.objects.get(job=job).changes == {"last_name": ["Support", "Helpdesk"]}
    assert sandbox.writes_for(CARD_NUMBER) == []  # queued for a worker, not sent by the request


def test_a_confirm_after_the_card_changed_shows_the_new_preview(client, bob, sandbox):
    sign_in_as(client, bob)
    data = {"n": [CARD_NUMBER], "set_last_name": "on", "last_name": "Helpdesk", "action": "preview"}
    fingerprint = client.post(url("bulk_edit"), data).context["fingerprint"]
    sandbox.set_card(CARD_NUMBER, first_name="Acme", last_name="Someone else")
    response = client.post(url("bulk_edit"), {**data, "action": "confirm", "fingerprint": fingerprint})
    assert response.status_code == 200 and "changed since your preview" in response.content.decode()
    assert not Job.objects.exists()


def test_bulk_edit_needs_a_field_and_a_value(client, bob, sandbox):
    sign_in_as(client, bob)
    response = client.post(url("bulk_edit"), {"n": [CARD_NUMBER], "action": "preview"})
    assert response.status_code == 400 and "Tick at least one field" in response.content.decode()
    response = client.post(url("bulk_edit"), {"n": [CARD_NUMBER], "set_first_name": "on", "action": "preview"})
    assert response.status_code == 400 and "enter the new value" in response.content.decode()


def test_import_preview_and_confirm(client, alice, sandbox):
    sign_in_as(client, alice)
    response = upload(client, "number,label,first_name\n+15550001001,Front desk,Acme Co\n+15550001002,,\n")
    assert response.status_code == 200
    carry = dict(response.context["carry"])
    response = client.post(url("cards_import"), {"action": "confirm", "fingerprint": response.context["fingerprint"],
                                                 **carry})
    job = Job.objects.get()
    assert response.status_code == 302 and job.source == "csv"
    assert PhoneNumber.objects.get(e164=CARD_NUMBER).label == "Front desk"
    assert job.items.get(phone_number=CARD_NUMBER).state == "queued"


@pytest.mark.parametrize("raw", [b"\x00\x01binary", b"colour\nred\n", b"number\n" + b"+1555" * 3])
def test_a_bad_upload_gets_a_message_and_nothing_sent(client, alice, sandbox, raw):
    sign_in_as(client, alice)
    response = upload(client, raw)
    assert response.status_code in (200, 400)
    assert "can't" in response.content.decode()
    assert not Job.objects.exists()


def test_an_editor_cannot_change_labels_through_the_csv(client, bob, sandbox):
    sign_in_as(client, bob)
    response = upload(client, "number,label\n+15550001001,Mine now\n")
    assert "Only owners change labels" in response.content.decode()
    assert not response.context["plan"].can_confirm


def test_a_tampered_import_payload_is_refused(client, alice, sandbox):
    sign_in_as(client, alice)
    response = client.post(url("cards_import"), {"action": "confirm", "payload": "forged", "fingerprint": "x"},
                           follow=True)
    assert "out of date or was altered" in response.content.decode()


def test_the_export_has_every_card(client, vera, team, sandbox):
    sign_in_as(client, vera)
    response = client.get(url("cards_export"))
    lines = response.content.decode().splitlines()
    assert lines[0] == "number,label,tags,first_name,last_name,image_url,status"
    assert "+15550001001,Support,,Acme,Support," in lines[1] and lines[1].endswith(",active")
    assert lines[2].endswith(",no card")


def test_job_pages_progress_json_and_cancel(client, alice, vera, team, sandbox):
    from tests.support.rollout_helpers import start_bulk

    job = start_bulk(team, alice, [CARD_NUMBER], {"last_name": "Later"})
    sign_in_as(client, vera)
    html = client.get(url("job_detail", job.pk)).content.decode()
    assert 'id="job-bar"' in html and "Queued" in html and "cancel-form" not in html
    data = client.get(url("job_progress", job.pk)).json()
    assert data["counts"]["queued"] == 1 and data["percent"] == 0 and not data["finished"]
    assert client.post(url("job_cancel", job.pk)).status_code == 403
    sign_in_as(client, alice)
    client.post(url("job_cancel", job.pk))
    data = client.get(url("job_progress", job.pk)).json()
    assert data["counts"]["cancelled"] == 1 and data["finished"] and data["percent"] == 100
    assert client.get(url("job_cancel", job.pk)).status_code == 405


def test_history_filters_by_job(client, alice, team, sandbox):
    sign_in_as(client, alice)
    assert client.get(reverse("team_history", args=["acme"]), {"job": "7"}).status_code == 200
    response = client.get(reverse("team_history", args=["acme"]), {"job": "abc"})
    assert response.status_code in (200, 400) and "whole number" in response.content.decode()


# -- labels and tags -------------------------------------------------------------------------


def test_owners_set_labels_and_tags_and_the_dashboard_filters_by_them(client, alice, bob, team, sandbox):
    sign_in_as(client, bob)
    labels = reverse("settings_number_labels", args=["acme", CARD_NUMBER])
    assert client.post(labels, {}).status_code == 403
    sign_in_as(client, alice)
    number = PhoneNumber.objects.get(e164=CARD_NUMBER)
    client.post(labels, {f"lt{number.pk}-label": "Front", f"lt{number.pk}-tags": "support, floor 2"})
    number.refresh_from_db()
    assert number.label == "Front" and sorted(t.name for t in number.tags.all()) == ["floor 2", "support"]
    board = client.get(reverse("dashboard", args=["acme"]), {"tag": "support"}).context["board"]
    assert [row.e164 for row in board.rows] == [CARD_NUMBER]
    board = client.get(reverse("dashboard", args=["acme"]), {"tag": "nope", "status": "bogus"}).context["board"]
    assert board.tag == "" and board.status == "" and board.matching == 2
    client.post(labels, {f"lt{number.pk}-label": "Front", f"lt{number.pk}-tags": "bad,tag!"})
    assert sorted(t.name for t in PhoneNumber.objects.get(pk=number.pk).tags.all()) == ["floor 2", "support"]


def test_addnumber_sets_label_and_tags(team):
    call_command("addnumber", "acme", "+15550001009", "--label", "Sales", "--tag", "west", "--tag", "vip")
    number = PhoneNumber.objects.get(e164="+15550001009")
    assert number.label == "Sales" and sorted(t.name for t in number.tags.all()) == ["vip", "west"]
    with pytest.raises(CommandError):
        call_command("addnumber", "acme", "+15550001010", "--tag", "no,commas")


def test_importcards_dry_run_and_real(team, alice, sandbox, tmp_path, capsys):
    path = tmp_path / "cards.csv"
    path.write_text("number,first_name\n+15550001001,Renamed\n+15550001002,Fresh\n")
    call_command("importcards", "acme", str(path), "--dry-run")
    out = capsys.readouterr().out
    assert "row 2: +15550001001 change: first_name 'Acme' -> 'Renamed'" in out and "Dry run" in out
    assert not Job.objects.exists()
    call_command("importcards", "acme", str(path))
    assert Job.objects.get().items.count() == 2
    path.write_text("number,first_name\n+1555,X\n")
    with pytest.raises(CommandError, match="refused"):
        call_command("importcards", "acme", str(path))


# -- the job page: words, counters that add up, a bar that shows failures, retry ------------------------


def _job_in_every_state(team, alice, sandbox):
    """A job whose items sit in each box once (set as the runner's UPDATEs would leave them)."""
    from tests.support.rollout_helpers import many_numbers, numbers, start_bulk

    many_numbers(team, sandbox, 7)
    job = start_bulk(team, alice, [numbers(i) for i in range(7)], {"last_name": "Acme Corp"})
    items = list(job.items.order_by("pk"))
    S, W = JobItem.State, JobItem.Why
    facts = [
        dict(state=S.SENT, card_active=True),
        dict(state=S.SENT, card_active=False),
        dict(state=S.SENT, card_active=None),
        dict(state=S.FAILED, why=W.CONFLICT, linq_code=None,
             detail={"fields": [{"field": "last_name", "loaded": "Name 3", "remote": "Support"}]}),
        dict(state=S.SKIPPED, why=W.REFUSED, detail={"reasons": ["The photo link must start with https://."]}),
        dict(state=S.CANCELLED, why=W.CANCELLED, detail={"by": "alice"}),
        dict(state=S.QUEUED),
    ]
    for item, fact in zip(items, facts, strict=True):
        JobItem.objects.filter(pk=item.pk).update(**fact)
    return job, items


def test_every_item_is_counted_once_and_the_bar_shows_the_failure(client, alice, team, sandbox):
    from contactcards.rollout import jobs

    job, _items = _job_in_every_state(team, alice, sandbox)
    progress = jobs.job_progress(job)
    assert progress.boxes == {"queued": 1, "waiting": 0, "running": 0, "active": 1, "pending": 1, "sent": 1,
                              "failed": 1, "skipped": 1, "cancelled": 1}
    assert sum(progress.boxes.values()) == progress.total == 7
    segments = progress.segments
    assert [s["box"] for s in segments] == ["active", "pending", "sent", "skipped", "failed", "cancelled", "queued"]
    assert sum(s["width"] for s in segments) == pytest.approx(100, abs=0.01)
    failed = next(s for s in segments if s["box"] == "failed")  # after the sent and skipped ones, in red
    assert failed["x"] == pytest.approx(400 / 7, abs=0.01) and failed["width"] == pytest.approx(100 / 7, abs=0.01)

    sign_in_as(client, alice)
    html = client.get(url("job_detail", job.pk)).content.decode()
    for box, count in progress.boxes.items():
        assert f'data-count="{box}">{count}</strong>' in html
    assert 'class="seg seg-failed" data-box="failed"' in html
    data = client.get(url("job_progress", job.pk)).json()
    assert data["boxes"] == progress.boxes and sum(data["boxes"].values()) == data["total"]
    assert [s["box"] for s in data["segments"]] == [s["box"] for s in segments]


def test_the_job_page_speaks_words_not_field_names(client, alice, team, sandbox):
    job, _items = _job_in_every_state(team, alice, sandbox)
    sign_in_as(client, alice)
    html = client.get(url("job_detail", job.pk)).content.decode()
    assert "last_name" not in html and "Last name" in html
    assert "Changed at Linq since the preview:" in html and "preview “Name 3”, Linq now “Support”" in html
    assert "Refused at preview:" in html and "The photo link must start with https://." in html
    assert "Cancelled by alice." in html
    assert "Sent · active" in html and "Sent · pending at Linq" in html
    assert 'class="job-number"' in html  # never wraps (rollout.css: white-space: nowrap, tabular figures)


def test_a_linq_refusal_is_worded_from_its_facts(client, alice, team, sandbox):
    from tests.support.rollout_helpers import many_numbers, start_bulk

    number, = many_numbers(team, sandbox, 1)
    job = start_bulk(team, alice, [number.e164], {"first_name": "X"})
    job.items.update(state=JobItem.State.FAILED, why=JobItem.Why.LINQ_ERROR, linq_code=2022,
                     detail={"status": 500, "code": 2022, "message": "Internal error", "attempt": 3,
                             "attempts": 3, "gave_up": True})
    sign_in_as(client, alice)
    html = client.get(url("job_detail", job.pk)).content.decode()
    assert "Linq refused the change: “Internal error” (HTTP 500, Linq code 2022)." in html
    assert "Failed 3 times; giving up." in html


def test_old_prose_becomes_facts_or_stays_as_it_was(alice, team, sandbox):
    import importlib

    from django.apps import apps

    from tests.support.rollout_helpers import many_numbers, numbers, start_bulk

    migration = importlib.import_module("contactcards.migrations.0017_jobitem_facts")
    many_numbers(team, sandbox, 3)
    job = start_bulk(team, alice, [numbers(i) for i in range(3)], {"first_name": "X"})
    first, second, third = job.items.order_by("pk")
    JobItem.objects.filter(pk=first.pk).update(reason="Cancelled by bob.")
    JobItem.objects.filter(pk=second.pk).update(reason="Unchanged: the card already has these values.")
    JobItem.objects.filter(pk=third.pk).update(reason="Something Linq said (HTTP 400, Linq code 1002)")
    migration.prose_to_facts(apps, None)
    rows = {item.pk: item for item in job.items.all()}
    assert (rows[first.pk].why, rows[first.pk].detail, rows[first.pk].reason) == ("cancelled", {"by": "bob"}, "")
    assert (rows[second.pk].why, rows[second.pk].reason) == ("unchanged", "")
    assert (rows[third.pk].why, rows[third.pk].reason) == ("", "Something Linq said (HTTP 400, Linq code 1002)")


def _finished_with_a_failure(team, alice, sandbox):
    from tests.support.rollout_helpers import many_numbers, numbers, start_bulk

    many_numbers(team, sandbox, 2)
    job = start_bulk(team, alice, [numbers(0), numbers(1)], {"first_name": "Again"})
    ok, failed = job.items.order_by("pk")
    JobItem.objects.filter(pk=ok.pk).update(state=JobItem.State.SENT, card_active=True)
    JobItem.objects.filter(pk=failed.pk).update(state=JobItem.State.FAILED, why=JobItem.Why.BUSY)
    return job, failed


@pytest.mark.parametrize("persona", ["owner", "editor"])
def test_writers_retry_the_failed_items_of_a_finished_job(client, personas, persona, team, sandbox):
    job, failed = _finished_with_a_failure(team, personas["owner"], sandbox)
    sign_in_as(client, personas[persona])
    html = client.get(url("job_detail", job.pk)).content.decode()
    assert 'id="retry-form"' in html and 'id="retry-form" hidden' not in html
    response = client.post(url("job_retry", job.pk))
    retry = Job.objects.get(retry_of=job)
    assert response.status_code == 302 and response["Location"] == url("job_detail", retry.pk)
    assert [(i.phone_number, i.state, i.desired) for i in retry.items.all()] == [
        (failed.phone_number, JobItem.State.QUEUED, failed.desired)]
    assert retry.username == personas[persona].username and retry.description == job.description
    # each page links to the other; asking again (a double click) opens the same retry
    assert f'href="{url("job_detail", job.pk)}"' in client.get(url("job_detail", retry.pk)).content.decode()
    old = client.get(url("job_detail", job.pk)).content.decode()
    assert f'href="{url("job_detail", retry.pk)}"' in old and 'id="retry-form"' not in old
    assert client.post(url("job_retry", job.pk))["Location"] == url("job_detail", retry.pk)
    assert Job.objects.filter(retry_of=job).count() == 1


def test_read_only_members_and_outsiders_cannot_retry(client, personas, team, sandbox):
    job, _failed = _finished_with_a_failure(team, personas["owner"], sandbox)
    sign_in_as(client, personas["viewer"])
    assert 'id="retry-form"' not in client.get(url("job_detail", job.pk)).content.decode()
    assert client.post(url("job_retry", job.pk)).status_code == 403
    sign_in_as(client, personas["outsider"])
    assert client.post(url("job_retry", job.pk)).status_code == 404
    assert client.get(url("job_detail", job.pk)).status_code == 404
    sign_in_as(client, personas["owner"])
    assert client.get(url("job_retry", job.pk)).status_code == 405
    assert not Job.objects.filter(retry_of=job).exists()


def test_a_running_job_or_one_without_failures_is_not_retried(client, alice, team, sandbox):
    from tests.support.rollout_helpers import start_bulk

    running = start_bulk(team, alice, [CARD_NUMBER], {"last_name": "Later"})
    sign_in_as(client, alice)
    response = client.post(url("job_retry", running.pk), follow=True)
    assert "still running" in response.content.decode()
    running.items.update(state=JobItem.State.SENT)
    response = client.post(url("job_retry", running.pk), follow=True)
    assert "no failed items" in response.content.decode()
    assert not Job.objects.filter(retry_of=running).exists()


def test_a_poll_with_a_bad_cursor_answers_with_every_item(client, alice, team, sandbox):
    from tests.support.rollout_helpers import start_bulk

    job = start_bulk(team, alice, [CARD_NUMBER], {"last_name": "Later"})
    sign_in_as(client, alice)
    for since in ("yesterday", "2026-13-45T99:00:00", "2026-01-01T00:00:00", "\x00", "0001-01-01T00:00:00+14:00",
                  "9999-12-31T23:59:59-14:00"):
        response = client.get(url("job_progress", job.pk), {"since": since})
        assert response.status_code == 200 and len(response.json()["items"]) == 1


def test_a_poll_of_a_5000_item_job_reads_only_what_changed(client, alice, team, sandbox,
                                                          django_assert_max_num_queries):
    from datetime import timedelta

    from django.utils import timezone

    job = Job.objects.create(team=team, created_by=alice, username="alice", source=Job.Source.CSV)
    long_ago = timezone.now() - timedelta(hours=1)
    JobItem.objects.bulk_create([JobItem(job=job, phone_number=f"+1555300{i:04d}", row=i + 2, action="update",
                                         updated_at=long_ago) for i in range(5000)], batch_size=1000)
    changed = job.items.order_by("pk")[4321]
    job.items.filter(pk=changed.pk).update(state=JobItem.State.FAILED, why=JobItem.Why.BUSY)  # stamped now
    sign_in_as(client, alice)
    since = (timezone.now() - timedelta(minutes=10)).isoformat()
    with django_assert_max_num_queries(6):  # session, user, team and role, job, counts, changed items
        data = client.get(url("job_progress", job.pk), {"since": since}).json()
    assert [item["id"] for item in data["items"]] == [changed.pk]
    assert data["boxes"]["queued"] == 4999 and data["boxes"]["failed"] == 1 and data["total"] == 5000


@pytest.mark.parametrize("data", [{"step": "select"}, {"step": "select", "n": ["", "+1", "+19999999999"]}, {},
                                  {"step": "select", "all": "1", "q": "nothing matches this"}])
def test_an_empty_selection_is_sent_back_to_the_dashboard_with_a_word(client, bob, team, data):
    sign_in_as(client, bob)
    response = client.post(reverse("bulk_edit", args=["acme"]), data, follow=True)
    assert response.redirect_chain == [("/t/acme/", 302)]
    assert "Select at least one number on the dashboard first." in response.content.decode()
