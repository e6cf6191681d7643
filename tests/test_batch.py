"""Batch rating: CSV / JSONL / folder inputs, failures that do not stop a batch, resuming, and a
batch killed half-way (SIGKILL) that stores every customer exactly once when run again."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

import pingji
import pingji.store.records
from pingji.batch.local import outcomes, run_batch
from pingji.batch.sources import Raw, Source
from pingji.batch.synthetic import generate_corporate, write_jsonl
from pingji.cli.main import cli
from pingji.errors import BatchError
from pingji.lang.flatfacts import check_header, nest
from pingji.store.database import Store

ROOT = Path(__file__).resolve().parent.parent
BOOKS = Path(__file__).parent / "data" / "books"

# Rulebooks loaded here from scratch folders must not leak into other modules' compiled caches.
pytestmark = pytest.mark.usefixtures("fresh_engine_caches")

CSV = """\
id,fin.current_assets,fin.current_liabilities,fin.total_assets,fin.total_liabilities,fin.revenue,fin.net_income,\
credit.days_past_due,credit.fraud,assessments.0.factor,assessments.0.level
c1,2000,1000,1000,300,1000,150,0,false,management,4
c2,1200,1000,1000,600,1000,50,,,management,3
c3,900,1000,1000,900,abc,10,0,no,,
,,,,,,,,,,

c4,900,1000,1000,900,1000,10,120,yes,management,2
c5,1,2,3,4,5,6,7,8,9,10,11
"c6",1500,1000,1000,500,1000,-5,0,0,management,x
"""

CSV_SUMMARY = """\
batch {id}{resumed}: p.csv (6 records), rulebook books/mini.yaml, 1 worker
this run: {this}

section  rated  final grades
-            3  A 1  B 1  C 1
total        3

failed records: 3
  p.csv:4: error[E501]: fin.revenue: 'abc' is not of type 'number', 'null'
  p.csv:8: error[E902]: 12 cells but the header names 11 columns
  p.csv:9: error[E501]: assessments[0].level: 'x' is not of type 'integer'
