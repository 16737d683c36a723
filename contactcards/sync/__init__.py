"""Keeping in step with Linq: what we know of each card, and how it is kept true.

* ``reads.py``: one card read, remembered in the mirror (``mirror.py``); each read first settles our own
  writes whose outcome was unknown (``settle.py``), then files what they do not explain as a change made
  outside linqadmin (``outside.py``). ``recheck.py``: reading again when an unknown write's window ends.
* ``reconcile.py``: all of a team's cards in one read, compared with the mirror.
* ``webhooks.py``: Linq's signed events (receive, store, process); ``subscriptions.py``: managing them.
* ``tasks.py`` (the queue's entry points), ``models.py``, ``views.py`` / ``urls.py``.
"""
