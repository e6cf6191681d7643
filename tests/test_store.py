"""The evaluation store: round trip, append-only, schema versions, bad files, two writers at once."""

from __future__ import annotations

import itertools
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

import pingji
from pingji.errors import RecordNotFound, ReviewError, StoreError
from pingji.rating.review import decide
from pingji.store.database import Store
from pingji.store.ids import format_id, parse_id
from pingji.store.records import prepare
from pingji.store.schema import APPLICATION_ID, SCHEMA_VERSION

BOOKS = Path(__file__).parent / "data" / "books"

# Rulebooks loaded here from scratch folders must not leak into other modules' compiled caches.
pytestmark = pytest.mark.usefixtures("fresh_engine_caches")
ROOT = Path(__file__).resolve().parent.parent
FACTS = {
    "id": "c1",
    "fin": {
        "current_assets": 2000,
        "current_liabilities": 1000,
        "total_assets": 1000,
        "total_liabilities": 300,
        "revenue": 1000,
        "net_income": 150,
    },
    "credit": {"days_past_due": 0},
    "assessments": [{"factor": "management", "level": 4, "assessor": "Li"}],
}


@pytest.fixture(scope="module")
def mini() -> pingji.rating.model.Rulebook:  # type: ignore[name-defined]
    return pingji.load_rulebook(BOOKS / "mini.yaml")


@pytest.fixture
def store(tmp_path: Path):
    with Store.open(tmp_path / "s.db") as s:
        yield s


def test_a_stored_evaluation_reads_back_exactly(store, mini):
    ev = pingji.evaluate(mini, FACTS)
    eid = store.add(prepare(ev, FACTS, evaluated_at="2026-06-30T09:00:00.000Z", rated_on="2026-06-29"))
    assert eid == "E000001"
    record = store.record(eid)
    extras = {
        k: record.pop(k)
        for k in ("evaluation_id", "evaluated_at", "rated_on", "batch_id", "facts", "expert_overrides",
                  "effective_grade")
    }
    assert json.dumps(record, sort_keys=True) == json.dumps(ev.to_dict(), sort_keys=True)
    assert extras == {
        "evaluation_id": "E000001",
        "evaluated_at": "2026-06-30T09:00:00.000Z",
        "rated_on": "2026-06-29",
        "batch_id": None,
        "facts": FACTS,
        "expert_overrides": [],
        "effective_grade": ev.final_grade,
    }


def test_rows_for_queries(store, mini):
    ev = pingji.evaluate(mini, FACTS)
    store.add(prepare(ev, FACTS))
    db = store.conn
    assert db.execute("SELECT factor, points FROM factor_scores ORDER BY factor").fetchall() == [
        ("current_ratio", 100.0),
        ("debt_ratio", 100.0),
        ("management", 80.0),
        ("net_margin", 100.0),
    ]
    assert db.execute("SELECT count(*) FROM trace").fetchone() == (len(ev.trace),)
    row = db.execute(
        "SELECT customer_id, facts_hash, total, model_grade, final_grade, pd, engine_version, "
        "rulebook_id FROM evaluations"
    ).fetchone()
    assert row == ("c1", ev.facts_hash, ev.total, "A", "A", 0.005, pingji.__version__, "mini")


def test_rulebook_versions_keep_every_source_file_once(store):
    child = pingji.load_rulebook(BOOKS / "child.yaml")
    facts = {**FACTS, "exposure": 100, "collateral": []}
    for _ in range(2):
        store.add(prepare(pingji.evaluate(child, facts), facts))
    rows = store.conn.execute(
        "SELECT hash, id, sources, grades, allowed_notches FROM rulebook_versions"
    ).fetchall()
    assert len(rows) == 1
    h, rid, sources, grades, allowed = rows[0]
    assert (h, rid, allowed) == (child.content_hash, "child", 1)
    texts = json.loads(sources)
    assert [Path(p).name for p in texts] == ["child.yaml", "mini.yaml"]
    assert texts[str(child.sources[1])] == (BOOKS / "mini.yaml").read_text(encoding="utf-8")
    assert [g["grade"] for g in json.loads(grades)] == ["A", "B", "C"]


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE evaluations SET final_grade = 'C'",
        "DELETE FROM evaluations",
        "DELETE FROM trace",
        "UPDATE overrides SET new_grade = 'A'",
        "DELETE FROM rulebook_versions",
    ],
)
def test_the_store_is_append_only(store, mini, sql):
    eid = store.add(prepare(pingji.evaluate(mini, FACTS), FACTS))
    store.add_override(eid, "B", reviewer="Li", reason="thin order book")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store.conn.execute(sql)


