"""Django's ``migrate``, run as the owner role when MIGRATE_DATABASE_URL is set (see ``contactcards.common.dbroles``).

Afterwards the runtime role (DATABASE_URL's user) gets its privileges on every table, new ones
included, and only SELECT/INSERT on the audit history.
"""

from django.core.management.commands.migrate import Command as MigrateCommand

from contactcards.common.dbroles import as_owner, grant_runtime_privileges, runtime_role


class Command(MigrateCommand):
    def handle(self, *args, **options):
        alias = options["database"]
        role = runtime_role(alias)
        with as_owner(alias):
            super().handle(*args, **options)
            if role is not None:
                grant_runtime_privileges(role, alias)
                if options["verbosity"] >= 1:
                    self.stdout.write(f"Granted the runtime role {role} its privileges (audit history: "
                                      "SELECT and INSERT only).")
