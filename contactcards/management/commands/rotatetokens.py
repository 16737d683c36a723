from django.core.management.base import BaseCommand
from django.db import transaction

from contactcards.common import crypto
from contactcards.models import Team


class Command(BaseCommand):
    help = (
        "Re-encrypt every team's Linq token with the first key in LINQADMIN_ENCRYPTION_KEYS. "
        "Rotation: put a new key first, keep the old ones after it, run this, then drop the old keys."
    )

    def handle(self, **options):
        count = 0
        with transaction.atomic():
            for team in Team.objects.select_for_update().exclude(token_encrypted=""):
                team.token_encrypted = crypto.rotate(team.token_encrypted)
                team.save(update_fields=["token_encrypted"])
                count += 1
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {count} token(s) with the current key."))
