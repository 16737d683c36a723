"""Teams, their members, numbers and tags; the dashboard; the team settings.

* ``services.py``: token, members, numbers (every change recorded in the history).
* ``selectors.py``: memberships, members, what Linq lists for the token. ``dashboard.py``: one page of
  numbers from the card mirror, cached until the team's board version changes.
* ``models.py``, ``forms.py``, ``views.py`` (home, dashboard), ``settings_views.py``, ``urls.py``.
"""
