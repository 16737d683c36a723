"""Job items carry facts (``why`` + ``detail``) worded by the job page, a poll cursor (``updated_at``),
and a job may retry another's failed items (``retry_of``). Issue 21.

Existing rows: prose the job runner wrote that maps to a fact without loss becomes that fact; any other
prose stays in ``reason``, which the page shows as is.
"""

import re

import django.utils.timezone
from django.db import migrations, models
from django.db.models import F, OuterRef, Subquery
from django.db.models.functions import Coalesce

EXACT = {
    "Unchanged: the card already has these values.": "unchanged",
    "Unchanged: Linq already has these values.": "unchanged",
    "Linq already shows the change (an earlier attempt's write reached it); nothing sent again.": "applied",
    "Linq did not answer, but the re-read card shows the change.": "unanswered",
    "A write was recorded without its outcome; check the history.": "no_outcome",
    "No write left for this number; waiting for its next slot.": "budget",
    "The number was busy with another save.": "busy",
    "A card was set up for this number since the preview. Preview again.": "card_appeared",
    "The card was deleted at Linq since the preview. Preview again.": "card_deleted",
    "The number or the person who started the job was removed.": "removed",
    "Its worker stopped mid-save; checking the card and trying again.": "worker_stopped",
}
CANCELLED = re.compile(r"^Cancelled by (?P<by>.*)\.$", re.S)


def prose_to_facts(apps, schema_editor):
    JobItem = apps.get_model("contactcards", "JobItem")
    for item in JobItem.objects.exclude(reason="").only("pk", "reason").iterator():
        why, detail = EXACT.get(item.reason), {}
        if why is None and (match := CANCELLED.match(item.reason)):
            why, detail = "cancelled", {"by": match["by"]}
        if why is not None:
            JobItem.objects.filter(pk=item.pk).update(why=why, detail=detail, reason="")


def facts_to_prose(apps, schema_editor):
    JobItem = apps.get_model("contactcards", "JobItem")
    words = {why: text for text, why in EXACT.items()}
    for item in JobItem.objects.exclude(why="").only("pk", "why", "detail").iterator():
        text = (f"Cancelled by {item.detail.get('by', '')}." if item.why == "cancelled"
                else words.get(item.why, item.why))
        JobItem.objects.filter(pk=item.pk).update(reason=text)


def stamp_updated_at(apps, schema_editor):
    JobItem, Job = apps.get_model("contactcards", "JobItem"), apps.get_model("contactcards", "Job")
    created = Subquery(Job.objects.filter(pk=OuterRef("job_id")).values("created_at")[:1])
    JobItem.objects.update(updated_at=Coalesce(F("finished_at"), F("claimed_at"), created))


class Migration(migrations.Migration):
    dependencies = [("contactcards", "0016_sent_photo")]

    operations = [
        migrations.AddField(
            model_name="job", name="retry_of",
            field=models.ForeignKey(blank=True, null=True, on_delete=models.deletion.SET_NULL,
                                    related_name="retries", to="contactcards.job"),
        ),
        migrations.AddField(
            model_name="jobitem", name="why",
            field=models.CharField(blank=True, max_length=20, choices=[
                ("unchanged", "Linq already had these values"),
                ("applied", "An earlier attempt's write reached Linq"),
                ("unanswered", "No answer, but the re-read shows the change"),
                ("set_up_again", "Set up again (the card was pending at Linq)"),
                ("no_outcome", "A write was recorded without its outcome"),
                ("unsettled", "Linq did not say whether the change was applied"),
                ("unknown", "No answer from Linq"),
                ("linq_error", "Linq refused the change"),
                ("linq_wait", "Linq asked to wait"),
                ("reread_failed", "The card could not be re-read"),
                ("budget", "No write left for this number"),
                ("busy", "The number was busy with another save"),
                ("conflict", "Changed at Linq since the preview"),
                ("image_refused", "Linq could not use the photo link"),
                ("card_appeared", "A card was set up since the preview"),
                ("card_deleted", "The card was deleted at Linq since the preview"),
                ("refused", "Refused at preview"),
                ("cancelled", "Cancelled"),
                ("removed", "The number or the person who started the job was removed"),
                ("worker_stopped", "Its worker stopped mid-save"),
                ("internal", "Internal error"),
            ]),
        ),
        migrations.AddField(
            model_name="jobitem", name="detail", field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name="jobitem", name="updated_at", field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.AddIndex(
            model_name="jobitem", index=models.Index(fields=["job", "updated_at"], name="jobitem_job_updated"),
        ),
        migrations.RunPython(stamp_updated_at, migrations.RunPython.noop),
        migrations.RunPython(prose_to_facts, facts_to_prose),
    ]
