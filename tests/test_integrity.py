"""Tamper evidence (issue 11.2): the ledger, `pingji verify`, and writes refused to a changed store."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import pingji.store.records
from pingji.cli.main import cli
from pingji.store.database import Store

EXAMPLES = Path(__file__).resolve().parent.parent / "facts" / "examples"
T0 = "2026-06-30T09:00:00.000Z"


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three customers rated, one of them in a batch of two, and an approved expert override."""
    folder = tmp_path_factory.mktemp("integrity")
    db = folder / "t.db"
    mp = pytest.MonkeyPatch()
    mp.setattr(pingji.store.records, "now", lambda: T0)
    try:
        assert run("rate", str(EXAMPLES / "machinery-a.yaml"), "--db", str(db)).exit_code == 0
        book = folder / "book"
        book.mkdir()
        for name in ("hotel-b", "software-a"):
            shutil.copy(EXAMPLES / f"{name}.yaml", book)
        (book / "broken.yaml").write_text("customer_type: corporate\n", encoding="utf-8")
        r = run("batch", str(book), "--db", str(db), "--workers", "1")
        assert r.exit_code == 1, r.output  # broken.yaml fails: a batch_failures row
        r = run("override", "E000001", "--grade", "M4", "--reviewer", "wang", "--reason", "sector outlook worsened",
                "--approved-by", "li", "--db", str(db))
        assert r.exit_code == 0, r.output
    finally:
        mp.undo()
    return db