"""


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(BOOKS, tmp_path / "books")
    (tmp_path / "p.csv").write_text(CSV, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PINGJI_DB", raising=False)
    monkeypatch.setattr(pingji.store.records, "now", lambda: "2026-06-30T09:00:00.000Z")
    return tmp_path


def batch(*args: str):
    return CliRunner().invoke(cli, ["batch", *args], catch_exceptions=False)


def test_csv_batch_rates_what_it_can_and_lists_the_failures(ws):
    r = batch("p.csv", "-r", "books/mini.yaml", "--workers", "1")
    with Store.open("pingji.db") as s:
        batch_id = s.conn.execute("SELECT id FROM batches").fetchone()[0]
        rows = s.conn.execute(
            "SELECT batch_key, customer_id, final_grade, total FROM evaluations ORDER BY id"
        ).fetchall()
    assert r.exit_code == 1
    assert r.stdout == CSV_SUMMARY.format(id=batch_id, resumed="", this="3 rated, 3 failed, 0 already stored")
    assert r.stderr == "rating p.csv\n"  # the progress bar, as it shows when stderr is not a terminal
    # c2: missing days past due and fraud stay missing; c4: 120 days past due and fraud ("yes") knock out to C
    assert rows == [("2", "c1", "A", 95.2), ("3", "c2", "B", 57.2), ("7", "c4", "C", 20.0)]


def test_rerunning_a_finished_batch_stores_nothing_twice(ws):
    batch("p.csv", "-r", "books/mini.yaml", "--workers", "1")
    r = batch("p.csv", "-r", "books/mini.yaml", "--workers", "1")
    with Store.open("pingji.db") as s:
        batch_id = s.conn.execute("SELECT id FROM batches").fetchone()[0]
        assert s.count() == 3 and s.count("batch_failures") == 3
        events = s.conn.execute(
            "SELECT event, rated, failed, skipped FROM batch_events ORDER BY id"
        ).fetchall()
    assert r.exit_code == 1
    assert r.stdout == CSV_SUMMARY.format(
        id=batch_id, resumed=" (resumed)", this="0 rated, 0 failed, 6 already stored"
    )
    assert events == [
        ("started", None, None, None),
        ("finished", 3, 3, 0),
        ("started", None, None, None),
        ("finished", 0, 0, 6),
    ]


def test_a_changed_input_or_rulebook_is_a_new_batch(ws):
    batch("p.csv", "-r", "books/mini.yaml", "--workers", "1")
    (ws / "p.csv").write_text(CSV.replace("c1,2000", "c1,2100"), encoding="utf-8")
    r = batch("p.csv", "-r", "books/mini.yaml", "--workers", "1")
    assert "this run: 3 rated, 3 failed, 0 already stored" in r.stdout
    with Store.open("pingji.db") as s:
        assert s.count("batches") == 2 and s.count() == 6


def test_batch_json(ws):
    r = batch("p.csv", "-r", "books/mini.yaml", "--workers", "1", "--json")
    d = json.loads(r.stdout)
    assert (d["rated"], d["failed"], d["records"], d["kind"], d["resumed"]) == (3, 3, 6, "csv", False)
    assert d["sections"] == [{"section": "-", "rated": 3, "grades": {"A": 1, "B": 1, "C": 1}}]
    assert [(f["line"], f["code"], f["customer_id"]) for f in d["failures"]] == [
        (4, "E501", "c3"),
        (8, "E902", None),
        (9, "E501", "c6"),
    ]


def test_jsonl_batch_with_bad_lines(ws):
    (ws / "j.jsonl").write_text(
        '{"id":"j1","fin":{"current_assets":1}}\n\n[1,2]\n{bad json\n{"id":"j2","identity":{}}\n',
        encoding="utf-8",
    )
    r = batch("j.jsonl", "-r", "books/mini.yaml", "-w", "1")
    assert r.exit_code == 1
    assert r.stdout.splitlines()[1:] == [
        "this run: 1 rated, 3 failed, 0 already stored",
        "",
        "section  rated  final grades",
        "-            1  C 1",
        "total        1",
        "",
        "failed records: 3",
        "  j.jsonl:3: error[E903]: a record must be an object of facts; got list",
        "  j.jsonl:4:2: error[E901]: not JSON: Expecting property name enclosed in double quotes",
        "  j.jsonl:5: error[E501]: (top level): unknown field(s) ('identity' was unexpected)",
    ]


def test_folder_of_built_in_examples_rulebook_chosen_per_customer(ws):
    folder = ws / "examples"
    folder.mkdir()
    for name in ("machinery-a.yaml", "foundry-overdue-d.yaml", "software-a.yaml", "engineer-mortgage-a.yaml"):
        shutil.copy(ROOT / "facts" / "examples" / name, folder / name)
    (folder / "broken.yaml").write_text("id: [x\n", encoding="utf-8")
    (folder / "notes.txt").write_text("not a fact file", encoding="utf-8")
    r = batch("examples", "-w", "1")
    assert r.exit_code == 1
    assert r.stdout.splitlines()[2:] == [
        "",
        "section  rated  final grades",
        "C            2  M2 1  D 1",
        "I            1  A 1",
        "-            1  A 1",
        "total        4",
        "",
        "failed records: 1",
        "  examples/broken.yaml:2:1: error[E003]: invalid YAML: did not find expected ',' or ']'",
    ]
    with Store.open("pingji.db") as s:
        assert s.conn.execute("SELECT batch_key, rulebook_id FROM evaluations ORDER BY id").fetchall() == [
            ("engineer-mortgage-a.yaml", "individual"),
            ("foundry-overdue-d.yaml", "manufacturing"),
            ("machinery-a.yaml", "manufacturing"),
            ("software-a.yaml", "it_services"),
        ]


@pytest.mark.parametrize(
    ("setup", "args", "stderr"),
    [
        pytest.param(None, ["nope.csv"], "error[E900]: input 'nope.csv' not found\n", id="missing-input"),
        pytest.param(
            ("x.txt", "a"),
            ["x.txt"],
            "error[E900]: input 'x.txt' is not a .csv or .jsonl file or a folder of fact files\n",
            id="unsupported-kind",
        ),
        pytest.param(
            ("e.csv", ""),
            ["e.csv"],
            "error[E900]: e.csv: no header row: the first row must name the facts "
            "(dotted paths such as financials.current.revenue)\n",
            id="empty-csv",
        ),
        pytest.param(
            ("h.csv", "id,fin..revenue,id\n"),
            ["h.csv"],
            "error[E900]: h.csv:1: bad header: column 2: 'fin..revenue' is not a dotted fact path; "
            "column 3: 'id' appears twice\n",
            id="bad-header",
        ),
        pytest.param(  # a JSONL line or a CSV row that is not UTF-8 fails alone (tests/test_issue12_inputs.py)
            ("u.csv", b"id,fin.rev\xffenue\nc1,1\n"),
            ["u.csv"],
            "error[E900]: u.csv:1: the header row cannot be read: it is not UTF-8 text\n",
            id="not-utf8-header",
        ),
        pytest.param(
            None,
            ["p.csv", "-r", "nosuch"],
            "error[E700]: no rulebook with id 'nosuch'; 'pingji rulebooks' lists them\n",
            id="unknown-rulebook",
        ),
    ],
)
def test_bad_batch_inputs(ws, setup, args, stderr):
    if setup:
        name, content = setup
        (ws / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    r = batch(*args, "-w", "1")
    assert (r.exit_code, r.stdout, r.stderr) == (1, "", stderr)


def test_corrupt_database(ws):
    (ws / "pingji.db").write_bytes(b"junk" * 1000)
    r = batch("p.csv", "-r", "books/mini.yaml")
    assert (r.exit_code, r.stderr) == (
        1,
        (
            "pingji.db: error[E800]: not a usable pingji store: the file is corrupt "
            "or not SQLite (file is not a database)\n"
        ),
    )


# -- CSV cells to typed facts ------------------------------------------------------------------------
def test_csv_cells_are_typed_by_the_facts_schema():
    schema = pingji.load_rulebook(BOOKS / "mini.yaml").facts_schema
    cells = {
        "id": "007",
        "fin.revenue": " 1000 ",
        "fin.net_income": "-1.5e2",
        "fin.total_assets": "",
        "credit.fraud": "Yes",
        "credit.days_past_due": "3",
        "assessments.1.level": "4",
        "assessments.1.factor": "management",
        "assessments.0.factor": "management",
        "assessments.0.level": "5",
        "collateral": '[{"type": "land", "value": 5}]',
        "exposure": "n/a",
    }
    assert nest(cells, schema) == {
        "id": "007",
        "fin": {"revenue": 1000, "net_income": -150.0},
        "credit": {"fraud": True, "days_past_due": 3},
        "assessments": [{"factor": "management", "level": 5}, {"level": 4, "factor": "management"}],
        "collateral": [{"type": "land", "value": 5}],
        "exposure": "n/a",
    }


def test_csv_cells_without_a_schema_stay_text():
    assert nest({"a.b": "1", "a.c": "", "d": "x"}) == {"a": {"b": "1"}, "d": "x"}


def test_header_problems():
    assert check_header(["id", "a.b", "a"]) == ["column 'a' is both a value and the parent of 'a.b'"]
    assert check_header(["", "x."]) == [
        "column 1: '' is not a dotted fact path",
        "column 2: 'x.' is not a dotted fact path",
    ]


def test_the_same_input_hashes_the_same(ws):
    a, b = Source(ws / "p.csv"), Source(ws / "p.csv")
    assert a.digest() == b.digest() and a.count() == 6


# -- scale: several processes, bounded memory, killed and resumed -----------------------------------------
def _portfolio(path: Path, n: int, seed: int = 11) -> list[str]:
    customers = list(generate_corporate(n, seed))
    with open(path, "w", encoding="utf-8") as fh:
        write_jsonl(iter(customers), fh)
    return [c["id"] for c in customers]


@pytest.mark.slow
def test_workers_agree_with_one_process(tmp_path):
    ids = _portfolio(tmp_path / "p.jsonl", 240)
    results = []
    for workers in (1, 2):
        with Store.open(tmp_path / f"w{workers}.db") as s:
            run = run_batch(tmp_path / "p.jsonl", s, workers=workers, commit_every=50)
            assert (run.rated, run.failed, run.workers) == (240, 0, workers)
            results.append(
                s.conn.execute(
                    "SELECT customer_id, batch_key, facts_hash, total, model_grade, final_grade, result, "
                    "(SELECT group_concat(seq || ' ' || rule || ' ' || at || ' ' || matched || asserted, '; ') "
                    "FROM trace t WHERE t.evaluation_id = e.id) FROM evaluations e ORDER BY e.id"
                ).fetchall()
            )
    assert results[0] == results[1]  # the same results, traces and all, byte for byte
    assert [r[0] for r in results[0]] == ids


@pytest.mark.slow
def test_records_are_streamed_not_read_ahead(tmp_path):
    lines = (json.dumps({"id": f"c{i}", "fin": {"current_assets": i}}) for i in range(100_000))
    consumed = 0

    def records():
        nonlocal consumed
        for i, line in enumerate(lines, 1):
            consumed += 1
            yield Raw(str(i), i, line)

    out = outcomes(records(), (str(BOOKS / "mini.yaml"), "jsonl", "p.jsonl"), workers=2, chunk_size=5)
    first = [next(out) for _ in range(20)]
    assert [o.customer_id for o in first] == [f"c{i}" for i in range(20)]
    assert consumed <= 2 * 4 * 5 + 5 + 20  # at most four chunks per worker in flight
    out.close()


def _stored(db: Path) -> list[tuple[str, int]]:
    with sqlite3.connect(db) as c:
        rows = c.execute("SELECT customer_id, count(*) FROM evaluations GROUP BY customer_id").fetchall()
    c.close()
    return rows


@pytest.mark.slow
def test_a_batch_killed_half_way_resumes_without_duplicates(tmp_path):
    n = 1500
    ids = _portfolio(tmp_path / "p.jsonl", n)
    db = tmp_path / "b.db"
    cmd = [
        sys.executable,
        "-m",
        "cli",
        "batch",
        "p.jsonl",
        "--db",
        str(db),
        "--workers",
        "2",
        "--commit-every",
        "50",
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        cmd,
        cwd=tmp_path,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 240
        stored = 0
        while stored < 150:
            assert proc.poll() is None, "the batch finished before it could be killed"
            assert time.monotonic() < deadline, "the batch stored nothing in time"
            time.sleep(0.05)
            if db.exists():
                try:
                    stored = sum(k for _, k in _stored(db))
                except sqlite3.OperationalError:  # tables not created yet
                    stored = 0
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the batch and its workers: a crash, no clean-up
        proc.wait()
    partial = _stored(db)
    assert 150 <= len(partial) < n
    assert all(k == 1 for _, k in partial)

    rerun = subprocess.run(
        cmd, check=False, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert rerun.returncode == 0, rerun.stderr
    first = rerun.stdout.splitlines()[:2]
    assert "(resumed)" in first[0]
    assert first[1] == f"this run: {n - len(partial)} rated, 0 failed, {len(partial)} already stored"
    final = _stored(db)
    assert sorted(c for c, _ in final) == sorted(ids)
    assert all(k == 1 for _, k in final), "a customer was stored twice"


def test_run_batch_refuses_an_unreadable_input(tmp_path):
    with Store.open(tmp_path / "s.db") as s, pytest.raises(BatchError, match="not found"):
        run_batch(tmp_path / "none.csv", s)


@pytest.mark.parametrize("make", [pytest.param(lambda p: p.with_suffix(".jsonl").write_text(""), id="empty-file"),
                                  pytest.param(lambda p: p.mkdir(), id="empty-folder")])
def test_issue12_a_batch_with_nothing_to_rate_fails(tmp_path, make):
    target = tmp_path / "in"
    make(target)
    path = target.with_suffix(".jsonl") if not target.exists() else target
    r = CliRunner().invoke(cli, ["batch", str(path), "--db", str(tmp_path / "b.db")])
    assert r.exit_code == 1
    assert r.stderr == f"error[E904]: input '{path}' has no records: nothing to rate\n"


def test_issue12_a_folder_batch_skips_a_facts_schema_and_a_missing_customer_type_is_named(tmp_path):
    folder = tmp_path / "f"
    folder.mkdir()
    shutil.copy(ROOT / "facts" / "examples" / "machinery-a.yaml", folder)
    shutil.copy(ROOT / "facts" / "corporate.schema.json", folder)
    r = CliRunner().invoke(cli, ["batch", str(folder), "--db", str(tmp_path / "b.db")])
    assert r.exit_code == 0, r.output
    assert "failed" not in r.output.split("this run:")[1].split("\n")[0].replace("0 failed", "")
    facts = {k: v for k, v in yaml.safe_load((ROOT / "facts/examples/machinery-a.yaml").read_text("utf-8")).items()
             if k != "customer_type"}
    (tmp_path / "n.jsonl").write_text(json.dumps(facts) + "\n", encoding="utf-8")
    r = CliRunner().invoke(cli, ["batch", str(tmp_path / "n.jsonl"), "--db", str(tmp_path / "b.db")])
    assert r.exit_code == 1
    assert (f"  {tmp_path / 'n.jsonl'}:1: error[E700]: the facts have no customer_type, so no rating rulebook can "
            f"be chosen for them; add customer_type (corporate, individual, small_business) or name a rulebook "
            f"with --rulebook") in r.output.splitlines()
