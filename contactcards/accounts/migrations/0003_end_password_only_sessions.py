"""Once: end the sessions of every account that already has a second factor.

From now on a new device ends the account's other sessions (accounts/signals.py). Accounts that got
theirs before may still have sessions that signed in with the password alone and never verified
(issue 19); which sessions those are cannot be told from here, so every session of such an
account ends and its owner signs in again, with the code.
"""

from django.db import migrations
from django.db.models import F


def end_sessions_of_accounts_with_a_device(apps, schema_editor):
    TOTPDevice = apps.get_model("otp_totp", "TOTPDevice")
    AccountSecurity = apps.get_model("accounts", "AccountSecurity")
    with_device = TOTPDevice.objects.filter(confirmed=True, name="default").values("user_id")
    AccountSecurity.objects.filter(user_id__in=with_device).update(session_epoch=F("session_epoch") + 1)
    missing = (TOTPDevice.objects.filter(confirmed=True, name="default")
               .exclude(user_id__in=AccountSecurity.objects.values("user_id"))
               .values_list("user_id", flat=True).distinct())
    AccountSecurity.objects.bulk_create([AccountSecurity(user_id=user_id, session_epoch=1) for user_id in missing],
                                        batch_size=500)


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0002_reset_request"),
        ("otp_totp", "0003_add_timestamps"),
    ]

    operations = [
        migrations.RunPython(end_sessions_of_accounts_with_a_device, migrations.RunPython.noop),
    ]
