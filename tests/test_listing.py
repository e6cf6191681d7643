"""`pingji list` and `pingji export` (issue 11.5): what a store holds, filtered, with the grade that stands."""

from __future__ import annotations

import csv
import io
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
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four customers rated, machinery rated twice, and an expert override of the hotel."""
    folder = tmp_path_factory.mktemp("listing")
    db = folder / "t.db"
    mp = pytest.MonkeyPatch()
    mp.setattr(pingji.store.records, "now", lambda: T0)
    try:
        for name in ("machinery-a", "software-a", "hotel-b", "coal-mine-c", "machinery-a"):
            assert run("rate", str(EXAMPLES / f"{name}.yaml"), "--db", str(db)).exit_code == 0
        r = run("override", "E000003", "--grade", "A", "--reviewer", "wang", "--reason",
                "state guarantee signed", "--approved-by", "li", "--db", str(db))
        assert r.exit_code == 0, r.output
    finally:
        mp.undo()
    return db


def test_list_shows_every_evaluation_with_the_grade_that_stands(store: Path) -> None:
    r = run("list", "--db", str(store))
    assert (r.exit_code, r.stdout) == (0, """\
evaluation  customer  rated on    rulebook              total  model  final  now  overrides
E000001     C-C-0001  2026-04-15  manufacturing 2026.1  88.20  M2     M2     M2           0
E000002     C-I-0001  2026-04-17  it_services 2026.1    89.28  A      A      A            0
E000003     C-H-0002  2026-04-30  corporate 2026.1      55.00  B      B      A            1
E000004     C-B-0003  2026-03-31  corporate 2026.1      28.00  C      C      C            0
E000005     C-C-0001  2026-04-15  manufacturing 2026.1  88.20  M2     M2     M2           0
""")
    assert r.stderr == "5 evaluations\n"


@pytest.mark.parametrize(("args", "ids"), [
    (["--customer", "C-C-0001"], ["E000001", "E000005"]),
    (["--customer", "C-C-0001", "--latest"], ["E000005"]),
    (["--latest"], ["E000002", "E000003", "E000004", "E000005"]),
    (["--rulebook", "corporate"], ["E000003", "E000004"]),
    (["--grade", "A"], ["E000002", "E000003"]),  # the hotel's B was overridden to A
    (["--grade", "B"], []),
    (["--overridden"], ["E000003"]),
    (["--not-overridden", "--rulebook", "corporate"], ["E000004"]),
    (["--from", "2026-04-15", "--to", "2026-04-17"], ["E000001", "E000002", "E000005"]),  # the facts' as_of
    (["--from", "2026-05-01"], []),
    (["--to", "2026-03-31"], ["E000004"]),
    (["--limit", "2"], ["E000001", "E000002"]),
])
def test_list_filters(store: Path, args: list[str], ids: list[str]) -> None:
    r = run("list", "--db", str(store), "--json", *args)
    assert r.exit_code == 0
    assert [json.loads(line)["evaluation_id"] for line in r.stdout.splitlines()] == ids


def test_list_agrees_with_history(store: Path) -> None:
    listed = [json.loads(line) for line in run("list", "--db", str(store), "--json", "--customer", "C-H-0002").stdout.splitlines()]
    history = json.loads(run("history", "C-H-0002", "--db", str(store), "--json").stdout)["evaluations"]
    assert [(r["evaluation_id"], r["effective_grade"], r["final_grade"], r["total"]) for r in listed] == \
        [(h["evaluation_id"], h["effective_grade"], h["final_grade"], h["total"]) for h in history]


def test_list_csv_has_a_header_and_one_row_per_evaluation(store: Path) -> None:
    r = run("list", "--db", str(store), "--csv", "--overridden")
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert [(x["evaluation_id"], x["final_grade"], x["effective_grade"], x["overrides"]) for x in rows] == \
        [("E000003", "B", "A", "1")]


def test_export_csv_round_trips_the_factor_points_of_each_evaluation(store: Path, tmp_path: Path) -> None:
    out = tmp_path / "ratings.csv"
    r = run("export", "--db", str(store), "--latest", "-o", str(out))
    assert (r.exit_code, r.stderr) == (0, f"exported 4 evaluations to {out}\n")
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert [x["evaluation_id"] for x in rows] == ["E000002", "E000003", "E000004", "E000005"]
    factor_columns = [c for c in rows[0] if c.startswith("points.")]
    with Store.open(store, create=False, readonly=True) as s:
        for x in rows:
            points = {f["id"]: f["points"] for f in s.record(x["evaluation_id"])["factors"]}
            assert {c[len("points."):]: float(x[c]) for c in factor_columns if x[c] != ""} == points
            assert float(x["total"]) == s.record(x["evaluation_id"])["total"]
    machinery = rows[-1]
    assert (machinery["points.asset_size"], machinery["points.collateral_coverage"], machinery["total"]) == \
        ("70.0", "85.0", "88.2")
    assert machinery["points.receivable_days"] == ""  # a factor only the IT services rulebook has


def test_export_jsonl_equals_the_listing_plus_points(store: Path) -> None:
    listed = [json.loads(line) for line in run("list", "--db", str(store), "--json").stdout.splitlines()]
    r = run("export", "--db", str(store), "--format", "jsonl")
    exported = [json.loads(line) for line in r.stdout.splitlines()]
    assert [{k: v for k, v in e.items() if k != "points"} for e in exported] == listed
    assert exported[0]["points"]["asset_size"] == 70.0 and len(exported[0]["points"]) == 17


def test_export_xlsx_round_trips(store: Path, tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    out = tmp_path / "ratings.xlsx"
    assert run("export", "--db", str(store), "--format", "xlsx", "-o", str(out), "--overridden").exit_code == 0
    sheet = openpyxl.load_workbook(out)["ratings"]
    header, *body = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert header[:3] == ["evaluation_id", "customer_id", "customer_type"]
    assert len(body) == 1 and body[0][0] == "E000003" and body[0][header.index("effective_grade")] == "A"


@pytest.mark.parametrize(("args", "message"), [
    (["list", "--json", "--csv"], "error[E830]: give --json or --csv, not both\n"),
    (["list", "--from", "2026-07-01", "--to", "2026-06-01"],
     "error[E830]: --from 2026-07-01 is after --to 2026-06-01: nothing could match\n"),
    (["export", "--format", "xlsx"], "error[E830]: --format xlsx writes a workbook: give -o FILE.xlsx\n"),
])
def test_list_and_export_refuse_options_that_do_not_go_together(store: Path, args: list[str], message: str) -> None:
    r = run(*args, "--db", str(store))
    assert (r.exit_code, r.stderr) == (2, message)


def test_list_and_export_leave_the_store_as_it_was(store: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.db"
    shutil.copy(store, copy)
    before = copy.read_bytes()
    for args in (["list"], ["export"], ["export", "--format", "jsonl"]):
        assert run(*args, "--db", str(copy)).exit_code == 0
    assert copy.read_bytes() == before


def test_list_on_a_missing_store_creates_nothing(tmp_path: Path) -> None:
    r = run("list", "--db", str(tmp_path / "none.db"))
    assert r.exit_code == 1 and not (tmp_path / "none.db").exists()


def test_the_stores_views_tell_what_the_command_line_tells(store: Path) -> None:
    """Datasette and SQL users see ids as E000001 and the grade that stands after overrides (issue 11.5)."""
    conn = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    latest = [dict(r) for r in conn.execute("SELECT * FROM latest_ratings ORDER BY evaluation_id")]
    listed = [json.loads(line) for line in run("list", "--db", str(store), "--json", "--latest").stdout.splitlines()]
    assert latest == listed
    everything = [dict(r) for r in conn.execute("SELECT * FROM ratings ORDER BY evaluation_id")]
    assert everything == [json.loads(line) for line in run("list", "--db", str(store), "--json").stdout.splitlines()]
    overrides = [dict(r) for r in conn.execute("SELECT evaluation_id, customer_id, old_grade, new_grade, reviewer, "
                                               "approved_by, superseded_by FROM expert_overrides")]
    assert overrides == [{"evaluation_id": "E000003", "customer_id": "C-H-0002", "old_grade": "B", "new_grade": "A",
                          "reviewer": "wang", "approved_by": "li", "superseded_by": None}]
    conn.close()
