"""Page through MLflow's paged search APIs.

MLflow's `search_*` calls return at most `max_results` items and a `token` for the next page;
a caller that ignores the token silently sees only the first 1,000 runs. `iter_pages` follows
tokens to the end, one page in memory at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")


def iter_pages(fetch: Callable[[str | None], Any]) -> Iterator[list[Any]]:
    """Yield each page (a list) of `fetch(page_token)` until the store returns no token.

    A store that hands back the same token twice would loop forever; stop with an error instead.
    """
    token: str | None = None
    seen: set[str] = set()
    while True:
        page = fetch(token)
        yield list(page)
        token = getattr(page, "token", None) or None
        if token is None:
            return
        if token in seen:
            raise RuntimeError("the store returned the same page token twice")
        seen.add(token)


def iter_items(fetch: Callable[[str | None], Iterable[T]]) -> Iterator[T]:
    """Every item of every page of `fetch(page_token)`."""
    for page in iter_pages(fetch):
        yield from page
