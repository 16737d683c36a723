"""Client for the Linq Partner API v3 contact-card endpoints.

This package imports nothing from Django on purpose: it can be used from a
script, a test or another framework, and it is the only code that speaks HTTP
to Linq.
"""

from contactcards.linq.client import (
    CallRecord,
    Card,
    CardResult,
    LinqClient,
    LinqError,
    PhoneNumberInfo,
    Subscription,
)

__all__ = ["CallRecord", "Subscription", "Card", "CardResult", "LinqClient", "LinqError", "PhoneNumberInfo"]
