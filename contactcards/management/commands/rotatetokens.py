"""Re-encrypt every stored secret with the current key (README "Rotating the encryption key").

Every encrypted column is an ``EncryptedTextField`` (``crypto.encrypted_fields``): the teams' Linq
tokens, the webhook signing secrets, and whatever is encrypted next. A value that no configured key
can decrypt is left as it is and named; the command then exits 1, so the old key is not dropped
before someone has looked (an owner enters that token or subscription again).
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from contactcards.common import crypto


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored secret (team tokens, webhook signing secrets) with the first key in "
        "LINQADMIN_ENCRYPTION_KEYS. Rotation: put a new key first, keep the old ones after it, run this, "
        "then drop the old keys."
    )

    def handle(self, **options):
        counts: list[str] = []
        unreadable: list[str] = []
        with transaction.atomic():
            for model, field in crypto.encrypted_fields():
                rows = model._base_manager.select_for_update().exclude(**{field.attname: ""}).order_by("pk")
                count = 0
                for pk, ciphertext in rows.values_list("pk", field.attname):
                    try:
                        rotated = crypto.rotate(ciphertext)
                    except crypto.TokenDecryptionError:
                        unreadable.append(f"{model._meta.label}.{field.name} of row {pk}")
                        continue
                    model._base_manager.filter(pk=pk).update(**{field.attname: rotated})
                    count += 1
                counts.append(f"{count} {model._meta.label}.{field.name}")
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted with the current key: {', '.join(counts)}."))
        if unreadable:
            raise CommandError("No configured key decrypts: " + "; ".join(unreadable)
                               + ". Keep the old key until these are entered again.")
