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
