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
        token = _next_token(page, seen)
        if token is None:
            return


def _next_token(page: Any, seen: set[str]) -> str | None:
    """The page's next token, or None at the end; a token seen before is an error (a loop)."""
    token = getattr(page, "token", None) or None
    if token is not None:
        if token in seen:
            raise RuntimeError("the store returned the same page token twice")
        seen.add(token)
    return token


def iter_items(fetch: Callable[[str | None], Iterable[T]]) -> Iterator[T]:
    """Every item of every page of `fetch(page_token)`."""
    for page in iter_pages(fetch):
        yield from page


def iter_run_pages(search: Callable[[str | None, int, str | None], Any], page_size: int) -> Iterator[list[Any]]:
    """Every run of one MLflow run search, page by page, in the search's own order.

    `search(filter_string, max_results, page_token)` is one `search_runs` call ordered as
    MLflow orders by default: start time descending, then run id. MLflow's page token is an
    offset, and its SQL store sorts the whole experiment for every page and walks past the
    offset: on a 1,000,000-run sqlite store a 10-run page costs 0.5 s at offset 0 and 3.1 s at
    offset 900,000 (benchmarks/bench_run_paging.py). So after each page the read re-anchors on
    the last start time it saw (`attributes.start_time <= T`, a keyset page), skipping the runs
    of that start time it already has, and follows offsets only inside a group of runs sharing
    one start time that fills a whole page. Every run MLflow can list has a start time (its SQL
    store refuses a NULL one: "start_time cannot be None"; its file store sorts by
    `-start_time`), so the filter hides none. Writes during the read may repeat a run (callers
    drop runs they have seen, as with plain offsets) and cannot hide one that existed before the
    read began, except a run whose start time is changed meanwhile.
    """
    bound: int | None = None  # the filter's upper start time; None while unfiltered
    token: str | None = None
    skip: frozenset[str] = frozenset()  # ids at the bound already read (the keyset's ties)
    tokens: set[str] = set()
    before: int | None = None  # start time of the last run read before this page
    while True:
        where = None if bound is None else f"attributes.start_time <= {bound}"
        page = search(where, page_size + len(skip), token)
        runs = [run for run in page if run.info.run_id not in skip] if skip else list(page)
        yield runs
        token = _next_token(page, tokens)
        if token is None:
            break
        last = runs[-1].info.start_time if runs else None
        ties = frozenset(run.info.run_id for run in runs if run.info.start_time == last)
        began_here = len(ties) < len(runs) or (before is not None and last is not None and before > last)
        if last is not None and began_here and (bound is None or last < bound):
            # The ties began on this page (an earlier run started later), so they are all here.
            bound, skip, token, tokens = last, ties, None, set()
        else:
            skip = frozenset()  # inside one start time's group: plain offsets within it
        if runs:
            before = last
