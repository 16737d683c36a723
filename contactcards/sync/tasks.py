"""Task-queue entry points for keeping in step with Linq (run by ``manage.py db_worker``)."""

from django_tasks import task

from contactcards.sync import outside


@task()
def email_outside_change(entry_id: int) -> str:
    """Email the owners who asked about one change made outside linqadmin (queued after its commit)."""
    return outside.email_owners(entry_id)
