"""``canonical.loads`` (orjson where exact) gives ``json.loads``'s value, or its error.

Listing pages are parsed by ``canonical.loads``; anything it returns must be what the
standard library returns for the same bytes, and what the standard library refuses it
must refuse the same way: integers beyond 64 bits, lone surrogates, NaN, a BOM, broken
UTF-8 and control characters included.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from nunis_ingest.core.canonical import loads
from tests.unit.strategies import json_values

EDGES = [
    b'["a\x01b"]',
    b'["\\u0000"]',
    b'["\\ud83d"]',
    b'["\\udc00\\ud83d"]',
    b"[1.5e-320, -0.0, 1e999]",
    b"[NaN, Infinity]",
    b"[18446744073709551616, -9223372036854775809, 987654321234567891234]",
    b"[1234567890123456789, 9223372036854775807]",
    b"\xef\xbb\xbf[1]",
    b'["\xc3"]',
    b"[1]\x00",
    b'{"a": 1, "a": 2}',
    b"[" * 2000 + b"]" * 2000,
]


def _outcome(parse: Any, body: bytes) -> tuple[str, str]:
    try:
        return "ok", repr(parse(body))
    except (ValueError, RecursionError) as exc:
        return "error", type(exc).__name__


def test_edges_parse_as_the_standard_library_does() -> None:
    for body in EDGES:
        assert _outcome(loads, body) == _outcome(json.loads, body), body[:40]


@given(json_values, st.sampled_from([b"", b" ", b"\n", b"x", b"\xff", b"0" * 20]))
def test_arbitrary_documents_parse_alike(value: Any, tail: bytes) -> None:
    body = json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")
    for variant in (body, body + tail, tail + body):
        assert _outcome(loads, variant) == _outcome(json.loads, variant)
