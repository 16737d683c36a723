"""The sandbox's webhooks: subscriptions, signed contact-card events, and Linq's delivery behaviour.

No Django here (the sandbox is plain WSGI). What it does, after ``shared/docs/linq-api.md`` §6:

* ``/v3/webhook-subscriptions``: create (the ``signing_secret`` is returned once), list, get,
  update (``is_active`` and the rest) and delete, per token (account).
* Whenever a card changes - through the API, through the control plane ("someone else" in
  Linq's dashboard), or by an injected ``remote_change`` fault - an event
  (``contact_card.created|updated|deleted`` with actor, origin and the per-field change) is
  queued for every active subscription of the accounts that own the number.
* Deliveries are Standard Webhooks: ``webhook-id`` (the same for every attempt of one
  message), ``webhook-timestamp`` and ``webhook-signature``. 2xx ends a delivery; 5xx, 429 and
  network errors are retried with exponential backoff for up to 30 minutes; any other 4xx is
  not retried.
* On purpose, for tests and demos (``WebhookFaults``): duplicate deliveries, out-of-order
  delivery, bad signatures, stale timestamps.

Delivery is driven either by the caller - ``deliver_due()`` sends what is due now and returns
(tests drain the queue deterministically) - or by a background thread (``start_delivery``)
with ``wait_idle()`` to wait until nothing is due.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import threading
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from standardwebhooks.webhooks import Webhook

CARD_EVENTS = ("contact_card.created", "contact_card.updated", "contact_card.deleted")
LINE_EVENTS = ("phone_number.status_updated", "phone_number.assigned", "phone_number.released")
BACKOFF = (5, 30, 120, 300, 600, 900)  # seconds between attempts
GIVE_UP_AFTER = 30 * 60
DELIVERY_TIMEOUT = 5.0


def new_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(24)).decode()


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Subscription:
    id: str
    token: str
    target_url: str
    subscribed_events: list[str]
    phone_numbers: list[str]
    secret: str
    is_active: bool = True
    created_at: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "target_url": self.target_url, "subscribed_events": list(self.subscribed_events),
                "phone_numbers": list(self.phone_numbers), "is_active": self.is_active, "created_at": self.created_at}

    def wants(self, event_type: str, number: str) -> bool:
        return (self.is_active and event_type in self.subscribed_events
                and (not self.phone_numbers or number in self.phone_numbers))


@dataclass
class Delivery:
    """One message to one subscription; ``webhook_id`` stays the same across its attempts."""

    subscription_id: str
    target_url: str
    secret: str
    webhook_id: str
    body: bytes
    event_type: str
    first_at: float
    next_at: float
    attempts: int = 0
    statuses: list[Any] = field(default_factory=list)  # HTTP status per attempt, or "network"

    def to_dict(self) -> dict[str, Any]:
        return {"subscription_id": self.subscription_id, "webhook_id": self.webhook_id,
                "event_type": self.event_type, "attempts": self.attempts, "statuses": list(self.statuses),
                "next_at": self.next_at, "body": json.loads(self.body)}


@dataclass
class WebhookFaults:
    """Misbehaviour on purpose; counts are used up one delivery at a time."""

    duplicate: int = 0  # deliver the message twice in a row (same webhook-id)
    bad_signature: int = 0  # sign with a key the receiver does not have
    stale: int = 0  # a webhook-timestamp ten minutes old
    reorder: bool = False  # deliver what is due newest first

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class Webhooks:
    """Subscriptions and the delivery queue of one sandbox. Shares the sandbox state's lock and clock."""

    def __init__(self, state: Any) -> None:
        self.state = state
        self.changed = threading.Condition(state.lock)
        self.thread: threading.Thread | None = None
        self.stopping = False
        self.reset()

    def reset(self) -> None:
        with self.state.lock:
            self.subscriptions: dict[str, Subscription] = {}
            self.outbox: list[Delivery] = []
            self.done: list[Delivery] = []  # delivered (2xx) or given up
            self.faults = WebhookFaults()
            self.sending = 0

    # -- the API ---------------------------------------------------------

    def create(self, token: str, body: dict[str, Any]) -> Subscription:
        target = body.get("target_url")
        events = body.get("subscribed_events") or []
        numbers = body.get("phone_numbers") or []
        if not isinstance(target, str) or not target:
            raise ValueError("target_url is required")
        if not (target.startswith("https://") or target.startswith(("http://127.0.0.1", "http://localhost"))):
            raise ValueError("target_url must be an https URL")  # the sandbox lets loopback http through
        if not isinstance(events, list) or not events or not all(isinstance(e, str) for e in events):
            raise ValueError("subscribed_events must be a non-empty list of event types")
        if not isinstance(numbers, list) or not all(isinstance(n, str) for n in numbers):
            raise ValueError("phone_numbers must be a list of numbers")
        with self.state.lock:
            if any(s.target_url == target for s in self.subscriptions.values() if s.token == token):
                raise LookupError("target_url is already used by a subscription of this account")
            subscription = Subscription(id=str(uuid.uuid4()), token=token, target_url=target,
                                        subscribed_events=list(events), phone_numbers=list(numbers),
                                        secret=new_secret(), created_at=iso(self.state.clock()))
            self.subscriptions[subscription.id] = subscription
            return subscription

    def of(self, token: str) -> list[Subscription]:
        with self.state.lock:
            return [s for s in self.subscriptions.values() if s.token == token]

    def get(self, token: str, subscription_id: str) -> Subscription | None:
        with self.state.lock:
            subscription = self.subscriptions.get(subscription_id)
            return subscription if subscription is not None and subscription.token == token else None

    def update(self, subscription: Subscription, body: dict[str, Any]) -> Subscription:
        with self.state.lock:
            if "is_active" in body:
                if not isinstance(body["is_active"], bool):
                    raise ValueError("is_active must be a boolean")
                subscription.is_active = body["is_active"]
            for name in ("target_url", "subscribed_events", "phone_numbers"):
                if name in body:
                    setattr(subscription, name, body[name])
            return subscription

    def delete(self, subscription: Subscription) -> None:
        with self.state.lock:
            self.subscriptions.pop(subscription.id, None)
            self.outbox = [d for d in self.outbox if d.subscription_id != subscription.id]

    # -- events ------------------------------------------------------------

    def card_changed(self, number: str, before: dict[str, Any] | None, after: dict[str, Any] | None, *,
                     actor: dict[str, Any] | None = None, origin: str = "api") -> None:
        """Queue the event for this change (nothing if nothing a card event shows changed)."""
        fields = ("first_name", "last_name", "image_url")
        if before is None and after is None:
            return
        if before is None:
            event_type = "contact_card.created"
        elif after is None:
            event_type = "contact_card.deleted"
        else:
            event_type = "contact_card.updated"
        change = {}
        if before is not None and after is not None:
            change = {name: {"from": before.get(name), "to": after.get(name)}
                      for name in fields if before.get(name) != after.get(name)}
            if not change and before.get("is_active") == after.get("is_active"):
                return
        card = after if after is not None else before
        now = self.state.clock()
        data: dict[str, Any] = {
            "summary": f"Contact card {event_type.split('.')[1]} for {number}",
            "occurred_at": iso(now),
            "actor": actor or {"type": "api"},
            "origin": origin,
            "phone_number": number,
            "contact_card": {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, "card:" + number)),
                             "first_name": card.get("first_name"), "last_name": card.get("last_name"),
                             "image_url": card.get("image_url"), "is_active": card.get("is_active")},
        }
        if event_type == "contact_card.updated":
            data["change"] = change
        self._queue(event_type, number, data)

    def line_changed(self, event_type: str, number: str, data: dict[str, Any], *,
                     owners: list[str] | None = None) -> None:
        """Queue a ``phone_number.*`` event (``data`` without ``phone_number`` and ``changed_at``, added here).
        ``owners``: the accounts to tell (a released line no longer belongs to the one that had it)."""
        now = self.state.clock()
        self._queue(event_type, number, {"phone_number": number, "changed_at": iso(now), **data}, owners=owners)

    def _queue(self, event_type: str, number: str, data: dict[str, Any], *, owners: list[str] | None = None) -> None:
        """One event for every active subscription that wants it, of the accounts that own the number."""
        now = self.state.clock()
        event_id = str(uuid.uuid4())
        with self.state.lock:
            if owners is None:
                owners = [token for token, numbers in self.state.accounts.items() if number in numbers]
            for subscription in self.subscriptions.values():
                if subscription.token not in owners or not subscription.wants(event_type, number):
                    continue
                payload = {"api_version": "v3", "webhook_version": "2026-02-03", "event_type": event_type,
                           "event_id": event_id, "created_at": iso(now), "partner_id": "sandbox-partner",
                           "trace_id": uuid.uuid4().hex, "data": copy.deepcopy(data)}
                self.outbox.append(Delivery(
                    subscription_id=subscription.id, target_url=subscription.target_url,
                    secret=subscription.secret, webhook_id=f"msg_{uuid.uuid4().hex}",
                    body=json.dumps(payload).encode(), event_type=event_type, first_at=now, next_at=now,
                ))
            self.changed.notify_all()

    # -- delivery ----------------------------------------------------------

    def deliver_due(self) -> int:
        """Send every delivery that is due now (by the sandbox clock) once; return how many were sent."""
        with self.state.lock:
            now = self.state.clock()
            due = [d for d in self.outbox if d.next_at <= now]
            if self.faults.reorder:
                due.reverse()
            self.sending += 1
        try:
            for delivery in due:
                self._attempt(delivery)
                with self.state.lock:
                    if self.faults.duplicate > 0 and delivery.statuses and delivery.statuses[-1] != "network":
                        self.faults.duplicate -= 1
                        self._send(delivery)  # the same message again, as Linq may
        finally:
            with self.state.lock:
                self.sending -= 1
                self.changed.notify_all()
        return len(due)

    def _attempt(self, delivery: Delivery) -> None:
        status = self._send(delivery)
        with self.state.lock:
            delivery.attempts += 1
            delivery.statuses.append(status)
            retry = status == "network" or status == 429 or (isinstance(status, int) and status >= 500)
            now = self.state.clock()
            if retry and now - delivery.first_at < GIVE_UP_AFTER:
                delivery.next_at = now + BACKOFF[min(delivery.attempts - 1, len(BACKOFF) - 1)]
                return
            if delivery in self.outbox:
                self.outbox.remove(delivery)
            self.done.append(delivery)

    def _send(self, delivery: Delivery) -> int | str:
        with self.state.lock:
            timestamp = self.state.clock()
            key = delivery.secret
            if self.faults.bad_signature > 0:
                self.faults.bad_signature -= 1
                key = new_secret()
            if self.faults.stale > 0:
                self.faults.stale -= 1
                timestamp -= 600
        signed_at = datetime.fromtimestamp(int(timestamp), tz=UTC)
        signature = Webhook(key).sign(delivery.webhook_id, signed_at, delivery.body.decode())
        request = urllib.request.Request(delivery.target_url, data=delivery.body, method="POST", headers={
            "Content-Type": "application/json", "webhook-id": delivery.webhook_id,
            "webhook-timestamp": str(int(timestamp)), "webhook-signature": signature,
            "X-Webhook-Event": delivery.event_type, "X-Webhook-Subscription-ID": delivery.subscription_id,
        })
        try:
            with urllib.request.urlopen(request, timeout=DELIVERY_TIMEOUT) as response:  # noqa: S310
                return response.status
        except urllib.error.HTTPError as error:
            return error.code
        except (OSError, ValueError):
            return "network"

    # -- a background sender (bin/run), and waiting for it ---------------------

    def start_delivery(self) -> None:
        self.thread = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)
        self.thread.start()

    def stop_delivery(self) -> None:
        with self.state.lock:
            self.stopping = True
            self.changed.notify_all()

    def _run(self) -> None:
        while True:
            with self.state.lock:
                while not self.stopping and not self._due():
                    upcoming = [d.next_at for d in self.outbox]
                    wait = (min(upcoming) - self.state.clock()) if upcoming else None
                    self.changed.wait(timeout=max(0.05, wait) if wait is not None else None)
                if self.stopping:
                    return
            self.deliver_due()

    def _due(self) -> bool:
        now = self.state.clock()
        return any(d.next_at <= now for d in self.outbox)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until nothing is due and nothing is being sent (a condition, not a duration)."""
        with self.state.lock:
            return self.changed.wait_for(lambda: not self._due() and not self.sending, timeout=timeout)

    def snapshot(self) -> dict[str, Any]:
        with self.state.lock:
            return {"subscriptions": [s.to_dict() for s in self.subscriptions.values()],
                    "outbox": [d.to_dict() for d in self.outbox], "done": [d.to_dict() for d in self.done[-50:]],
                    "faults": self.faults.to_dict()}
