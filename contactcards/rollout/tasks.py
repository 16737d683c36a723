"""Task-queue entry points for rollouts (run by `manage.py db_worker`); the logic is in jobs.py."""

from django_tasks import task

from contactcards.rollout import jobs


@task()
def run_job_item(item_id: int) -> str:
    return jobs.run_item(item_id)


@task()
def start_job(job_id: int) -> str:
    return jobs.start_job(job_id)


@task()
def check_job(job_id: int) -> str:
    return jobs.check_job(job_id)


@task()
def start_deferred(job_id: int) -> str:
    """A scheduled or approved job's start (enqueued with ``run_after`` = its start time)."""
    from contactcards.rollout import deferred

    return deferred.start(job_id)


@task()
def expire_request(job_id: int) -> str:
    """A change request nobody decided in time expires (enqueued with ``run_after`` = its expiry)."""
    from contactcards.rollout import deferred

    return deferred.expire(job_id)


@task()
def email_approvers(job_id: int) -> str:
    from contactcards.rollout import deferred

    return deferred.email_approvers(job_id)


@task()
def email_requester(job_id: int, event: str) -> str:
    from contactcards.rollout import deferred

    return deferred.email_requester(job_id, event)
