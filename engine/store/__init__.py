"""The append-only SQLite store: evaluations, expert overrides, rulebook versions and batches.

    from pingji.store import Store, prepare
    with Store.open("pingji.db") as store:
        eid = store.add(prepare(evaluation, facts))
"""

from pingji.store.database import DEFAULT_DB, ENV_VAR, Outcome, Store, default_path
from pingji.store.records import Prepared, prepare

__all__ = ["DEFAULT_DB", "ENV_VAR", "Outcome", "Prepared", "Store", "default_path", "prepare"]
