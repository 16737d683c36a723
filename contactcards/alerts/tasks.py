"""Task-queue entry points for alerts (run by ``manage.py db_worker``); the logic is in services.py."""

from django_tasks import task

from contactcards.alerts import services


@task()
def deliver_alert(delivery_id: int) -> str:
    """Send one delivery (an alert at once, or a digest) if it is due; on failure, schedule the next try."""
    return services.deliver(delivery_id)


@task()
def digests_and_watchdog() -> str:
    """Every hour: the digests that are due, deliveries whose task was lost; then the next run."""
    made = services.send_digests()
    lost = services.give_back_lost()
    services.schedule_digests()
    return f"{made} digests, {lost} given back"
