"""Issue 12.2: an evaluation's rating date (`rated_on`) is not the time it was stored.

Re-rating a historical book (facts `as_of` 2024-12-31) today and back-testing it against defaults
observed in 2025 used to drop every default as "before the rating" (the rating was dated by the
wall clock) and judge every grade green, exit 0; `validate --as-of 2025-12-31` found no ratings.
Now the store keeps the rating date (the facts' `as_of`, or `--rated-on` of rate and batch), which
validate, history, `--as-of` and the portfolio read; a back-test that drops more than the
validation rulebook's `max_dropped_share` of its outcomes or defaults says so (W730), and one with
nothing left fails (E730).

The migration test opens `tests/data/store-v1.db`, a store made by the code of the release before
this change (schema 1, commit e5c7f4f): `mini.yaml` (tests/data/books) rated OLD-1 (facts `as_of`
2024-12-31, stored 2026-05-01T23:30:00.000Z) and OLD-2 (no `as_of`, stored 2026-05-02T01:00:00.000Z)
with `Store.add(prepare(...))` and `records.now` pinned, the WAL checkpointed into the file.
"""

from __future__ import annotations

import csv
import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import pingji
import pingji.store.records
from pingji.analysis.outcomes import Outcome
from pingji.analysis.validation import dropped_warning, validate
from pingji.batch.synthetic import main as synthetic
from pingji.cli.main import cli
from pingji.errors import BacktestError, StoreError
from pingji.store.database import Store
from pingji.store.records import prepare
from pingji.store.schema import SCHEMA_VERSION

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
BOOK = pingji.load_decision(ROOT / "rulebooks" / "validation.yaml", kind="policy")
MAX_DROPPED_AT = "rulebooks/validation.yaml:" + str(next(p.loc.line for p in BOOK.parameters
                                                         if p.id == "max_dropped_share"))

pytestmark = pytest.mark.usefixtures("fresh_engine_caches")


