"""The Linq token is never in the HTML, the logs, the audit rows or, in clear, the database."""

from __future__ import annotations

import logging

from django.contrib.auth import get_user_model
from django.db import connection

from conftest import CARD_NUMBER, EMPTY_NUMBER
from contactcards.cards.services import card_update
from contactcards.models import AuditEntry
from tests.support.helpers import sign_in_as

SECRET = "tok-SECRET-9d8f7e6c5b4a-LINQ"


def pages_as(client, user):
    """GET the pages a member sees; return their bodies."""
    sign_in_as(client, user)
    urls = ["/t/acme/", "/t/acme/?q=acme&sort=name", "/t/acme/settings/", "/t/acme/settings/numbers/import/",
            f"/t/acme/numbers/{CARD_NUMBER}/", f"/t/acme/numbers/{EMPTY_NUMBER}/",
            f"/t/acme/numbers/{CARD_NUMBER}/history/", "/t/acme/history/", "/t/acme/history/export.csv"]
    urls += [f"/t/acme/history/{pk}/" for pk in AuditEntry.objects.values_list("pk", flat=True)]
    return [client.get(url) for url in urls]


def every_row_of_every_table() -> str:
    dump = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            dump.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(dump)


def test_the_token_appears_nowhere(client, alice, bob, vera, team, sandbox, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="urllib3")
    sandbox.add_account(SECRET, [CARD_NUMBER, EMPTY_NUMBER])
    bodies = []

    # The owner sets it through the settings page, then uses it everywhere.
    sign_in_as(client, alice)
    bodies.append(client.post("/t/acme/settings/token/", {"token": SECRET}, follow=True))
    bodies.append(client.post("/t/acme/settings/token/test/"))
    bodies.append(client.post("/t/acme/settings/token/", {"token": SECRET + " with spaces"}))  # bad input
    bodies += pages_as(client, alice)
    bodies.append(client.post(f"/t/acme/numbers/{EMPTY_NUMBER}/",
                              {"action": "create", "first_name": "Acme", "last_name": "New"}))

    # Linq rejects it: error pages and failed audit rows.
    sandbox.add_fault({"kind": "error", "status": 401, "code": 2004})
    bodies.append(client.post("/t/acme/settings/token/test/"))
    bodies += pages_as(client, bob)
    bodies += pages_as(client, vera)
    sandbox.clear_faults()
    sandbox.add_fault({"kind": "error", "status": 401, "code": 2004, "methods": ["PATCH"]})
    team.refresh_from_db()
    loaded = {"first_name": "Acme", "last_name": "Support", "image_url": "https://cdn.linqapp.com/contact-card/acme.png"}
    card_update(number=team.numbers.get(e164=CARD_NUMBER), user=bob,  # a failed, audited write
                loaded=loaded, submitted={**loaded, "first_name": "Changed"})
    bodies += pages_as(client, bob)
    sandbox.clear_faults()

    # Staff in the admin.
    root = get_user_model().objects.create_superuser("root", "root@example.com", "x-root-password-x")
    sign_in_as(client, root)
    for url in ["/admin/contactcards/team/", f"/admin/contactcards/team/{team.pk}/change/",
                "/admin/contactcards/auditentry/", "/admin/contactcards/membership/",
                "/admin/contactcards/phonenumber/"]:
        bodies.append(client.get(url))
    entries = list(AuditEntry.objects.values_list("pk", flat=True))
    bodies += [client.get(f"/admin/contactcards/auditentry/{pk}/change/") for pk in entries]

    assert len(sandbox.requests) > 5 and {r.token for r in sandbox.requests} == {SECRET}  # it was used
    assert AuditEntry.objects.filter(action=AuditEntry.Action.TOKEN_CHANGE).exists()
    assert AuditEntry.objects.exclude(outcome=AuditEntry.Outcome.SUCCESS).exists()

    for response in bodies:
        content = b"".join(response.streaming_content) if response.streaming else response.content
        assert SECRET.encode() not in content, response.request["PATH_INFO"]
        assert SECRET[4:].encode() not in content  # not even most of it
    assert caplog.records, "nothing was logged, so the log check would prove nothing"
    for record in caplog.records:
        assert SECRET not in record.getMessage()
        assert SECRET not in repr(record.args)
    for entry in AuditEntry.objects.all():
        row = {f.attname: getattr(entry, f.attname) for f in AuditEntry._meta.concrete_fields}
        assert SECRET not in repr(row)
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM contactcards_team")
        teams = repr(cursor.fetchall())
    assert teams and SECRET not in teams and "tok-SECRET" not in teams
    assert SECRET not in every_row_of_every_table()
