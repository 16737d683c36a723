"""Normalise phone numbers stored before validation was strict (see contactcards/common/phones.py).

Rewrites the ones that only differ by pasted separators or surrounding whitespace (a trailing
newline) and reports the rest on the console; those can be opened and removed in the settings,
and `manage.py checknumbers` lists them again at any time. Nothing is deleted.
"""

from django.db import migrations


def normalise(apps, schema_editor):
    from contactcards.teams.services import numbers_not_normal

    for problem in numbers_not_normal(fix=True, model=apps.get_model("contactcards", "PhoneNumber")):
        if problem.fixable:
            print(f"\n  contactcards: number {problem.pk} normalised to {problem.normal}")
        else:
            print(f"\n  contactcards: number {problem.pk} needs attention: {problem.problem}")


class Migration(migrations.Migration):
    dependencies = [("contactcards", "0004_audit_facts")]

    operations = [migrations.RunPython(normalise, migrations.RunPython.noop, elidable=True)]
