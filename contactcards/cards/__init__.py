"""A number's card: showing it, editing it, setting one up - every card write to Linq starts here.

* ``services.py``: ``card_update`` / ``card_create``, read top to bottom: phase 1 under the number's lock
  (``guard.write_slot``: re-read, diff, the attempt written ahead), phase 2 after its commit (``send``).
* ``guard.py``: the lock, the one-write-per-form token, the budget check. ``budget.py``: writes left.
* ``send.py``: one write to Linq for a committed attempt, and its answer recorded once.
* ``diff.py``: what changed, conflicts, what to send (pure functions). ``outcomes.py``: what a save ends in.
* ``models.py`` (FormToken), ``selectors.py``, ``forms.py`` (the card form), ``views.py`` / ``urls.py``.
"""