def test_connection_settings(store):
    db = store.conn
    assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert db.execute("PRAGMA foreign_keys").fetchone() == (1,)
    assert db.execute("PRAGMA busy_timeout").fetchone() == (30000,)
    assert db.execute("PRAGMA application_id").fetchone() == (APPLICATION_ID,)
    assert db.execute("SELECT version FROM schema_version").fetchall() == [(v,) for v in range(1, SCHEMA_VERSION + 1)]
    assert store.schema_version() == SCHEMA_VERSION


def test_foreign_keys_hold(store):
    with pytest.raises(sqlite3.IntegrityError):
        store.conn.execute("INSERT INTO trace VALUES (99, 1, 'r', 'k', 'at', '{}', '{}', NULL)")


def test_reopening_does_not_migrate_again(tmp_path):
    Store.open(tmp_path / "s.db").close()
    with Store.open(tmp_path / "s.db") as s:
        assert s.conn.execute("SELECT count(*) FROM schema_version").fetchone() == (SCHEMA_VERSION,)


def test_a_store_from_a_newer_pingji_is_refused(tmp_path):
    Store.open(tmp_path / "s.db").close()
    with sqlite3.connect(tmp_path / "s.db") as db:
        db.execute("INSERT INTO schema_version VALUES (?, 'future', 'x')", (SCHEMA_VERSION + 1,))
    db.close()
    with pytest.raises(
        StoreError,
        match=rf"written by a newer pingji \(store schema {SCHEMA_VERSION + 1}; "
        rf"this pingji knows up to {SCHEMA_VERSION}\)",
    ):
        Store.open(tmp_path / "s.db")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(
            b"SQLite format 3\x00" + b"\xff" * 5000,
            "not a usable pingji store: the file is corrupt or not SQLite",
            id="corrupt-header",
        ),
        pytest.param(
            b"hello" * 1000, "not a usable pingji store: the file is corrupt or not SQLite", id="text"
        ),
    ],
)
def test_corrupt_files(tmp_path, content, message):
    (tmp_path / "x.db").write_bytes(content)
    with pytest.raises(StoreError, match=message) as err:
        Store.open(tmp_path / "x.db")
    assert str(err.value).startswith(f"{tmp_path / 'x.db'}: error[E800]: ")


