"""A board version per team, changed by triggers whenever anything the dashboard shows changes.

``contactcards_boardversion`` holds one random token per team. Triggers replace it on every
INSERT, UPDATE and DELETE of the team's numbers (label, newest entry), card mirror rows, tags and
tag links, and on every UPDATE of its audit entries (an outcome filled in): whatever path the
change takes (ORM, bulk update, raw SQL, admin). The dashboard reuses a board computed for the
same token (contactcards/teams/dashboard.py).

* PostgreSQL: deferred constraint triggers, so the token's row is written at commit - a writer
  holds that row's lock only for the instant of its commit and takes no other lock after it, so
  it cannot deadlock with the app's own locks; the row is upserted only if the team still exists.
* SQLite: plain row triggers (SQLite has one writer at a time, so no lock can be contended).
"""

import django.db.models.deletion
from django.db import migrations, models

# (table, the column that leads to the team: "team_id" directly or a number's id, events)
WATCHED = [
    ("contactcards_phonenumber", "team_id", ("INSERT", "UPDATE", "DELETE")),
    ("contactcards_cardmirror", "number_id", ("INSERT", "UPDATE", "DELETE")),
    ("contactcards_tag", "team_id", ("INSERT", "UPDATE", "DELETE")),
    ("contactcards_phonenumber_tags", "phonenumber_id", ("INSERT", "UPDATE", "DELETE")),
    ("contactcards_auditentry", "team_id", ("UPDATE",)),  # appended rows change nothing until a number points at them
]

POSTGRES_FUNCTION = """
CREATE OR REPLACE FUNCTION contactcards_board_changed() RETURNS trigger AS $$
DECLARE
    changed jsonb;
    team bigint;
BEGIN
    IF TG_OP = 'DELETE' THEN changed := to_jsonb(OLD); ELSE changed := to_jsonb(NEW); END IF;
    IF TG_ARGV[0] = 'team_id' THEN
        team := (changed ->> 'team_id')::bigint;
    ELSE
        SELECT team_id INTO team FROM contactcards_phonenumber WHERE id = (changed ->> TG_ARGV[0])::bigint;
    END IF;
    INSERT INTO contactcards_boardversion (team_id, version)
        SELECT id, md5(random()::text || clock_timestamp()::text) FROM contactcards_team WHERE id = team
        ON CONFLICT (team_id) DO UPDATE SET version = EXCLUDED.version;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
"""


def _sqlite_team(column: str, row: str) -> str:
    if column == "team_id":
        return f"{row}.team_id"
    return f"(SELECT team_id FROM contactcards_phonenumber WHERE id = {row}.{column})"


def sqlite_trigger(table: str, column: str, event: str) -> str:
    """One SQLite trigger (also re-created by later migrations whose table rebuild dropped it)."""
    row = "OLD" if event == "DELETE" else "NEW"
    return (
        f"CREATE TRIGGER {table}_board_{event.lower()} AFTER {event} ON {table} BEGIN "
        f"INSERT INTO contactcards_boardversion (team_id, version) "
        f"SELECT id, lower(hex(randomblob(16))) FROM contactcards_team "
        f"WHERE id = {_sqlite_team(column, row)} "
        f"ON CONFLICT (team_id) DO UPDATE SET version = excluded.version; END"
    )


def install(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_FUNCTION, params=None)
        for table, column, events in WATCHED:
            schema_editor.execute(
                f"CREATE CONSTRAINT TRIGGER {table}_board AFTER {' OR '.join(events)} ON {table} "
                f"DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION contactcards_board_changed('{column}')",
                params=None,
            )
    elif vendor == "sqlite":
        for table, column, events in WATCHED:
            for event in events:
                schema_editor.execute(sqlite_trigger(table, column, event), params=None)
        # A team's deletion deletes its numbers after its token, and their triggers write the token
        # again: remove it once the team is gone (on PostgreSQL the deferred upsert finds no team).
        schema_editor.execute(
            "CREATE TRIGGER contactcards_team_board_delete AFTER DELETE ON contactcards_team BEGIN "
            "DELETE FROM contactcards_boardversion WHERE team_id = OLD.id; END", params=None)


def remove(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for table, _column, events in WATCHED:
        if vendor == "postgresql":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_board ON {table}", params=None)
        elif vendor == "sqlite":
            for event in events:
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_board_{event.lower()}", params=None)
    if vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS contactcards_team_board_delete", params=None)
    if vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS contactcards_board_changed()", params=None)


class Migration(migrations.Migration):

    dependencies = [
        ("contactcards", "0012_rollouts"),
    ]

    operations = [
        migrations.CreateModel(
            name="BoardVersion",
            fields=[
                ("team", models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True,
                                              related_name="board", serialize=False, to="contactcards.team")),
                ("version", models.CharField(max_length=40)),
            ],
        ),
        migrations.RunPython(install, remove, elidable=False),
    ]
