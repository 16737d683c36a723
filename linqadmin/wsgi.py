"""WSGI entry point (gunicorn linqadmin.wsgi). Refuses to start when production secrets are missing."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linqadmin.settings")

application = get_wsgi_application()

from linqadmin.checks import require_configured  # noqa: E402

require_configured()
