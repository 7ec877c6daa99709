"""The keyset rule (``listing.next_full``) against a model of Strava's listing: any number
of activities on one second, any page size, pages shorter than asked, and it lists every
activity, terminates, and costs no more requests than page numbers would.

The model serves what the facts say Strava serves (facts/STRAVA.md): ``before`` strict,
newest first, ``page``/``per_page`` offsets, and optionally pages of fewer items than
asked (as the sandbox's ``short_page`` fault: offsets then count by that smaller size).
Within one second the order is by id, the same on every request.
"""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from nunis_ingest.usecases.listing import Cursor, next_full

Activity = tuple[int, int]  # (start second, id)


def serve(acts: list[Activity], cursor: Cursor, per_page: int, short: int | None) -> list:
    size = cursor.size or per_page
    if short is not None:
        size = min(size, short)
    listed = sorted(
        (a for a in acts if cursor.before is None or a[0] < cursor.before), reverse=True
    )
    offset = (cursor.page - 1) * size
    return listed[offset : offset + size]


def list_all(acts: list[Activity], per_page: int, short: int | None = None) -> tuple[set, int]:
    seen: set[int] = set()
    cursor: Cursor | None = Cursor()
    requests = 0
    while cursor is not None:
        requests += 1
        assert requests <= 4 * len(acts) + 10, "the listing does not terminate"
        page = serve(acts, cursor, per_page, short)
        seen |= {i for _, i in page}
        following = next_full(cursor, [s for s, _ in page], len(page), per_page)
        if following is not None:  # strict progress: the bound falls or the page rises
            assert (
                (following.before or math.inf, -following.page)
                < (
                    cursor.before or math.inf,
                    -cursor.page,
                )
                or following.size is not None
                or cursor.size is not None
            )
        cursor = following
    return seen, requests


starts = st.lists(st.integers(0, 40), max_size=160)


@settings(max_examples=300, deadline=None)
@given(starts=starts, per_page=st.integers(1, 12), short=st.none() | st.integers(1, 6))
def test_every_activity_is_listed_whatever_the_ties_and_page_sizes(starts, per_page, short):
    acts = [(s, i) for i, s in enumerate(starts)]
    seen, _ = list_all(acts, per_page, short)
    assert seen == {i for _, i in acts}


def old_rule_requests(acts: list[Activity], per_page: int) -> int:
    """Requests of the keyset rule before ties were handled (main before issue 19): after
    a full page ``before = oldest + 1`` unless that does not move, else ``before = oldest``."""
    before, requests = None, 0
    while True:
        requests += 1
        page = serve(acts, Cursor(before, 1), per_page, None)
        if not page:
            return requests
        oldest = page[-1][0]
        again = len(page) >= per_page and (before is None or oldest + 1 < before)
        before = oldest + 1 if again else oldest


@settings(max_examples=200, deadline=None)
@given(
    starts=st.lists(st.integers(0, 10**6), max_size=300, unique=True), per_page=st.integers(2, 20)
)
def test_without_ties_it_costs_exactly_what_it_cost_before(starts, per_page):
    acts = [(s, i) for i, s in enumerate(starts)]
    seen, requests = list_all(acts, per_page)
    assert seen == {i for _, i in acts}
    assert requests == old_rule_requests(acts, per_page)


def test_250_activities_on_one_second_beyond_a_page_are_all_listed():
    acts = [(5_000 + i, i) for i in range(159)] + [(1_000, 1_000 + i) for i in range(250)]
    acts += [(10, 5_000)]
    seen, requests = list_all(acts, 200)
    assert seen == {i for _, i in acts}
    assert requests <= 5
