"""Tasks the task-queue tests enqueue (a worker process imports them by path)."""

from django_tasks import task


@task()
def numbers_of(team_slug: str) -> list[str]:
    """Read committed rows of the test database from the worker process."""
    from contactcards.models import PhoneNumber

    return sorted(PhoneNumber.objects.filter(team__slug=team_slug).values_list("e164", flat=True))


@task()
def fail(message: str) -> None:
    raise RuntimeError(message)
