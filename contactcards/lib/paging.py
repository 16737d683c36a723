"""Pages of a list (the dashboard, the settings' numbers, a job's items): one rule for clamping a page
number and for the links either side. No Django imports."""

from __future__ import annotations


def page_window(count: int, page: int, size: int) -> tuple[int, int, int]:
    """(page, pages, offset) for ``count`` rows in pages of ``size``: the page clamped to 1..pages."""
    pages = max(1, -(-count // size))
    page = min(max(1, page), pages)
    return page, pages, (page - 1) * size


class PageLinks:
    """``previous_page``/``next_page`` for anything with ``page`` and ``pages`` (None at either end)."""

    page: int
    pages: int

    @property
    def previous_page(self) -> int | None:
        return self.page - 1 if self.page > 1 else None

    @property
    def next_page(self) -> int | None:
        return self.page + 1 if self.page < self.pages else None
