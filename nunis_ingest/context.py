"""What a sync touches, injected: ports, HTTP session, settings, clocks (runtime.py builds it)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import requests

from nunis_ingest.ports import ObjectStore, Presence, Warehouse
from nunis_ingest.settings import Settings

if TYPE_CHECKING:
    from nunis_ingest.usecases.budget_ledger import BudgetLedger


@dataclass
class SyncContext:
    """Everything a sync touches, injected (runtime.py builds the real one).

    The warehouse is built on first use: an idle poll never touches it, so it never pays
    for importing a warehouse client or checking the schema.
    """

    store: ObjectStore
    warehouse_factory: Callable[[], Warehouse]
    session: requests.Session
    settings: Settings
    now: Callable[[], float] = time.time
    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    on_page: Callable[[int, int], None] | None = None  # (pages so far, activities so far)
    on_enrich: Callable[[int, int], None] | None = None  # (entries done, queue length)
    budget: BudgetLedger | None = None  # the app's shared read ledger; None: not consulted
    presence: Callable[[], Presence] | None = None
    """The warehouse's free signal (``ports.Presence``) without building its client;
    ``None``: unknown (verification then only by its interval)."""
    _warehouse: Warehouse | None = field(default=None, init=False, repr=False)

    @property
    def warehouse(self) -> Warehouse:
        if self._warehouse is None:
            self._warehouse = self.warehouse_factory()
        return self._warehouse

    @warehouse.setter
    def warehouse(self, value: Warehouse) -> None:
        self._warehouse = value
