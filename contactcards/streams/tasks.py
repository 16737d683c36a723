"""Task-queue entry point for audit streams (run by ``manage.py db_worker``); the logic is in delivery.py."""

from django_tasks import task

from contactcards.streams import delivery


@task()
def deliver_stream(stream_id: int) -> str:
    """Send a stream's waiting messages in order, until none is left or the receiver fails (then backoff)."""
    return delivery.deliver(stream_id)
