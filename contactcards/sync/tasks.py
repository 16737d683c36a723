"""Task-queue entry points for keeping in step with Linq (run by ``manage.py db_worker``)."""

from django_tasks import task

from contactcards.sync import recheck


@task()
def recheck_attempts(number_pk: int, tries: int = 1) -> str:
    """Read a number's card at the end of its unknown writes' window, which settles them (``recheck``)."""
    return recheck.recheck_number(number_pk, tries)
