"""Linq's webhooks: the per-team receiver, the stored events, and the subscription endpoint records."""
