"""The append-only SQLite store: evaluations, expert overrides, rulebook versions and batches.

    from pingji.store import Store, prepare
    with Store.open("pingji.db") as store:
        eid = store.add(prepare(evaluation, facts))

Names load on first use (PEP 562): `pingji.store.ids` is importable without SQLite or the engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pingji import lazy

if TYPE_CHECKING:
    from pingji.store.database import Outcome, Store
    from pingji.store.ids import DEFAULT_DB, ENV_VAR, default_path
    from pingji.store.records import Prepared, prepare

_LAZY = {
    "DEFAULT_DB": "pingji.store.ids",
    "ENV_VAR": "pingji.store.ids",
    "default_path": "pingji.store.ids",
    "Outcome": "pingji.store.database",
    "Store": "pingji.store.database",
    "Prepared": "pingji.store.records",
    "prepare": "pingji.store.records",
}


__getattr__, __dir__ = lazy.attributes("pingji.store", _LAZY, globals())

__all__ = ["DEFAULT_DB", "ENV_VAR", "Outcome", "Prepared", "Store", "default_path", "prepare"]
