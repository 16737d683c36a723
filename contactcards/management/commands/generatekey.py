from django.core.management.base import BaseCommand

from contactcards.common.crypto import generate_key


class Command(BaseCommand):
    help = "Print a new key for LINQADMIN_ENCRYPTION_KEYS (put it first to rotate, then run rotatetokens)."
    requires_system_checks = []

    def handle(self, **options):
        self.stdout.write(generate_key())
