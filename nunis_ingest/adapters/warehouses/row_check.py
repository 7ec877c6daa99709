"""A fast content check for many rows of one table (pure): ``validate.py``'s rules, per row
in about a microsecond, for the detail tables' long streams (100,000 rows a call).

The rules are those of ``validate._compile`` (what both warehouses' bulk loads accept).
Speed comes from the shape of the rows: rows of one table almost always have the same
keys with values of the same Python types. So a row's *signature* (its keys and the types
of its values, both built in C) selects a plan, made once per signature: if the types
cannot fit, the full check explains why; if they fit, only what types cannot tell is
checked, and in bulk: integers against the INT64 range (``min``/``max`` of the row's
ints), floats for finiteness (one ``sum``; only a non-finite sum looks closer), and
timestamp texts against a set of texts already found valid (a stream repeats its
``start_date`` and ``loaded_at`` on every row). Structs, lists and JSON go through their
compiled checks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from math import isfinite
from operator import itemgetter
from typing import Any

from nunis_ingest.adapters.warehouses.validate import INT64_MAX, INT64_MIN, Check, _compile
from nunis_ingest.core import schema

_FITS: dict[str, tuple[type, ...]] = {
    "INT64": (int,),
    "FLOAT64": (float, int),
    "STRING": (str,),
    "BOOL": (bool,),
    "TIMESTAMP": (str,),
    "DATETIME": (str,),
}
_KNOWN_TEXTS_MAX = 4096
_PLANS_MAX = 1024
Getter = Callable[[Mapping[str, Any]], tuple[Any, ...]]
Plan = Callable[[Mapping[str, Any]], "str | None"]


def _getter(names: list[str]) -> Getter:
    """``row -> tuple of row[name]`` for ``names`` (``itemgetter`` returns a bare value for
    one name)."""
    if len(names) == 1:
        name = names[0]
        return lambda row: (row[name],)
    return itemgetter(*names)


class RowCheck:
    """``check(row)``: ``None`` if the row fits ``columns``, else ``"column: reason"``.
    Keys that are not columns are the caller's business (checked before)."""

    def __init__(self, columns: tuple[schema.Column, ...]) -> None:
        self.columns = columns
        self.full: dict[str, Check] = {c.name: _compile(c) for c in columns}
        self.plans: dict[tuple[Any, ...], Plan] = {}
        self.texts: set[str] = set()

    def __call__(self, row: Mapping[str, Any]) -> str | None:
        signature = (tuple(row), tuple(map(type, row.values())))
        plan = self.plans.get(signature)
        if plan is None:
            if len(self.plans) > _PLANS_MAX:
                self.plans.clear()
            plan = self.plans[signature] = self._plan(row)
        return plan(row)

    def explain(self, row: Mapping[str, Any]) -> str | None:
        """The full check, column by column (slow; the first failure's reason)."""
        for c in self.columns:
            reason = self.full[c.name](row.get(c.name))
            if reason is not None:
                return f"{c.name}: {reason}"
        return None

    def _plan(self, row: Mapping[str, Any]) -> Plan:
        ints: list[str] = []
        floats: list[str] = []
        texts: list[str] = []
        other: list[tuple[str, Check]] = []
        for c in self.columns:
            value = row.get(c.name)
            if value is None:
                if c.required:
                    return self.explain  # always fails: explain it
                continue
            if c.repeated or c.type not in _FITS:
                other.append((c.name, self.full[c.name]))
            elif type(value) not in _FITS[c.type]:
                return self.explain
            elif type(value) is int:
                ints.append(c.name)
            elif c.type == "FLOAT64":
                floats.append(c.name)
            elif c.type in ("TIMESTAMP", "DATETIME"):
                texts.append(c.name)
        return self._fast(ints, floats, texts, other)

    def _fast(
        self, ints: list[str], floats: list[str], texts: list[str], other: list[tuple[str, Check]]
    ) -> Plan:
        get_ints = _getter(ints) if ints else None
        get_floats = _getter(floats) if floats else None
        get_texts = _getter(texts) if texts else None
        known = self.texts
        explain = self.explain

        def plan(row: Mapping[str, Any]) -> str | None:
            if get_ints is not None:
                values = get_ints(row)
                if min(values) < INT64_MIN or max(values) > INT64_MAX:
                    return explain(row)
            if (
                get_floats is not None
                and not isfinite(sum(get_floats(row)))
                and not all(map(isfinite, get_floats(row)))
            ):
                return explain(row)
            if get_texts is not None:
                values = get_texts(row)
                if not known.issuperset(values):
                    if explain(row) is not None:
                        return explain(row)
                    if len(known) > _KNOWN_TEXTS_MAX:
                        known.clear()
                    known.update(values)
            for name, check in other:
                reason = check(row[name])
                if reason is not None:
                    return f"{name}: {reason}"
            return None

        return plan
