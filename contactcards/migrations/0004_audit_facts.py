"""Audit rows store facts, not our words: the kind of failure and which call of a save it was.

Older rows keep what they have: their ``error_message`` may end with a note in English (the
re-read before/after the write), which the history still shows as it was recorded.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("contactcards", "0003_write_safety")]

    operations = [
        migrations.AddField(
            model_name="auditentry",
            name="error_kind",
            field=models.CharField(blank=True, max_length=20),
        ),
        migrations.AddField(
            model_name="auditentry",
            name="stage",
            field=models.CharField(blank=True, choices=[("write", "Write"), ("check", "Re-read before writing")],
                                   default="write", max_length=10),
        ),
    ]
