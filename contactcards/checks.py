"""System checks that look at stored data: run with ``manage.py check --database default``
(Django runs database-tagged checks only when asked, never at every start)."""

from __future__ import annotations

from django.core import checks


@checks.register(checks.Tags.database)
def stored_numbers_are_e164(app_configs=None, databases=None, **kwargs):
    if not databases:
        return []
    from django.db import DatabaseError

    from contactcards.services.teams import numbers_not_normal

    try:
        problems = numbers_not_normal()
    except DatabaseError:  # not migrated yet: nothing stored to check
        return []
    return [
        checks.Warning(
            problem.problem,
            hint=("`manage.py checknumbers --fix` normalises it." if problem.fixable
                  else "Remove it in the team's settings (Numbers) and add it again correctly."),
            obj=f"PhoneNumber {problem.pk}",
            id="contactcards.W001",
        )
        for problem in problems
    ]
