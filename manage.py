#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""
import os
import sys


def main():
    """Run administrative tasks."""
    os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'linqadmin.settings')
    try:
        from django.core.management import execute_from_command_line
    except ImportError as exc:
        raise ImportError(
            "Couldn't import Django. Are you sure it's installed and "
            "available on your PYTHONPATH environment variable? Did you "
            "forget to activate a virtual environment? (bin/setup creates .venv)"
        ) from exc
    from django.db import DatabaseError

    try:
        execute_from_command_line(sys.argv)
    except DatabaseError as exc:
        # A database that is missing, unreachable or not migrated is an everyday first-run
        # mistake: say so in two lines instead of a 40-line traceback (--traceback shows it).
        if "--traceback" in sys.argv:
            raise
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        sys.stderr.write(f"Database error: {first_line}\n"
                         "Is DATABASE_URL right and the database migrated (python manage.py migrate)? "
                         "Add --traceback for details.\n")
        sys.exit(1)


if __name__ == '__main__':
    main()
