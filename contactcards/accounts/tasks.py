"""Task-queue entry points for account emails (run by `manage.py db_worker`); the logic is in services.py."""

from django_tasks import task

from contactcards.accounts import services


@task()
def send_password_reset(email: str) -> int:
    """Look ``email`` up and send each account that uses it a reset link; returns how many were sent."""
    return services.password_reset_send(email=email)


@task()
def send_email_change(user_id: int, token: str) -> bool:
    """Mail the link that confirms a new email address to that address."""
    return services.email_change_send(user_id=user_id, token=token)


@task()
def send_email_changed_notice(user_id: int, old_email: str) -> bool:
    """Tell the address an account stopped using that it was replaced."""
    return services.email_changed_notice_send(user_id=user_id, old_email=old_email)
