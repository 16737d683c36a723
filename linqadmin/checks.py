"""Configuration problems found by settings.py, reported once and plainly.

Every management command that runs system checks stops with these messages (no traceback);
``generatekey`` skips checks so it works before any secret exists. ``require_configured`` is
called by linqadmin/wsgi.py so that gunicorn refuses to serve a half-configured app.
"""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Warning, register
from django.core.exceptions import ImproperlyConfigured

HINT = ("For production, see README \"Production\"; for local development, run bin/run once "
        "(it writes a development .env) or set DEBUG=1.")


@register()
def configuration(app_configs=None, **kwargs) -> list[Error]:
    problems = getattr(settings, "CONFIG_PROBLEMS", [])
    return [Error(problem, hint=HINT if index == len(problems) else None, id=f"linqadmin.E00{index}")
            for index, problem in enumerate(problems, start=1)]


@register(deploy=True)
def public_url(app_configs=None, **kwargs) -> list[Warning]:
    if settings.PUBLIC_URL or settings.DEBUG:
        return []
    return [Warning("PUBLIC_URL is not set: password-reset and invitation emails cannot carry a link, so none "
                    "are sent (and webhooks are off).",
                    hint="Set PUBLIC_URL to the address people use, e.g. https://admin.example.com (README).",
                    id="linqadmin.W001")]


@register(deploy=True)
def metrics_processes(app_configs=None, **kwargs) -> list[Warning]:
    import os

    if not (settings.METRICS_TOKEN or settings.METRICS_ALLOWED_NETWORKS) or os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return []
    return [Warning("/metrics is on but PROMETHEUS_MULTIPROC_DIR is not set: each process counts alone, so a scrape "
                    "shows only the counters of the web process that answers it, and none of the task workers'.",
                    hint="Give the web server and the workers of each host one local folder, emptied before they "
                         "start (README \"Metrics\").",
                    id="linqadmin.W002")]


def require_configured() -> None:
    from contactcards.accounts.checks import sso_problems

    problems = [*getattr(settings, "CONFIG_PROBLEMS", []), *sso_problems()]
    if problems:
        raise ImproperlyConfigured(" ".join(problems))
