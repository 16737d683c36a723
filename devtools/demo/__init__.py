"""The demo-only app: ``manage.py demo``, ``sandboxfault`` and ``seedaudit``, the demo's photo host.

Installed only when DEBUG is on (``bin/run``) or in the tests (``linqadmin.settings_test``), so a
production deployment has none of these commands.
"""