def cmd(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


# -- the regression: a historical book re-rated today --------------------------------------------------
@pytest.fixture(scope="module")
def historical(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """200 synthetic companies with facts as of 2024-12-31, rated now (the wall clock, not pinned),
    and their outcomes: the synthetic defaults plus every tenth customer, all dated in 2025."""
    tmp = tmp_path_factory.mktemp("historical")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(ROOT)
        assert synthetic(["corporate", "-n", "200", "--seed", "3", "-o", str(tmp / "p.jsonl"),
                          "--outcomes", str(tmp / "drawn.csv")]) == 0
        records = [json.loads(line) for line in (tmp / "p.jsonl").read_text("utf-8").splitlines()]
        for r in records:
            r["as_of"] = "2024-12-31"
        (tmp / "book-2024.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), "utf-8")
        r = cmd("batch", str(tmp / "book-2024.jsonl"), "--db", str(tmp / "h.db"))
        assert r.exit_code == 0, r.output
    with open(tmp / "drawn.csv", encoding="utf-8") as fh:
        drawn = {row["customer_id"]: row["defaulted"] == "true" for row in csv.DictReader(fh)}
    rows = [["customer_id", "defaulted", "default_date"]]
    for i, (cid, bad) in enumerate(drawn.items()):
        bad = bad or i % 10 == 0
        rows.append([cid, "true" if bad else "false", f"2025-{i % 12 + 1:02d}-15" if bad else ""])
    with open(tmp / "outcomes.csv", "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    return {"db": str(tmp / "h.db"), "outcomes": str(tmp / "outcomes.csv"),
            "defaults": sum(r[1] == "true" for r in rows[1:])}


def _totals(d: dict[str, Any]) -> dict[str, int]:
    keys = ("rated", "sample", "defaults", "defaulted_before_rating", "in_default", "no_outcome")
    return {k: sum(b["counts"][k] for b in d["backtests"]) for k in keys}


def test_issue12_2_historical_book_defaults_count(historical: dict[str, Any]) -> None:
    """Validated at the end of 2025, every default of 2025 counts: none is before the rating."""
    r = cmd("validate", historical["outcomes"], "--db", historical["db"], "--as-of", "2025-12-31", "--json")
    assert r.exit_code == 0, r.output
    assert r.stderr == ""
    d = json.loads(r.stdout)
    t = _totals(d)
    assert historical["defaults"] == 23
    assert t["rated"] == 200 and t["defaulted_before_rating"] == 0 and t["no_outcome"] == 0
    # every default is in the sample but one, whose customer was rated in a default grade (out of scope)
    assert (t["defaults"], t["in_default"]) == (22, 2)
    assert d["dropped"] == {"outcomes": 200 - t["in_default"], "dropped": 0, "defaults": t["defaults"],
                            "defaults_dropped": 0, "defaulted_before_rating": 0, "not_rated": 0,
                            "in_default": t["in_default"], "max_share": 0.05, "max_share_at": MAX_DROPPED_AT,
                            "too_many": False}


def test_issue12_2_historical_book_validated_today_keeps_its_defaults(historical: dict[str, Any]) -> None:
    """With the default --as-of (today), the ratings are still dated 2024-12-31: the 2025 defaults
    are after them (the old code dropped every one as before the rating and judged the grades green)."""
    r = cmd("validate", historical["outcomes"], "--db", historical["db"], "--json", "--horizon-months", "24")
    assert r.exit_code == 0, r.output
    t = _totals(json.loads(r.stdout))
    assert t["defaulted_before_rating"] == 0 and t["defaults"] > 20


def test_issue12_2_history_shows_the_rating_date(historical: dict[str, Any]) -> None:
    with Store.open(historical["db"], readonly=True) as store:
        cid = store.ratings_as_of()[0]["customer_id"]
        stored = store.history(cid)[0]["evaluated_at"]
    r = cmd("history", cid, "--db", historical["db"])
    assert r.exit_code == 0, r.output
    head, row = r.output.splitlines()[2:4]
    assert head.split()[:6] == ["evaluation", "rated", "on", "evaluated", "at", "(UTC)"]
    assert row.split()[:3] == ["E000001", "2024-12-31", stored]
    d = json.loads(cmd("history", cid, "--db", historical["db"], "--json").output)
    assert [e["rated_on"] for e in d["evaluations"]] == ["2024-12-31"]


# -- --rated-on ---------------------------------------------------------------------------------------------
def test_issue12_2_rate_rated_on_is_stored_and_shown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(pingji.store.records, "now", lambda: "2026-05-01T23:30:00.000Z")
    db = str(tmp_path / "r.db")
    r = cmd("rate", "facts/examples/machinery-a.yaml", "--db", db, "--json")
    d = json.loads(r.output)
    assert (d["rated_on"], d["evaluated_at"]) == ("2026-04-15", "2026-05-01T23:30:00.000Z")  # the facts' as_of
    # a re-rating of the customer's 2024 statements, stored later (the facts may not postdate --rated-on: E540)
    old = tmp_path / "machinery-2024.yaml"
    text = (ROOT / "facts/examples/machinery-a.yaml").read_text(encoding="utf-8")
    old.write_text(text.replace('as_of: "2026-04-15"', 'as_of: "2024-12-20"').replace(
        "as_of: '2026-04-15'", "as_of: '2024-12-20'"), encoding="utf-8")
    r = cmd("rate", str(old), "--db", db, "--json", "--rated-on", "2024-12-31")
    assert json.loads(r.output)["rated_on"] == "2024-12-31"
    with Store.open(db) as store:
        assert [e["rated_on"] for e in store.history("C-C-0001")] == ["2026-04-15", "2024-12-31"]
        # the latest rating is the one of the latest rating date, not the last stored
        assert store.ratings_as_of()[0]["evaluation_id"] == "E000001"
        assert store.ratings_as_of("2025-12-31")[0]["evaluation_id"] == "E000002"
        assert store.latest_ratings()[0]["rated_on"] == "2026-04-15"


def test_issue12_2_facts_without_as_of_are_rated_today(monkeypatch: pytest.MonkeyPatch) -> None:
    mini = pingji.load_rulebook(DATA / "books" / "mini.yaml")
    facts = {"id": "c1", "fin": {"current_assets": 2, "current_liabilities": 1}}
    monkeypatch.setattr(pingji.store.records, "today", lambda: "2026-07-01")
    assert prepare(pingji.evaluate(mini, facts), facts).rated_on == "2026-07-01"
    facts["as_of"] = "2025-03-31"
    assert prepare(pingji.evaluate(mini, facts), facts).rated_on == "2025-03-31"


@pytest.mark.parametrize("command", ["rate", "batch"])
@pytest.mark.parametrize("bad", ["2024-13-01", "20241231", "2024-W01-1", "31/12/2024", "yesterday"])
def test_issue12_2_bad_rated_on_is_a_usage_error(tmp_path: Path, command: str, bad: str) -> None:
    r = cmd(command, str(ROOT / "facts/examples/machinery-a.yaml"), "--db", str(tmp_path / "x.db"),
            "--rated-on", bad)
    assert r.exit_code == 2
    assert r.output.splitlines()[-1] == f"Error: Invalid value for '--rated-on': '{bad}' is not a date YYYY-MM-DD"
    assert not (tmp_path / "x.db").exists()


def test_issue12_2_batch_rated_on_dates_every_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    assert synthetic(["corporate", "-n", "5", "--seed", "1", "-o", str(tmp_path / "p.jsonl")]) == 0
    db = str(tmp_path / "b.db")
    r = cmd("batch", str(tmp_path / "p.jsonl"), "--db", db, "--rated-on", "2024-12-31", "--json", "-w", "1")
    assert r.exit_code == 0, r.output
    first = json.loads(r.stdout)
    assert first["rated_on"] == "2024-12-31"
    r = cmd("batch", str(tmp_path / "p.jsonl"), "--db", db, "-w", "1")
    assert r.exit_code == 0, r.output
    assert not r.output.startswith(f"batch {first['batch_id']}")  # another date, another batch
    with Store.open(db) as store:
        dates = [r["rated_on"] for r in store.ratings_as_of("2025-12-31")]
        assert dates == ["2024-12-31"] * 5
        assert all(r["rated_on"].startswith("2026-") for r in store.ratings_as_of())


# -- loud when outcomes are dropped ------------------------------------------------------------------------
SCALE = [{"grade": "A", "pd": 0.01}, {"grade": "B", "pd": 0.1}, {"grade": "D", "pd": 1.0, "default": True}]


def _rating(n: int, rated_on: str, grade: str = "A") -> dict[str, Any]:
    return {"customer_id": f"c{n}", "evaluation_id": f"E{n:06d}", "evaluated_at": "2026-12-03T09:00:00.000Z",
            "rated_on": rated_on, "rulebook_id": "hand", "rulebook_hash": "h1", "total": 50.0 + n,
            "model_grade": grade, "final_grade": grade, "effective_grade": grade, "expert_override": False}


def test_issue12_2_dropping_every_default_is_loud() -> None:
    """Rated on 2025-12-31, defaults of 2025 are before the rating: 3 of 3 dropped (W730), though
    only 3 of 100 outcome rows, under the 5% share: the defaults' share alone decides here."""
    ratings = [_rating(i, "2025-12-31") for i in range(1, 101)]
    outcomes = [Outcome(f"c{i}", i <= 3, "2025-06-30" if i <= 3 else None, i + 1) for i in range(1, 101)]
    v = validate(ratings, {"h1": SCALE}, outcomes, book=BOOK, as_of="2025-12-31")
    assert v.backtests[0].counts["defaulted_before_rating"] == 3
    assert dropped_warning(v) == (
        "warning[W730]: 3 of 100 outcomes and 3 of 3 defaults dropped from the back-test, more than 5% "
        f"(max_dropped_share, {MAX_DROPPED_AT}): 3 defaulted on or before the rating date, 0 not rated by "
        "2025-12-31; check the rating dates (pingji history, --rated-on) and --as-of")
    # rated the day before the defaults: nothing dropped, nothing to say
    early = [_rating(i, "2024-12-31") for i in range(1, 101)]
    v = validate(early, {"h1": SCALE}, outcomes, book=BOOK, as_of="2025-12-31")
    assert dropped_warning(v) is None and v.backtests[0].counts["defaults"] == 3
    # 5 of 100 outcomes of customers not rated is the 5% allowed: no warning; 6 is more
    for unrated, loud in ((5, False), (6, True)):
        v = validate(early[unrated:], {"h1": SCALE}, [o for o in outcomes if o.customer_id not in ("c1", "c2", "c3")]
                     + [Outcome("c1", False, None, 2), Outcome("c2", False, None, 3), Outcome("c3", False, None, 4)],
                     book=BOOK, as_of="2025-12-31")
        assert (dropped_warning(v) is not None) is loud, unrated


def test_issue12_2_nothing_left_is_an_error() -> None:
    ratings = [_rating(1, "2025-12-31"), _rating(2, "2025-12-31"), _rating(3, "2025-12-31", "D")]
    outcomes = [Outcome("c1", True, "2025-03-01", 2), Outcome("c2", True, "2025-12-31", 3),
                Outcome("c3", True, None, 4), Outcome("c9", True, None, 5)]
    with pytest.raises(BacktestError) as e:
        validate(ratings, {"h1": SCALE}, outcomes, book=BOOK, as_of="2025-12-31", outcomes_file="o.csv")
    assert e.value.code == "E730"
    assert str(e.value) == (
        "o.csv: error[E730]: nothing left to back-test: of 4 outcome(s), 2 defaulted on or before the rating "
        "date, 1 not rated by 2025-12-31, 1 already in a default grade; the rating date of each evaluation is "
        "its facts' as_of (or --rated-on of rate and batch): see pingji history")


def test_issue12_2_cli_warns_on_stderr_and_fails_when_nothing_is_left(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    db = str(tmp_path / "v.db")
    assert cmd("rate", "facts/examples/machinery-a.yaml", "--db", db).exit_code == 0  # rated on 2026-04-15
    assert cmd("rate", "facts/examples/contractor-a.yaml", "--db", db).exit_code == 0  # rated on 2026-04-14
    out = tmp_path / "o.csv"
    out.write_text("customer_id,defaulted,default_date\nC-C-0001,true,2026-04-15\nC-E-0001,false,\n", "utf-8")
    r = cmd("validate", str(out), "--db", db, "--as-of", "2026-04-30")
    assert r.exit_code == 0, r.output
    assert r.stderr == (
        "warning[W730]: 1 of 2 outcomes and 1 of 1 defaults dropped from the back-test, more than 5% "
        f"(max_dropped_share, {MAX_DROPPED_AT}): 1 defaulted on or before the rating date, 0 not rated by "
        "2026-04-30; check the rating dates (pingji history, --rated-on) and --as-of\n")
    out.write_text("customer_id,defaulted,default_date\nC-C-0001,true,2026-04-15\n", "utf-8")
    r = cmd("validate", str(out), "--db", db, "--as-of", "2026-04-30")
    assert (r.exit_code, r.stdout) == (1, "")
    assert r.stderr == (
        f"{out}: error[E730]: nothing left to back-test: of 1 outcome(s), 1 defaulted on or before the rating "
        "date, 0 not rated by 2026-04-30, 0 already in a default grade; the rating date of each evaluation is "
        "its facts' as_of (or --rated-on of rate and batch): see pingji history\n")


# -- the migration of a store made before rated_on ------------------------------------------------------------
def test_issue12_2_a_schema_1_store_migrates_with_rating_dates(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    shutil.copy(DATA / "store-v1.db", db)
    with sqlite3.connect(db) as c:
        assert c.execute("SELECT max(version) FROM schema_version").fetchone() == (1,)
        assert "rated_on" not in [r[1] for r in c.execute("PRAGMA table_info(evaluations)")]
    with pytest.raises(StoreError, match=r"older pingji \(store schema 1; this pingji knows 4\): a command that "
                                         r"writes \(pingji rate, batch or override\) migrates it"):
        Store.open(db, readonly=True)
    with Store.open(db) as store:
        assert store.schema_version() == SCHEMA_VERSION == 4
        # the facts' as_of; else the day it was stored (its UTC date)
        assert [(e["customer_id"], e["rated_on"], e["evaluated_at"]) for e in store.ratings_as_of()] == [
            ("OLD-1", "2024-12-31", "2026-05-01T23:30:00.000Z"), ("OLD-2", "2026-05-02", "2026-05-02T01:00:00.000Z")]
        assert [e["customer_id"] for e in store.ratings_as_of("2025-12-31")] == ["OLD-1"]
        assert store.record("E000001")["rated_on"] == "2024-12-31"
        with pytest.raises(sqlite3.IntegrityError, match="append-only: UPDATE on evaluations refused"):
            store.conn.execute("UPDATE evaluations SET rated_on = '2000-01-01'")
        with pytest.raises(sqlite3.IntegrityError, match="append-only: DELETE on evaluations refused"):
            store.conn.execute("DELETE FROM evaluations")
        with Store.open(db) as again:  # migrated once
            assert again.conn.execute("SELECT count(*) FROM schema_version").fetchone() == (4,)
    with Store.open(db, readonly=True) as store:
        assert store.history("OLD-2")[0]["rated_on"] == "2026-05-02"
        # the ledger (schema 3) chains the rows as the rating-date migration left them
        from pingji.store.integrity import verify_store

        report = verify_store(store)
        assert (report.problems, report.head["seq"]) == ([], 3)  # 1 rulebook version, 2 evaluations


# -- the README tour's outcomes ------------------------------------------------------------------------------
def test_issue12_2_the_tours_outcomes_are_the_generators(tmp_path: Path) -> None:
    """facts/outcomes/defaults-2026.csv is what `--outcomes` writes for the tour's portfolio, and every
    default is dated after its customer's rating date (the facts' as_of) and within a year of it."""
    assert synthetic(["corporate", "-n", "5000", "--seed", "7", "-o", str(tmp_path / "p.jsonl"),
                      "--outcomes", str(tmp_path / "d.csv")]) == 0
    shipped = ROOT / "facts" / "outcomes" / "defaults-2026.csv"
    assert shipped.read_bytes() == (tmp_path / "d.csv").read_bytes()
    as_of = {r["id"]: r["as_of"] for r in map(json.loads, (tmp_path / "p.jsonl").read_text("utf-8").splitlines())}
    with open(shipped, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    dated = [(as_of[r["customer_id"]], r["default_date"]) for r in rows if r["defaulted"] == "true"]
    assert len(rows) == 5000 and len(dated) == 115
    assert all(rated < when <= f"{int(rated[:4]) + 1}{rated[4:]}" for rated, when in dated)
    assert max(rated for rated in as_of.values()) <= "2026-06-30"  # the tour's --as-of takes every rating


# -- the rating date meets the consistency checks (issues 12.2 and 12.21) ----------------------------------------
def test_issue12_2_rated_on_is_the_date_the_checks_compare_the_facts_with(tmp_path: Path) -> None:
    text = (ROOT / "facts" / "examples" / "machinery-a.yaml").read_text(encoding="utf-8")
    facts = tmp_path / "m.yaml"
    facts.write_text(text.replace("as_of: '2026-04-15'", "as_of: '2025-01-10'").replace(
        'as_of: "2026-04-15"', 'as_of: "2025-01-10"'), encoding="utf-8")
    assert "2025-01-10" in facts.read_text(encoding="utf-8")
    runner = CliRunner()
    ok = runner.invoke(cli, ["rate", str(facts), "--no-store", "--rated-on", "2025-01-10"])
    assert ok.exit_code == 0, ok.output
    early = runner.invoke(cli, ["rate", str(facts), "--no-store", "--rated-on", "2025-01-05"])
    assert early.exit_code == 1
    assert early.stderr.startswith(f"{facts}:")
    assert "error[E540]: as_of is after the rating date: as_of = 2025-01-10" in early.stderr
    assert "rating date 2025-01-05 (check as_of_not_after_rating_date" in early.stderr


def test_issue12_2_a_rating_cannot_be_dated_in_the_future() -> None:
    r = CliRunner().invoke(cli, ["rate", str(ROOT / "facts" / "examples" / "machinery-a.yaml"), "--no-store",
                                 "--rated-on", "2999-01-01"])
    assert r.exit_code == 2
    assert r.stderr.endswith("Error: Invalid value for '--rated-on': 2999-01-01 is after today: a rating cannot be "
                             "dated in the future\n")