def test_damaged_pages_are_a_store_error_not_a_crash(tmp_path, mini):
    path = tmp_path / "x.db"
    with Store.open(path) as s:
        for _ in range(20):
            s.add(prepare(pingji.evaluate(mini, FACTS), FACTS))
    data = bytearray(path.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    for i in range(2 * page, len(data)):  # everything but the header and the schema page
        data[i] = 0x5A
    path.write_bytes(bytes(data))
    with pytest.raises(StoreError, match="error\\[E800\\]"), Store.open(path) as s:
        s.record("E000005")


def test_foreign_database_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE t (a)")
    db.close()
    before = path.read_bytes()
    with pytest.raises(
        StoreError, match=r"not a pingji store: another program's SQLite database \(tables: t\)"
    ):
        Store.open(path)
    assert path.read_bytes() == before


def test_missing_store_is_not_created_for_reading(tmp_path):
    with pytest.raises(StoreError, match="no store here"):
        Store.open(tmp_path / "none.db", create=False)
    assert not (tmp_path / "none.db").exists()


def test_unknown_evaluation_and_customer(store):
    with pytest.raises(RecordNotFound, match="no evaluation E000003 in this store"):
        store.record("E3")
    with pytest.raises(RecordNotFound, match="'x' is not an evaluation id"):
        store.record("x")
    with pytest.raises(RecordNotFound, match="no evaluations of customer 'c1'"):
        store.history("c1")


@pytest.mark.parametrize(
    ("text", "n"),
    [
        ("E000012", 12),
        ("e12", 12),
        ("12", 12),
        (" E1 ", 1),
        ("E0", None),
        ("E-1", None),
        ("F1", None),
        ("E1.5", None),
        ("", None),
        ("E１", None),
    ],
)
def test_evaluation_ids(text, n):
    assert parse_id(text) == n
    if n is not None:
        assert parse_id(format_id(n)) == n


def test_ids_grow_past_six_digits():
    assert format_id(1) == "E000001" and format_id(1234567) == "E1234567"


# -- the expert-override policy ---------------------------------------------------------------------------
GRADES = ["M1", "M2", "M3", "M4", "D"]


def test_override_within_the_allowance_needs_no_approver():
    d = decide(GRADES, "M2", "M2", "M3", reviewer="Li", reason="thin order book", approved_by=None, allowance=1)
    assert (d.old_grade, d.new_grade, d.notches, d.approved_by) == ("M2", "M3", -1, None)


def test_notches_count_from_the_rulebook_grade_not_the_last_override():
    # M2 → M3 was allowed; M3 → M4 is one more step but two notches from the rulebook's M2.
    with pytest.raises(ReviewError, match="M2 -> M4 is 2 notches from the rulebook's grade"):
        decide(GRADES, "M2", "M3", "M4", reviewer="Li", reason="thin order book", approved_by=None, allowance=1)
    d = decide(GRADES, "M2", "M3", "M1", reviewer="Li", reason="thin order book", approved_by=None, allowance=1)
    assert d.notches == 1


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"approved_by": "LI "}, "the approver must be a second person, not the reviewer 'Li'"),
        ({"approved_by": " "}, "the approver must be named"),
        ({"reviewer": " "}, "the reviewer must be named"),
        ({"reason": ""}, "an override needs a reason"),
        pytest.param({"reason": "..."}, r"the reason must say why the grade changes, in words; got '\.\.\.'",
                     id="issue12-reason-dots"),
        pytest.param({"reason": "ok!"}, "the reason must say why the grade changes, in words; got 'ok!'",
                     id="issue12-reason-ok"),
    ],
)
def test_override_refusals(kw, message):
    args = {"reviewer": "Li", "reason": "thin order book", "approved_by": None, **kw}
    with pytest.raises(ReviewError, match=message):
        decide(GRADES, "M2", "M2", "D", allowance=1, **args)  # type: ignore[arg-type]


def test_issue12_a_reason_in_chinese_is_a_reason():
    d = decide(GRADES, "M2", "M2", "M3", reviewer="李", reason="订单减半", approved_by=None, allowance=1)
    assert d.new_grade == "M3"


def test_unknown_grade_suggests_one():
    with pytest.raises(ReviewError, match=r"unknown grade 'M5' \(did you mean 'M1'\?\)|unknown grade 'M5'"):
        decide(GRADES, "M2", "M2", "M5", reviewer="Li", reason="thin order book", approved_by=None, allowance=1)


def test_stored_overrides_chain_old_grades(store, mini):
    eid = store.add(prepare(pingji.evaluate(mini, FACTS), FACTS))
    store.add_override(eid, "B", reviewer="Li", reason="first review")
    row = store.add_override(eid, "C", reviewer="Li", reason="second review", approved_by="Wang")
    assert (row["old_grade"], row["new_grade"], row["notches"], row["id"]) == ("B", "C", -2, 2)
    assert store.record(eid)["effective_grade"] == "C"
    assert store.conn.execute("SELECT final_grade FROM evaluations").fetchone() == ("A",)


def test_latest_ratings_take_each_customers_last_evaluation_and_its_last_override(store, mini):
    weak = {**FACTS, "id": "c2", "credit": {"days_past_due": 120}}
    first = store.add(prepare(pingji.evaluate(mini, FACTS), FACTS, evaluated_at="2026-01-05T09:00:00.000Z"))
    store.add(prepare(pingji.evaluate(mini, weak), weak, evaluated_at="2026-02-01T09:00:00.000Z"))
    second = store.add(prepare(pingji.evaluate(mini, FACTS), FACTS, evaluated_at="2026-03-01T09:00:00.000Z"))
    store.add_override(first, "C", reviewer="Li", reason="superseded anyway", approved_by="Wang")
    store.add_override(second, "B", reviewer="Li", reason="one notch")
    rows = store.latest_ratings()
    assert [(r["customer_id"], r["evaluation_id"], r["evaluated_at"], r["final_grade"], r["effective_grade"],
             r["overridden"]) for r in rows] == [
        ("c1", "E000003", "2026-03-01T09:00:00.000Z", "A", "B", True),
        ("c2", "E000002", "2026-02-01T09:00:00.000Z", "C", "C", False),
    ]


