"""The REST API (``/api/v1/``): scoped personal tokens, and thin endpoints over the domains' selectors and
services (the card save, the history, rollouts). Django REST framework with drf-spectacular (OpenAPI 3.0)."""
