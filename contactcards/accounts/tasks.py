"""Task-queue entry points for account emails (run by `manage.py db_worker`); the logic is in services.py."""

from django_tasks import task

from contactcards.accounts import services


@task()
def send_password_reset(email: str) -> int:
    """Look ``email`` up and send each account that uses it a reset link; returns how many were sent."""
    return services.password_reset_send(email=email)
