"""Rollouts of thousands of numbers: what the preview lists, and the work done once per number (both databases).

The speed itself is measured by ``bin/bench-rollout`` (docs/benchmarks.md), never asserted here.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from conftest import CARD_NUMBER
from contactcards.cards.budget import WRITE_LIMIT, write_budget, write_budgets
from contactcards.models import AuditEntry, PhoneNumber
from contactcards.rollout.plan import Target, build_plan
from contactcards.rollout.views import SHOWN_ROWS
from tests.support.helpers import sign_in_as
from tests.support.rollout_helpers import many_numbers

pytestmark = pytest.mark.django_db


def test_a_long_preview_lists_every_refused_row_and_counts_the_rest(client, alice, team, sandbox):
    count = SHOWN_ROWS["sends"] + 30
    e164s = [number.e164 for number in many_numbers(team, sandbox, count)]
    rows = "".join(f"{e164},Rolled out\n" for e164 in e164s) + "+19999999999,Nobody\n+1555,Short\n"
    sign_in_as(client, alice)
    response = client.post(reverse("cards_import", args=["acme"]), {
        "action": "preview", "file": SimpleUploadedFile("many.csv", f"number,last_name\n{rows}".encode())})
    page = response.content.decode()
    assert response.status_code == 200
    assert f"{count} will change" in page and "2 can't be done" in page  # the counts cover every row
    assert 'data-number="+19999999999"' in page and "not one of this team&#x27;s numbers" in page
    assert page.count('<tr class="plan-change"') == SHOWN_ROWS["sends"]
    assert page.count('<tr class="plan-cannot"') == 2
    assert 'id="preview-more"' in page and "and 30 more rows" in page
    assert f'data-number="{e164s[-1]}"' not in page  # beyond the list, counted above it
    assert 'id="confirm"' not in page  # a refused row still blocks the confirm


def test_each_row_is_checked_on_its_own(team, sandbox):
    """The preview re-uses one form for every row: a row's problems never carry over to the next."""
    plan = build_plan(team, [Target(e164=CARD_NUMBER, values={"image_url": "http://x.test/a.png"}),
                             Target(e164=CARD_NUMBER.replace("1001", "1002"), values={"first_name": "Fine"}),
                             ])
    refused, created = plan.rows
    assert refused.kind == "cannot" and "https://" in " ".join(refused.reasons)
    assert created.kind == "create" and created.reasons == ()


def test_the_budgets_of_many_numbers_are_those_of_each_in_one_query(team, alice, django_assert_num_queries):
    first, second = PhoneNumber.objects.filter(team=team).order_by("e164")
    now = AuditEntry.objects.create(team=team, number=first, phone_number=first.e164, user=alice,
                                    action=AuditEntry.Action.UPDATE).created_at
    for _ in range(WRITE_LIMIT - 1):
        AuditEntry.objects.create(team=team, number=first, phone_number=first.e164, user=alice,
                                  action=AuditEntry.Action.UPDATE)
    AuditEntry.objects.create(team=team, number=second, phone_number=second.e164, user=alice,
                              action=AuditEntry.Action.UPDATE, http_status=429, retry_after=60)
    later = now + timedelta(seconds=5)
    with django_assert_num_queries(1):
        budgets = write_budgets(numbers=[first, second, first], now=later)
    assert budgets == {number.pk: write_budget(number=number, now=later) for number in (first, second)}
    assert budgets[first.pk].exhausted and budgets[first.pk].blocked_by == "budget"
    assert budgets[second.pk].exhausted and budgets[second.pk].blocked_by == "linq"
