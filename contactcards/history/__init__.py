"""The append-only history of every call to Linq and every team change.

* ``audit.py``: its one writer (write-ahead attempts, outcomes, settlements, outside changes,
  subscription calls, team changes); a test fails if any other module creates or changes a row.
* ``models.py``: AuditEntry and the rules of its states. ``selectors.py``: filters, keyset pages, export
  rows. ``versions.py``: a card as it was after an entry. ``export.py``: the streamed CSV.
* ``forms.py`` (the filter), ``views.py``, ``restore_views.py`` (restore a version), ``urls.py``.
"""
