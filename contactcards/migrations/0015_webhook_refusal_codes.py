"""Issue 19: refused webhook deliveries keep a code, not text; no mirror knows anything "as of" the future.

* ``WebhookEndpoint.last_refused_reason`` held the refusal's exception text, part of which the
  (unauthenticated) sender chose. It now holds one of three codes (``signature``, ``stale``,
  ``malformed``), which the page words. Stored texts become the code they describe.
* A signed event dated in the future (year 2999) could move a number's mirror ``as_of`` - and its
  "changed outside" mark - past today, after which no read or event could update it. Such times
  become now, so the mirror moves again.
"""

from django.db import migrations, models
from django.utils import timezone


def refusal_texts_to_codes(apps, schema_editor):
    WebhookEndpoint = apps.get_model("contactcards", "WebhookEndpoint")
    for endpoint in WebhookEndpoint.objects.exclude(last_refused_reason=""):
        text = endpoint.last_refused_reason
        if "timestamp too" in text:
            code = "stale"
        elif "No matching signature" in text:
            code = "signature"
        else:
            code = "malformed"
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(last_refused_reason=code)


def future_mirror_times_to_now(apps, schema_editor):
    CardMirror = apps.get_model("contactcards", "CardMirror")
    now = timezone.now()
    CardMirror.objects.filter(as_of__gt=now).update(as_of=now)
    CardMirror.objects.filter(outside_changed_at__gt=now).update(outside_changed_at=now)


class Migration(migrations.Migration):

    dependencies = [
        ("contactcards", "0014_audit_update_whitelist"),
    ]

    operations = [
        migrations.RunPython(refusal_texts_to_codes, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="webhookendpoint",
            name="last_refused_reason",
            field=models.CharField(blank=True, choices=[
                ("signature", "the signature does not match the secret"),
                ("stale", "the signature's timestamp is more than 5 minutes old or ahead"),
                ("malformed", "its webhook headers are missing or malformed"),
            ], max_length=20),
        ),
        migrations.RunPython(future_mirror_times_to_now, migrations.RunPython.noop),
    ]
