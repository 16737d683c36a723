"""Task-queue entry points for keeping in step with Linq (run by ``manage.py db_worker``)."""

from django_tasks import task

from contactcards.sync import outside, recheck


@task()
def email_outside_change(entry_id: int) -> str:
    """Email the owners who asked about one change made outside linqadmin (queued after its commit)."""
    return outside.email_owners(entry_id)


@task()
def recheck_attempts(number_pk: int, tries: int = 1) -> str:
    """Read a number's card at the end of its unknown writes' window, which settles them (``recheck``)."""
    return recheck.recheck_number(number_pk, tries)
