"""Plumbing every domain shares, and nothing domain-specific.

access (404 for outsiders, 403 for read-only members, one helper per object) · clients (the one Linq
client factory) · errors (what a Linq error means; no words) · http (the client's address) · timezones ·
durations · taskqueue · dbroles (the two database roles) · crypto (secrets at rest) · phones (E.164) ·
converters · checks · health (/healthz) · preferences (the time-zone page) · models (UserPreference).
"""
