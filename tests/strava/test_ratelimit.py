from hypothesis import given
from hypothesis import strategies as st

from nunis_ingest.core.ratelimit import RateLimitUsage, from_headers

FULL = {
    "X-RateLimit-Limit": "200,2000",
    "X-RateLimit-Usage": "12,310",
    "X-ReadRateLimit-Limit": "100,1000",
    "X-ReadRateLimit-Usage": "42,310",
}


def test_parses_all_four_headers():
    usage = from_headers(FULL)
    assert usage == RateLimitUsage(200, 2000, 12, 310, 100, 1000, 42, 310)
    assert usage.read_remaining() == (58, 690)


def test_header_names_are_case_insensitive():
    usage = from_headers({k.lower(): v for k, v in FULL.items()})
    assert usage is not None
    assert usage.read_usage_15min == 42
    upper = from_headers({k.upper(): v for k, v in FULL.items()})
    assert upper == usage


def test_no_headers_gives_none():
    assert from_headers({"Content-Type": "application/json"}) is None


def test_garbage_becomes_none_fields():
    usage = from_headers(
        {
            "X-RateLimit-Limit": "abc",
            "X-RateLimit-Usage": "5",
            "X-ReadRateLimit-Limit": " 100 , x",
            "X-ReadRateLimit-Usage": "-1,+3",
        }
    )
    assert usage == RateLimitUsage(read_limit_15min=100)


def test_read_remaining_falls_back_to_overall_figures():
    usage = from_headers({"X-RateLimit-Limit": "200,2000", "X-RateLimit-Usage": "210,300"})
    assert usage is not None
    assert usage.read_remaining() == (0, 1700)  # over the limit clamps at 0
    assert RateLimitUsage().read_remaining() == (None, None)


def test_as_dict_lists_every_figure():
    usage = from_headers(FULL)
    assert usage is not None
    assert usage.as_dict() == {
        "limit_15min": 200,
        "limit_daily": 2000,
        "usage_15min": 12,
        "usage_daily": 310,
        "read_limit_15min": 100,
        "read_limit_daily": 1000,
        "read_usage_15min": 42,
        "read_usage_daily": 310,
    }


names = st.sampled_from(
    ["X-RateLimit-Limit", "x-ratelimit-usage", "X-READRATELIMIT-LIMIT", "X-ReadRateLimit-Usage"]
)


@given(st.dictionaries(st.one_of(names, st.text()), st.text()))
def test_parser_never_raises(headers):
    usage = from_headers(headers)
    if usage is not None:
        for value in usage.as_dict().values():
            assert value is None or (isinstance(value, int) and value >= 0)
        usage.read_remaining()


@given(st.integers(0, 10**9), st.integers(0, 10**9))
def test_round_trip_of_valid_pairs(a, b):
    usage = from_headers({"X-ReadRateLimit-Usage": f"{a},{b}"})
    assert usage is not None
    assert (usage.read_usage_15min, usage.read_usage_daily) == (a, b)