@pytest.fixture
def db(made: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "copy.db"
    shutil.copy(made, copy)
    return copy


def sql(db: Path, *statements: str) -> None:
    conn = sqlite3.connect(db)
    for s in statements:
        conn.execute(s)
    conn.commit()
    conn.close()


def test_a_store_pingji_wrote_verifies(db: Path) -> None:
    r = run("verify", "--db", str(db))
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert lines[0] == (f"{db}: 3 evaluations, 1 expert override, 1 batch, 3 rulebook versions; "
                        f"ledger of 11 entries")
    assert lines[1].startswith("intact: head entry 11, chain sha256 ") and len(lines) == 2
    tables = dict(sqlite3.connect(db).execute("SELECT tbl, count(*) FROM ledger GROUP BY tbl").fetchall())
    assert tables == {"rulebook_versions": 3, "batches": 1, "batch_events": 2, "evaluations": 3,
                      "batch_failures": 1, "overrides": 1}


FORGED = ("INSERT INTO overrides (evaluation_id, old_grade, new_grade, notches, allowance, reviewer, reason, "
          "approved_by, at) VALUES (2, 'B', 'A', 1, 1, 'mallory', 'because', NULL, '2020-01-01T00:00:00.000Z')")


@pytest.mark.parametrize(("statements", "first", "also"), [
    pytest.param([FORGED], "override #2: not written by pingji: it has no ledger entry", [], id="forged-override"),
    pytest.param(["DROP TRIGGER evaluations_no_update", "UPDATE evaluations SET final_grade = 'M1' WHERE id = 1"],
                 "trigger evaluations_no_update: missing: the append-only guard was removed outside pingji", [],
                 id="edited-grade"),
    pytest.param(["DROP TRIGGER evaluations_no_update", "DROP TRIGGER trace_no_delete", "DROP TRIGGER trace_no_update"],
                 "trigger evaluations_no_update: missing: the append-only guard was removed outside pingji", [],
                 id="dropped-triggers"),
])
def test_verify_names_the_first_thing_changed_outside_pingji(db: Path, statements: list[str], first: str,
                                                              also: list[str]) -> None:
    sql(db, *statements)
    r = run("verify", "--db", str(db))
    assert r.exit_code == 1
    assert r.stdout.splitlines()[1] == f"  {first}"
    assert r.stderr.startswith("error[E833]: the store was changed outside pingji: ")
    assert r.stderr.endswith(f"(the first: {first})\n")


def _recreate_triggers(db: Path) -> None:
    """What a careful forger does after editing: put the append-only triggers back."""
    conn = sqlite3.connect(db)
    have = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    for name in ("evaluations_no_update", "evaluations_no_delete", "overrides_no_delete", "trace_no_update"):
        if name not in have:
            table, op = name.rsplit("_no_", 1)
            conn.execute(f"CREATE TRIGGER {name} BEFORE {op.upper()} ON {table} BEGIN SELECT RAISE(ABORT, 'x'); END")
    conn.commit()
    conn.close()


@pytest.mark.parametrize(("statements", "problems"), [
    pytest.param(["DROP TRIGGER evaluations_no_update", "UPDATE evaluations SET final_grade = 'M1' WHERE id = 1"],
                 ["evaluation E000001: changed after it was written (its grades, scores, result, factor scores or "
                  "trace differ from what was hashed)",
                  "override #1: records -2 notches against an allowance of 1; its rulebook version says -3 notches "
                  "against 1"], id="edited-grade-triggers-back"),
    pytest.param(["DROP TRIGGER evaluations_no_update",
                  "UPDATE evaluations SET facts = replace(facts, '\"C-C-0001\"', '\"C-C-9999\"') WHERE id = 1"],
                 ["evaluation E000001: changed after it was written (its facts no longer hash to its facts_hash)"],
                 id="changed-facts"),
    pytest.param(["DROP TRIGGER overrides_no_delete", "DELETE FROM overrides WHERE id = 1"],
                 ["override #1: deleted (ledger entry 11 records it)"], id="deleted-override"),
    pytest.param(["DROP TRIGGER trace_no_update", "UPDATE trace SET note = 'edited' WHERE evaluation_id = 2 AND seq = 1"],
                 ["evaluation E000002: changed after it was written (its grades, scores, result, factor scores or "
                  "trace differ from what was hashed)"], id="edited-trace"),
])
def test_verify_finds_edits_even_with_the_triggers_put_back(db: Path, statements: list[str],
                                                            problems: list[str]) -> None:
    sql(db, *statements)
    _recreate_triggers(db)
    r = run("verify", "--db", str(db))
    assert r.exit_code == 1
    assert r.stdout.splitlines()[1:] == [f"  {p}" for p in problems]


def test_verify_flags_an_override_that_bypassed_its_approval(db: Path) -> None:
    sql(db, "INSERT INTO overrides (evaluation_id, old_grade, new_grade, notches, allowance, reviewer, reason, "
            "approved_by, at) VALUES (1, 'M4', 'M8', -6, 1, 'mallory', 'because', NULL, '2020-01-01T00:00:00.000Z')")
    r = run("verify", "--db", str(db))
    assert r.stdout.splitlines()[1:] == [
        "  override #2: not written by pingji: it has no ledger entry",
        "  override #2: M2 -> M8 is 6 notches, beyond the rulebook's 1, with no second person's approval: it "
        "bypassed the approval its rulebook requires",
    ]


@pytest.mark.parametrize("statements", [
    pytest.param([FORGED], id="a-row-too-many"),
    pytest.param(["DROP TRIGGER overrides_no_update"], id="a-trigger-gone"),
    pytest.param(["UPDATE store_head SET seq = 3"], id="head-moved"),
])
def test_pingji_refuses_to_write_to_a_changed_store_and_writes_nothing(db: Path, statements: list[str]) -> None:
    sql(db, *statements)

    r = run("rate", str(EXAMPLES / "hotel-b.yaml"), "--db", str(db))
    assert r.exit_code == 1
    assert r.stderr.startswith(f"{db}: error[E832]: the store was changed outside pingji (")
    assert r.stderr.endswith(f"); nothing was written. Run pingji verify --db {db} to see what changed, or start "
                             f"a new store\n")
    assert run("override", "E000002", "--grade", "A", "--reviewer", "wang", "--reason", "a good reason here",
               "--db", str(db)).exit_code == 1
    sqlite3.connect(db).execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
    assert sqlite3.connect(db).execute("SELECT count(*) FROM evaluations").fetchone()[0] == 3


def test_verify_json(db: Path) -> None:
    d = json.loads(run("verify", "--db", str(db), "--json").stdout)
    assert (d["intact"], d["problems"], d["head"]["seq"], d["counts"]["ledger"]) == (True, [], 11, 11)


def test_a_store_made_before_the_ledger_is_chained_when_opened_for_writing(made: Path, tmp_path: Path) -> None:
    """v2 -> v3: the same store without its ledger gets one, and every evaluation reads back exactly as
    before (tests/test_issue12_ratedate.py migrates a schema-1 store made by the release before)."""
    old = tmp_path / "v1.db"
    shutil.copy(made, old)
    sql(old, "DROP VIEW ratings", "DROP VIEW latest_ratings", "DROP VIEW expert_overrides", "DROP TABLE ledger",
        "DROP TABLE store_head", "DELETE FROM schema_version WHERE version >= 3")
    with Store.open(old, create=False, readonly=False) as s:
        assert s.schema_version() == 4
        records = [s.record(i) for i in (1, 2, 3)]
    with Store.open(made, create=False, readonly=True) as s:
        assert records == [s.record(i) for i in (1, 2, 3)]
    r = run("verify", "--db", str(old))
    assert r.exit_code == 0 and r.stdout.splitlines()[1].startswith("intact: head entry 11, ")


def test_replay_rates_every_evaluation_again_and_finds_them_identical(db: Path) -> None:
    r = run("verify", "--db", str(db), "--replay")
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines()[1].endswith("; 3 evaluations replayed, all identical")
    assert r.stderr == "replaying 3 evaluations\n"


def test_replay_finds_points_edited_in_place(db: Path) -> None:
    sql(db, "DROP TRIGGER factor_scores_no_update",
        "UPDATE factor_scores SET points = 100.0 WHERE evaluation_id = 2 AND factor = 'net_margin'",
        "CREATE TRIGGER factor_scores_no_update BEFORE UPDATE ON factor_scores BEGIN SELECT RAISE(ABORT, 'x'); END")
    r = run("verify", "--db", str(db), "--replay")
    assert r.exit_code == 1
    assert r.stdout.splitlines()[1:] == [
        "  evaluation E000002: changed after it was written (its grades, scores, result, factor scores or trace "
        "differ from what was hashed)",
        "  evaluation E000002: rated again from its stored facts and rulebook, it differs in: factor scores",
    ]


@pytest.mark.slow
def test_replay_of_a_batch_of_2000_in_two_processes(tmp_path: Path) -> None:
    from pingji.batch.synthetic import main as synthetic

    portfolio = tmp_path / "p.jsonl"
    assert synthetic(["corporate", "-n", "2000", "--seed", "11", "-o", str(portfolio)]) in (0, None)
    db = tmp_path / "b.db"
    r = run("batch", str(portfolio), "--db", str(db), "--workers", "2")
    assert r.exit_code == 0, r.output
    r = run("verify", "--db", str(db), "--replay", "--workers", "2")
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines()[1].endswith("; 2000 evaluations replayed, all identical")
