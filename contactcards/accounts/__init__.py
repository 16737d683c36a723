"""People and sign-in: throttled two-factor sign-in, invitations, password flows, sessions.

The libraries do the hard parts (django-axes counts and locks, django-otp/two-factor-auth verify
codes, django.contrib.auth resets passwords); this package wires them to teams and explains
to a person what is going on.
"""
