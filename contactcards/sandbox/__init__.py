"""A faithful, in-memory fake of Linq's contact-card and phone-number endpoints.

No Django imports: it is a plain WSGI application so it can run on its own
(``python -m contactcards.sandbox``), inside the demo command, or in a test
thread. Never enabled by production settings.
"""

from contactcards.sandbox.app import SandboxApp, SandboxState
from contactcards.sandbox.server import SandboxServer

__all__ = ["SandboxApp", "SandboxServer", "SandboxState"]
