"""Fixtures shared by the history's tests."""

from __future__ import annotations

import pytest

from contactcards.models import PhoneNumber


@pytest.fixture
def numbers(team):
    """The team's numbers by E.164."""
    return {n.e164: n for n in PhoneNumber.objects.filter(team=team)}
