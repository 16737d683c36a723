"""The sign-in wizard's session storage, written only when there is something to keep.

django-two-factor-auth's sign-in page is a form wizard that keeps its state in the session. Its
storage wrote an empty state into the session as soon as the page was built, and its GET wrote the
"first step" state again: every anonymous look at the sign-in page created a session row (an
INSERT and its transaction), for a state that says nothing a missing one does not say - a wizard
without stored state starts at the first step (``StepsHelper.current``), and its first POST stores
the state then, exactly as before.

So a GET by someone whose session holds no wizard state renders the first step from a state kept
in memory only; every other request (any POST, a GET while a sign-in is under way) uses the
library's storage unchanged.
"""

from __future__ import annotations

from formtools.wizard.storage.base import BaseStorage
from two_factor.views.utils import LoginStorage


class QuietLoginStorage(LoginStorage):
    def __init__(self, prefix, request=None, file_storage=None):
        self._detached: dict | None = None
        if request is not None and request.method in ("GET", "HEAD") and f"wizard_{prefix}" not in request.session:
            BaseStorage.__init__(self, prefix, request, file_storage)
            self._detached = {}
            self.init_data()
            return
        super().__init__(prefix, request, file_storage)

    def _get_data(self):
        if self._detached is not None:
            return self._detached
        return super()._get_data()

    def _set_data(self, value):
        if self._detached is not None:
            self._detached = value
            return
        super()._set_data(value)

    data = property(_get_data, _set_data)

    @property
    def detached(self) -> bool:
        """Nothing is stored for this request: a GET that starts a sign-in."""
        return self._detached is not None

    def reset(self):
        if self._detached is not None:
            self.init_data()
            return
        super().reset()