# -- two processes writing at once --------------------------------------------------------------------------
WRITER = textwrap.dedent("""
    import sys
    sys.path.insert(0, {root!r})
    import pingji
    from pingji.store.records import prepare
    from pingji.store.database import Store
    rb = pingji.load_rulebook({book!r})
    import os, time
    tag, n, go = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    open(go + "-ready-" + tag, "w").close()  # imported and loaded: ready to write
    while not os.path.exists(go):  # start together
        time.sleep(0.005)
    with Store.open({db!r}) as s:
        for i in range(n):
            fin = {{"current_assets": 100 + i, "current_liabilities": 100}}
            facts = {{"id": f"{{tag}}-{{i}}", "fin": fin}}
            s.add(prepare(pingji.evaluate(rb, facts), facts))
            time.sleep(0.002)  # let the other writer in: on a loaded machine one could finish first
""")


@pytest.mark.slow
def test_two_processes_write_at_once_and_nothing_is_lost(tmp_path):
    db = tmp_path / "shared.db"
    script = tmp_path / "writer.py"
    script.write_text(
        WRITER.format(root=str(ROOT), book=str(BOOKS / "mini.yaml"), db=str(db)), encoding="utf-8"
    )
    n = 150
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    go = tmp_path / "go"
    procs = [
        subprocess.Popen([sys.executable, str(script), tag, str(n), str(go)], env=env, stderr=subprocess.PIPE)
        for tag in ("a", "b")
    ]
    # "go" only once both writers have imported pingji and loaded the rulebook: a writer slower to
    # start (a loaded machine) could otherwise finish before the other began
    deadline = time.monotonic() + 120
    while not all((tmp_path / f"go-ready-{tag}").exists() for tag in ("a", "b")):
        if any(p.poll() is not None for p in procs):
            break  # a writer died: its exit code and stderr are asserted below
        assert time.monotonic() < deadline, "the writers did not get ready within 120 s"
        time.sleep(0.01)
    go.touch()
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode()
    with Store.open(db) as s:
        customers = [r[0] for r in s.conn.execute("SELECT customer_id FROM evaluations ORDER BY id")]
        assert sorted(customers) == sorted([f"a-{i}" for i in range(n)] + [f"b-{i}" for i in range(n)])
        assert s.conn.execute("SELECT min(id), max(id) FROM evaluations").fetchone() == (1, 2 * n)
        per_eval = s.conn.execute("SELECT count(*) FROM trace GROUP BY evaluation_id").fetchall()
        assert len(per_eval) == 2 * n and len(set(per_eval)) == 1
        # each writer's rows are in its own order, and the two really wrote at the same time
        assert [c for c in customers if c.startswith("a-")] == [f"a-{i}" for i in range(n)]
        switches = sum(1 for x, y in itertools.pairwise(customers) if x[0] != y[0])
        assert switches >= 2, "the writers did not overlap: the test proved nothing"


def test_opening_a_new_store_waits_while_another_process_holds_its_lock(tmp_path):
    # Two `pingji batch` started at once on a new store: the second switched the file to WAL while
    # the first was creating the tables, and changing the journal mode does not wait on SQLite's
    # busy handler, so it failed at once with E800 "locked" (6-9 in 80 processes in a repro). Here
    # another connection holds the write lock of a new file for 0.3 s; opening must wait, not fail.
    db = tmp_path / "new.db"
    other = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.3, lambda: other.execute("COMMIT"))
    release.start()
    try:
        with Store.open(db) as s:
            assert s.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert s.schema_version() == SCHEMA_VERSION
    finally:
        release.join()
        other.close()
