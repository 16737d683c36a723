import os
from datetime import timedelta

from django.apps import AppConfig

# Worker processes started by a test that moved its clock (tests/support/clock.py) share that time.
CLOCK_OFFSET_ENV = "LINQADMIN_TEST_CLOCK_OFFSET"


def shift_django_now(seconds: float) -> None:
    """Move ``django.utils.timezone.now`` by ``seconds`` in this process (tests only)."""
    from django.utils import timezone

    real_now = getattr(timezone.now, "real_now", timezone.now)

    def shifted():
        return real_now() + timedelta(seconds=seconds)

    shifted.real_now = real_now
    timezone.now = shifted


class DemoConfig(AppConfig):
    name = "devtools.demo"
    label = "demo"
    verbose_name = "Demo and test tools"

    def ready(self) -> None:
        if os.environ.get(CLOCK_OFFSET_ENV):
            shift_django_now(float(os.environ[CLOCK_OFFSET_ENV]))
