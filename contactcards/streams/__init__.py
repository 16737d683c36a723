"""Audit streaming: a team's history, entry by entry as it is written, to its own receiver (a signed
webhook in the Standard Webhooks format, or syslog). See docs/audit-streaming.md."""
