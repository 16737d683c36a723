"""Play "someone changed the card in Linq's own dashboard", for demos: the built-in sandbox changes a card
itself, as Linq does when a person edits it there, and announces it to webhook subscriptions.

Talks to the sandbox's control endpoint (``<base URL>/_sandbox/cards``), the same local sandbox as
``sandboxfault`` (``bin/run``'s, port 8765 or $SANDBOX_PORT; loopback only). linqadmin then finds the
change the way it finds a real one: at once with a webhook subscription (Settings → Webhooks), else when
someone opens the number, refreshes the dashboard, or the periodic reconcile reads the cards.

Examples::

    manage.py outsidechange +15550100002 --set last_name=Marketing
    manage.py outsidechange +15550100003 --set first_name="Acme Accounts" --set last_name="Receivable"
    manage.py outsidechange +15550100004 --active          # Linq finished setting up the pending card
    manage.py outsidechange +15550100001 --delete          # only Linq's dashboard can remove a card
"""

from __future__ import annotations

import requests
from django.core.management.base import BaseCommand, CommandError

from contactcards.common.phones import PhoneNumberError, parse_e164
from devtools.demo.management.commands.sandboxfault import _pairs, control_url, not_answered

FIELDS = ("first_name", "last_name", "image_url")


class Command(BaseCommand):
    help = "Change a card in the built-in Linq sandbox as someone in Linq's own dashboard would (demo only)."

    def add_arguments(self, parser):
        parser.add_argument("number", help="the E.164 number whose card changes")
        parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                            help=f"a field to change ({', '.join(FIELDS)}); repeatable")
        state = parser.add_mutually_exclusive_group()
        state.add_argument("--active", action="store_const", const=True, dest="is_active",
                           help="the card becomes active")
        state.add_argument("--pending", action="store_const", const=False, dest="is_active",
                           help="the card becomes pending (not active)")
        parser.add_argument("--delete", action="store_true", help="remove the card")
        parser.add_argument("--base-url", help="the sandbox's base URL (default: as sandboxfault)")

    def handle(self, *args, **options):
        try:
            number = parse_e164(options["number"])
        except PhoneNumberError as problem:
            raise CommandError(str(problem)) from None
        changes = _pairs(options["set"], "--set", "FIELD=VALUE")
        unknown = sorted(set(changes) - set(FIELDS))
        if unknown:
            raise CommandError(f"Unknown field {', '.join(unknown)}: a card has {', '.join(FIELDS)}.")
        if options["delete"] and (changes or options["is_active"] is not None):
            raise CommandError("--delete removes the card: it takes no --set, --active or --pending.")
        if not (options["delete"] or changes or options["is_active"] is not None):
            raise CommandError("Say what changes: --set FIELD=VALUE, --active, --pending or --delete.")
        url = control_url(options["base_url"]).removesuffix("/faults") + "/cards"
        try:
            if options["delete"]:
                response = requests.delete(url, json={"phone_number": number}, timeout=5)
            else:
                response = requests.post(url, json=self._card(url, number, changes, options["is_active"]), timeout=5)
        except requests.RequestException as exc:
            raise CommandError(not_answered(url, options["base_url"], exc)) from None
        if response.status_code != 200:
            raise CommandError(f"The sandbox refused the change: {response.text}")
        if options["delete"]:
            self.stdout.write(f"The card of {number} was removed at Linq (the sandbox).")
        else:
            card = response.json()
            state = "active" if card.get("is_active") else "pending"
            self.stdout.write(f"The card of {number} was changed at Linq (the sandbox), now {state}: "
                              + ", ".join(f"{name}={card.get(name)!r}" for name in FIELDS))
        self.stdout.write("linqadmin finds it at once with a webhook subscription (Settings → Webhooks), else "
                          "when the number is opened, the dashboard refreshed or the reconcile runs.")

    @staticmethod
    def _card(url: str, number: str, changes: dict[str, str], is_active: bool | None) -> dict:
        """The control request: the changed fields, and the card's current state unless one is asked for."""
        if is_active is None:
            state = requests.get(url.removesuffix("/cards") + "/state", timeout=5).json()
            current = next((card for card in state.get("cards", []) if card.get("phone_number") == number), None)
            is_active = bool(current.get("is_active")) if current else True
        return {"phone_number": number, **changes, "is_active": is_active}
