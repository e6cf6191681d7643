"""The command line end to end (CliRunner): exact output for success and for bad input.

Runs in a scratch folder holding a copy of tests/data/books (so rulebook paths print short) and
with the store's clock fixed, so every line of output is pinned.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import pingji.store.records
from pingji.analysis.chains import UnknownFactor, factor_chain
from pingji.cli.main import cli, commands
from pingji.store.database import Store

BOOKS = Path(__file__).parent / "data" / "books"

# Rulebooks loaded here from scratch folders must not leak into other modules' compiled caches.
pytestmark = pytest.mark.usefixtures("fresh_engine_caches")
T0 = "2026-06-30T09:00:00.000Z"

GOOD = """\
id: c1
as_of: '2026-06-30'
fin: {current_assets: 2000, current_liabilities: 1000, total_assets: 1000, total_liabilities: 300,
      revenue: 1000, net_income: 150}
credit: {days_past_due: 0, fraud: false, strong_guarantee: false}
assessments:
  - {factor: management, level: 4, assessor: Li}
  - {factor: management, level: 5, assessor: Wang}
"""

SUMMARY = """\
evaluation E000001 (stored in pingji.db)
customer   c1
rulebook   mini 1 (books/mini.yaml, sha256 725dc9db5cc6)
total      97.60
model      A
grade      A, PD 0.50%

factor                       group        weight  points  basis
current_ratio                solvency         50  100.00  band 1: >= 1.5
debt_ratio                   solvency         50  100.00  band 1: < 0.4
net_margin                   quality          40  100.00  band 1: >= 0.1
management                   quality          60   90.00  median of 2 assessments (5 by Wang, 4 by Li)

overrides  none
reason codes (points lost against the maximum)
  1. management: -2.40 (median of 2 assessments (5 by Wang, 4 by Li))
"""


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(BOOKS, tmp_path / "books")
    (tmp_path / "good.yaml").write_text(GOOD, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PINGJI_DB", raising=False)
    monkeypatch.setattr(pingji.store.records, "now", lambda: T0)
    return tmp_path


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


@pytest.fixture
def rated(ws: Path) -> Path:
    assert run("rate", "good.yaml", "-r", "books/mini.yaml").exit_code == 0
    return ws


# -- rate -------------------------------------------------------------------------------------------
def test_rate_prints_the_summary_and_stores_the_evaluation(ws):
    r = run("rate", "good.yaml", "--rulebook", "books/mini.yaml")
    assert (r.exit_code, r.stdout, r.stderr) == (0, SUMMARY, "")
    with sqlite3.connect(ws / "pingji.db") as db:
        assert db.execute(
            "SELECT id, customer_id, final_grade, evaluated_at FROM evaluations"
        ).fetchall() == [(1, "c1", "A", T0)]


def test_rate_no_store_touches_no_database(ws):
    r = run("rate", "good.yaml", "-r", "books/mini.yaml", "--no-store")
    assert r.exit_code == 0
    assert r.stdout.splitlines()[0] == "evaluation not stored"
    assert not (ws / "pingji.db").exists()


def test_rate_db_option_and_environment_variable(ws):
    assert run("rate", "good.yaml", "-r", "books/mini.yaml", "--db", "a.db").exit_code == 0
    r = run("rate", "good.yaml", "-r", "books/mini.yaml", env={"PINGJI_DB": "b.db"})
    assert r.stdout.splitlines()[0] == "evaluation E000001 (stored in b.db)"
    assert (ws / "a.db").is_file() and (ws / "b.db").is_file() and not (ws / "pingji.db").exists()


def test_rate_json_is_the_evaluation_plus_its_id_and_time(ws):
    r = run("rate", "good.yaml", "-r", "books/mini.yaml", "--json")
    d = json.loads(r.stdout)
    assert (d["evaluation_id"], d["evaluated_at"], d["final_grade"], d["total"]) == ("E000001", T0, "A", 97.6)
    plain = json.loads(run("rate", "good.yaml", "-r", "books/mini.yaml", "--json", "--no-store").stdout)
    assert d["rated_on"] == "2026-06-30"  # the facts' as_of (issue 12.2)
    assert {k: v for k, v in d.items() if k not in ("evaluation_id", "evaluated_at", "rated_on")} == plain


def test_rate_picks_the_rulebook_from_the_customer():
    # Built-in rulebooks and example: the source material's machinery manufacturer.
    root = Path(__file__).resolve().parent.parent
    r = run("rate", str(root / "facts/examples/machinery-a.yaml"), "--no-store")
    assert r.exit_code == 0, r.output
    assert "rulebook   manufacturing " in r.stdout and "grade      M2 (coarse A), PD 0.05%" in r.stdout


@pytest.mark.parametrize(
    ("args", "stderr"),
    [
        pytest.param(
            ["rate", "nope.yaml", "-r", "books/mini.yaml"],
            "nope.yaml: error[E001]: cannot read file: No such file or directory\n",
            id="missing-facts-file",
        ),
        pytest.param(
            ["rate", "malformed.yaml", "-r", "books/mini.yaml"],
            "malformed.yaml:2:1: error[E003]: invalid YAML: did not find expected ',' or ']'\n",
            id="malformed-yaml",
        ),
        pytest.param(
            ["rate", "bad.yaml", "-r", "books/mini.yaml"],
            "bad.yaml:1:1: error[E501]: (top level): unknown field(s) ('colour' was unexpected)\n"
            "bad.yaml:2:16: error[E501]: fin.revenue: 'lots' is not of type 'number', 'null'\n",
            id="facts-fail-the-schema",
        ),
        pytest.param(
            ["rate", "good.yaml", "-r", "minu"],
            "error[E700]: no rulebook with id 'minu'; 'pingji rulebooks' lists them\n",
            id="unknown-rulebook-id",
        ),
        pytest.param(
            ["rate", "good.yaml", "-r", "books/nosuch.yaml"],
            "error[E700]: rulebook file 'books/nosuch.yaml' not found\n",
            id="unknown-rulebook-file",
        ),
        pytest.param(
            ["rate", "good.yaml", "-r", "books/broken.yaml"],
            "books/broken.yaml:3:1: error[E003]: invalid YAML: did not find expected node content\n",
            id="malformed-rulebook",
        ),
        pytest.param(
            ["rate", "good.yaml"],
            "error[E700]: the facts have no customer_type, so no rating rulebook can be chosen for them; add "
            "customer_type (corporate, individual, small_business) or name a rulebook with --rulebook\n",
            id="no-rulebook-applies",
        ),
        pytest.param(
            ["rate", "good.yaml", "-r", "books/mini.yaml", "--db", "books"],
            "books: error[E800]: is a directory, not a pingji store\n",
            id="db-is-a-directory",
        ),
    ],
)
def test_rate_bad_input(ws, args, stderr):
    (ws / "malformed.yaml").write_text("id: [c1\n", encoding="utf-8")
    (ws / "bad.yaml").write_text(
        "id: c2\nfin: {revenue: lots, current_assets: 1}\ncolour: blue\n", encoding="utf-8"
    )
    (ws / "books" / "broken.yaml").write_text("rulebook: x\nkind: [\n", encoding="utf-8")
    r = run(*args)
    assert (r.exit_code, r.stdout, r.stderr) == (1, "", stderr)


def test_usage_errors_exit_2(ws):
    r = run("rate")
    assert r.exit_code == 2
    assert r.stderr.endswith("Error: Missing argument 'FACTS'.\n")
    r = run("rate", "good.yaml", "--lang", "fr")
    assert r.exit_code == 2 and "'fr' is not one of 'en', 'zh'" in r.stderr


# -- the store: corrupt and foreign files -------------------------------------------------------------
@pytest.mark.parametrize(
    "command",
    [
        ["trace", "E000001"],
        ["history", "c1"],
        ["report", "E1"],
        ["override", "E1", "-g", "B", "--reason", "thin order book", "--reviewer", "x"],
        ["rate", "good.yaml", "-r", "books/mini.yaml"],
    ],
)
def test_corrupt_database(ws, command):
    (ws / "pingji.db").write_bytes(b"this is not a database" * 100)
    r = run(*command)
    assert (r.exit_code, r.stdout, r.stderr) == (
        1,
        "",
        (
            "pingji.db: error[E800]: not a usable pingji store: the file is corrupt or not SQLite "
            "(file is not a database)\n"
        ),
    )


def test_foreign_database(ws):
    with sqlite3.connect(ws / "other.db") as db:
        db.execute("CREATE TABLE customers (id)")
    db.close()
    r = run("history", "c1", "--db", "other.db")
    assert (r.exit_code, r.stderr) == (
        1,
        "other.db: error[E800]: not a pingji store: another program's SQLite database (tables: customers)\n",
    )


def test_reading_commands_do_not_create_a_store(ws):
    r = run("trace", "E1")
    assert (r.exit_code, r.stderr) == (
        1,
        "pingji.db: error[E800]: no store here: nothing has been rated into it yet\n",
    )
    assert not (ws / "pingji.db").exists()


# -- trace ------------------------------------------------------------------------------------------
TRACE_HEAD = "evaluation E000001  customer c1  rulebook mini 1  grade A\n"


def test_trace(rated):
    r = run("trace", "E000001")
    assert r.exit_code == 0
    lines = r.stdout.splitlines()
    assert lines[0] + "\n" == TRACE_HEAD
    assert lines[2] == "seq  rule                  at                  matched -> asserted"
    assert lines[3] == (
        "  1  metric.current_ratio  books/mini.yaml:12  fin.current_assets=2000 "
        "fin.current_liabilities=1000 -> status=ok value=2"
    )
    assert (
        lines[-3]
        == " 13  grade.A               books/mini.yaml:70  total=97.6 -> model_grade=A  (total >= 75)"
    )
    assert len(lines) == 3 + 15


def test_trace_of_one_factor(rated):
    r = run("trace", "e1", "--factor", "debt_ratio")
    assert (
        r.stdout
        == TRACE_HEAD
        + """\
the chain of factor debt_ratio: 7 of 15 rules

seq  rule               at                  matched -> asserted
  2  metric.debt_ratio  books/mini.yaml:15  fin.total_assets=1000 fin.total_liabilities=300 -> status=ok value=0.3
  5  debt_ratio.band1   books/mini.yaml:44  metric=debt_ratio value=0.3 -> factor=debt_ratio points=100  (band 1: < 0.4)
 10  group.solvency     books/mini.yaml:22  points={"current_ratio":100.0,"debt_ratio":100.0} -> group=solvency subtotal=100
 12  total              books/mini.yaml:22  subtotals={"quality":94.0,"solvency":100.0} -> total=97.6
 13  grade.A            books/mini.yaml:70  total=97.6 -> model_grade=A  (total >= 75)
 14  final              books/mini.yaml:69  model_grade=A overrides=[] -> final_grade=A  (no override changed the grade)
 15  meaning.A          books/mini.yaml:70  final_grade=A -> coarse_grade=null pd=0.005 title={"en":"Good","zh":"优质"}
"""
    )


def test_factor_chain_is_a_library_call(rated):
    with Store.open(rated / "pingji.db", create=False) as store:
        record = store.record("E000001")
    chain = factor_chain(record, "debt_ratio")
    assert chain == json.loads(run("trace", "E1", "--factor", "debt_ratio", "--json").stdout)["trace"]
    assert [r["seq"] for r in chain] == [2, 5, 10, 12, 13, 14, 15]
    with pytest.raises(UnknownFactor) as caught:
        factor_chain(record, "debt_ration")
    assert caught.value.code == "E801" and "did you mean 'debt_ratio'?" in caught.value.message


def test_trace_json_matches_the_evaluation(rated):
    stored = json.loads(run("trace", "E000001", "--json").stdout)
    fresh = json.loads(run("rate", "good.yaml", "-r", "books/mini.yaml", "--json", "--no-store").stdout)
    assert stored == {
        "customer_id": "c1",
        "evaluation_id": "E000001",
        "factor": None,
        "trace": fresh["trace"],
    }


@pytest.mark.parametrize(
    ("args", "code", "stderr"),
    [
        pytest.param(
            ["trace", "E000009"],
            1,
            "pingji.db: error[E801]: no evaluation E000009 in this store\n",
            id="unknown-evaluation",
        ),
        pytest.param(
            ["trace", "E1", "--factor", "debt_ration"],
            1,
            "no factor 'debt_ration' in evaluation E000001 (did you mean 'debt_ratio'?); its factors: "
            "current_ratio, debt_ratio, net_margin, management\n",
            id="unknown-factor",
        ),
    ],
)
def test_trace_bad_input(rated, args, code, stderr):
    r = run(*args)
    assert (r.exit_code, r.stdout, r.stderr) == (code, "", stderr)


def test_malformed_evaluation_id_is_a_usage_error(rated):
    r = run("trace", "X-1")
    assert r.exit_code == 2
    assert r.stderr.endswith(
        "Error: Invalid value for 'EVAL_ID': 'X-1' is not an evaluation id (they look like E000001)\n"
    )


# -- override and history ---------------------------------------------------------------------------
def test_override_within_the_allowance(rated):
    r = run("override", "E000001", "--grade", "B", "--reviewer", "Li", "--reason", "thin order book")
    assert (r.exit_code, r.stdout) == (
        0,
        f"""\
override 1 of E000001 (customer c1): A -> B
  reviewer     Li
  approved by  -
  notches      1 down from the rulebook's grade A (allowance 1)
  reason       thin order book
  at           {T0}
""",
    )


def test_override_beyond_the_allowance_needs_a_second_person(rated):
    args = ["override", "E1", "-g", "C", "--reviewer", "Li", "--reason", "fraud suspected"]
    r = run(*args)
    assert (r.exit_code, r.stderr) == (
        1,
        (
            "error[E810]: A -> C is 2 notches from the rulebook's grade; more than "
            "1 notch needs a second person's approval (--approved-by NAME)\n"
        ),
    )
    r = run(*args, "--approved-by", "li")
    assert (r.exit_code, r.stderr) == (
        1,
        "error[E810]: the approver must be a second person, not the reviewer 'Li'\n",
    )
    r = run(*args, "--approved-by", "Wang", "--json")
    assert r.exit_code == 0
    assert json.loads(r.stdout) == {
        "allowance": 1,
        "approved_by": "Wang",
        "at": T0,
        "customer_id": "c1",
        "evaluation_id": "E000001",
        "id": 1,
        "new_grade": "C",
        "notches": -2,
        "old_grade": "A",
        "reason": "fraud suspected",
        "reviewer": "Li",
        "rulebook_grade": "A",
        "superseded_by": None,
    }


@pytest.mark.parametrize(
    ("args", "code", "stderr_end"),
    [
        pytest.param(
            ["-g", "Q"], 1, "error[E810]: unknown grade 'Q'; the grades are A, B, C\n", id="unknown-grade"
        ),
        pytest.param(["-g", "A"], 1, "error[E810]: the grade is already A\n", id="no-change"),
        pytest.param(
            ["-g", "B", "--reason", " "],
            2,
            "Error: Invalid value for '--reason': must not be empty\n",
            id="empty-reason",
        ),
    ],
)
def test_override_bad_input(rated, args, code, stderr_end):
    base = ["override", "E1", "--reviewer", "Li"] + (["--reason", "thin order book"] if "--reason" not in args else [])
    r = run(*base, *args)
    assert r.exit_code == code
    assert r.stderr.endswith(stderr_end)
    with sqlite3.connect(rated / "pingji.db") as db:
        assert db.execute("SELECT count(*) FROM overrides").fetchone() == (0,)


def test_override_of_an_unknown_evaluation(rated):
    r = run("override", "E7", "-g", "B", "--reviewer", "Li", "--reason", "thin order book")
    assert (r.exit_code, r.stderr) == (1, "pingji.db: error[E801]: no evaluation E000007 in this store\n")


def test_history(rated):
    run("rate", "good.yaml", "-r", "books/mini.yaml")
    run("override", "E1", "-g", "B", "--reviewer", "Li", "--reason", "thin order book")
    run("override", "E1", "-g", "C", "--reviewer", "Li", "--reason", "and worse", "--approved-by", "Wang")
    r = run("history", "c1")
    assert (r.exit_code, r.stdout) == (
        0,
        f"""\
customer c1: 2 evaluations, 2 expert overrides

evaluation  rated on    evaluated at (UTC)        rulebook  total  model  final  now
E000001     2026-06-30  {T0}  mini 1    97.60  A      A      C
    override 1 at {T0}: A -> B by Li: thin order book
    override 2 at {T0}: B -> C by Li, approved by Wang: and worse
E000002     2026-06-30  {T0}  mini 1    97.60  A      A      A
""",
    )
    d = json.loads(run("history", "c1", "--json").stdout)
    assert [(e["evaluation_id"], e["effective_grade"], len(e["overrides"])) for e in d["evaluations"]] == [
        ("E000001", "C", 2),
        ("E000002", "A", 0),
    ]


def test_history_of_an_unknown_customer(rated):
    r = run("history", "c9")
    assert (r.exit_code, r.stdout, r.stderr) == (
        1,
        "",
        "pingji.db: error[E801]: no evaluations of customer 'c9' in this store\n",
    )


# -- report -----------------------------------------------------------------------------------------
def test_report_json_is_the_stored_record(rated):
    run("override", "E1", "-g", "B", "--reviewer", "Li", "--reason", "thin order book")
    record = json.loads(run("report", "E1", "--format", "json").stdout)
    assert (record["evaluation_id"], record["evaluated_at"], record["effective_grade"]) == (
        "E000001",
        T0,
        "B",
    )
    assert record["facts"]["fin"]["revenue"] == 1000
    assert [o["new_grade"] for o in record["expert_overrides"]] == ["B"]


def test_issue12_report_language_follows_pingji_lang_and_json_does_not_mix_with_html(rated, monkeypatch):
    monkeypatch.setenv("PINGJI_LANG", "zh")
    r = run("report", "E1", "--format", "html", "-o", "z.html")
    assert (r.exit_code, r.stdout) == (0, "wrote z.html (html, zh) for E000001\n")
    monkeypatch.delenv("PINGJI_LANG")
    r = run("report", "E1", "--json", "--format", "html")
    assert r.exit_code == 2
    assert "Error: --json writes the stored record as JSON; it cannot be combined with --format html" in r.output


def test_issue12_dash_capital_v_prints_the_version():
    r = run("-V")
    assert (r.exit_code, r.stdout) == (0, f"pingji, version {pingji.__version__}\n")


def test_report_markdown_and_html(rated):
    pytest.importorskip("pingji.report.rating")
    md = run("report", "E1", "--lang", "en")
    assert md.exit_code == 0 and md.stdout.startswith("# Credit rating report")
    r = run("report", "E1", "--format", "html", "-o", "r.html")
    assert (r.exit_code, r.stdout) == (0, "wrote r.html (html, en) for E000001\n")
    page = (rated / "r.html").read_text(encoding="utf-8")
    assert page.lstrip().lower().startswith("<!doctype html>") and "E000001" in page


def test_report_of_an_unknown_evaluation(rated):
    r = run("report", "E000002")
    assert (r.exit_code, r.stderr) == (1, "pingji.db: error[E801]: no evaluation E000002 in this store\n")


# -- check, rulebooks, schema, init --------------------------------------------------------------------
def test_check_good_and_broken_rulebooks(ws):
    r = run("check", "books/mini.yaml")
    assert (r.exit_code, r.stdout) == (0, "1 rulebook checked: 0 errors, 0 warnings\n")
    (ws / "books" / "broken.yaml").write_text("rulebook: x\nkind: [\n", encoding="utf-8")
    r = run("check", "books/broken.yaml", "nope.yaml")
    assert r.exit_code == 1
    assert r.stdout == (
        "books/broken.yaml:3:1: error[E003]: invalid YAML: did not find expected node content\n"
        "nope.yaml: error[E001]: cannot read file: No such file or directory\n"
        "2 rulebooks checked: 2 errors, 0 warnings\n"
    )
    d = json.loads(run("check", "books/broken.yaml", "--json").stdout)
    assert d == [
        {
            "code": "E003",
            "col": 1,
            "file": "books/broken.yaml",
            "line": 3,
            "message": "invalid YAML: did not find expected node content",
            "severity": "error",
        }
    ]


def test_rulebooks_lists_the_built_ins():
    r = run("rulebooks")
    assert r.exit_code == 0
    lines = r.stdout.splitlines()
    assert lines[0] == "id                 kind            customer       industry     extends      title"
    assert any(
        line.startswith("manufacturing      rating          corporate      C            corporate    ") for line in lines
    )
    kinds = [line.split()[1] for line in lines[1:]]
    assert kinds == sorted(kinds, key=lambda k: (k != "rating", k)), "rating rulebooks first, then by kind"
    entries = json.loads(run("rulebooks", "--json").stdout)
    ids = [e["id"] for e in entries]
    assert {"corporate", "manufacturing", "individual"} <= set(ids) and ids == sorted(ids)
    assert {e["id"]: e["kind"] for e in entries}["manufacturing"] == "rating"


@pytest.mark.parametrize("which", ["rulebook", "corporate", "individual"])
def test_schema_prints_json_schema(which):
    r = run("schema", which)
    assert r.exit_code == 0
    assert json.loads(r.stdout)["$schema"].startswith("https://json-schema.org/")


def test_schema_unknown_name_is_a_usage_error():
    r = run("schema", "retail")
    assert r.exit_code == 2 and "'retail' is not one of 'rulebook', 'decision', 'facts', 'corporate'" in r.stderr


def test_schema_decision_is_the_decision_rulebook_format():
    r = run("schema", "decision")
    assert r.exit_code == 0
    assert json.loads(r.stdout)["$id"] == "https://pingji.example/schema/decision.schema.json"


def test_schema_facts_is_the_corporate_schema():
    r = run("schema", "facts")
    assert r.exit_code == 0
    assert json.loads(r.stdout)["$id"] == "https://pingji.example/facts/corporate.schema.json"


def test_init_creates_a_workspace_that_checks(ws):
    r = run("init", "space")
    assert r.exit_code == 0
    assert r.stdout.splitlines()[1:] == [
        "next:",
        "  cd space",
        "  pingji check rulebooks",
        "  pingji rate facts/examples/machinery-a.yaml --rulebook rulebooks/manufacturing.yaml",
    ]
    assert (ws / "space/rulebooks/manufacturing.yaml").is_file()
    assert (ws / "space/facts/corporate.schema.json").is_file()
    assert (ws / "space/facts/examples/machinery-a.yaml").is_file()
    assert "$schema=../schemas/rulebook.schema.json" in (ws / "space/rulebooks/corporate.yaml").read_text(
        "utf-8"
    )
    r = run("check", "space/rulebooks/manufacturing.yaml", "space/rulebooks/corporate.yaml")
    assert (r.exit_code, r.stdout) == (0, "2 rulebooks checked: 0 errors, 0 warnings\n")


def test_init_refuses_a_non_empty_folder(ws):
    r = run("init", "books")
    assert (r.exit_code, r.stdout, r.stderr) == (
        1,
        "",
        "books: not empty; init only fills an empty or new folder\n",
    )


# -- every command: help with an example, no tracebacks ------------------------------------------------
@pytest.mark.parametrize("command", commands(), ids=lambda c: c.name)
def test_every_command_has_help_with_an_example(command):
    r = run(command.name, "--help")
    assert r.exit_code == 0
    assert "Example:" in r.stdout and f"pingji {command.name}" in r.stdout.split("Example:")[1]


@pytest.mark.parametrize(
    "command", [c for c in commands() if c.name not in ("schema", "init", "export")], ids=lambda c: c.name
)
def test_every_command_but_raw_output_has_json(command):
    assert "--json" in run(command.name, "--help").stdout


def test_the_command_table_matches_the_commands():
    """`pingji --help` lists commands from cli/main.py's TABLE without importing them (issue 11.4): the
    table's first paragraph of help and function names must be the commands' own."""
    import inspect

    from pingji.cli.main import TABLE

    for (name, _, _, first), command in zip(TABLE, commands(), strict=True):
        assert command.name == name
        assert first == inspect.cleandoc(command.help or "").split("\n\n")[0].replace("\n", " "), name


def test_help_and_one_command_import_only_what_they_use():
    """`pingji --help` imports no command and no heavy library; `pingji rate` does not import the batch
    machinery (worker pools, Dask, the input readers)."""
    code = ("import sys; from pingji.cli.main import cli\n"
            "try:\n    cli(['--help'], prog_name='pingji')\nexcept SystemExit:\n    pass\n"
            "heavy = ('durable_rules', 'jsonschema', 'sqlite_utils', 'yaml', 'markdown', 'pingji.cli.commands.rating')\n"
            "print(sorted(m for m in heavy if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.splitlines()[-1] == "[]"
    code = ("import sys; from pingji.cli.main import load_command; load_command('rate')\n"
            "print(sorted(m for m in sys.modules if m.startswith(('pingji.batch', 'distributed', 'asyncio', "
            "'concurrent.futures.process', 'pingji.cli.commands.watch'))))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.splitlines()[-1] == "[]"


def test_an_unexpected_error_is_one_line_not_a_traceback(ws, monkeypatch):
    import pingji as eng

    def boom(*a: object, **k: object) -> None:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(eng, "evaluate", boom)
    r = CliRunner().invoke(cli, ["rate", "good.yaml", "-r", "books/mini.yaml"])
    assert (r.exit_code, r.stderr) == (
        1,
        "error: internal error: ZeroDivisionError: division by zero (PINGJI_DEBUG=1 shows the traceback)\n",
    )


def test_command_reference_is_up_to_date():
    from pingji.cli import docs

    assert docs.main(["--check"]) == 0, (
        "docs/cli.md or the README's command table drifted: run python -m pingji.cli.docs"
    )


def test_report_to_an_unwritable_place(rated):
    r = run("report", "E1", "--format", "json", "-o", "no/such/dir/r.json")
    assert (r.exit_code, r.stdout, r.stderr) == (
        1,
        "",
        "cannot write no/such/dir/r.json: No such file or directory\n",
    )


ROOT = Path(__file__).resolve().parent.parent


def test_issue12_check_on_an_empty_folder_fails_and_skips_what_is_not_a_rulebook(tmp_path):
    (tmp_path / "empty").mkdir()
    r = CliRunner().invoke(cli, ["check", str(tmp_path / "empty")])
    assert r.exit_code == 1
    assert r.stderr == (f"note: {tmp_path / 'empty'}: no YAML files\n"
                        f"error: nothing to check: no rulebooks in {tmp_path / 'empty'}\n")
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    shutil.copy(ROOT / "rulebooks" / "pricing.yaml", mixed)
    shutil.copy(ROOT / "facts" / "examples" / "machinery-a.yaml", mixed)
    r = CliRunner().invoke(cli, ["check", str(mixed), "--no-examples"])
    assert r.exit_code == 0, r.output
    assert r.stdout == "1 rulebook checked: 0 errors, 0 warnings\n"
    assert r.stderr == f"note: {mixed / 'machinery-a.yaml'}: not a rulebook (no 'rulebook:' key); skipped\n"


def test_issue12_overriding_a_superseded_evaluation_warns_and_names_the_latest(rated):
    assert run("rate", "good.yaml", "-r", "books/mini.yaml").exit_code == 0  # E000002, the same customer
    r = run("override", "E1", "-g", "B", "--reviewer", "Li", "--reason", "thin order book")
    assert r.exit_code == 0
    assert r.stderr == ("warning: E000001 is not the latest evaluation of customer c1 (E000002 is): the override "
                        "is stored, but the customer's current grade is the later evaluation's\n")
    r = run("override", "E2", "-g", "B", "--reviewer", "Li", "--reason", "thin order book")
    assert (r.exit_code, r.stderr) == (0, "")


def test_issue12_a_changed_rulebook_under_the_same_version_is_warned_about(ws):
    assert run("rate", "good.yaml", "-r", "books/mini.yaml").exit_code == 0
    book = ws / "books" / "mini.yaml"
    book.write_text(book.read_text("utf-8").replace("weight: 60}", "weight: 60}  # edited", 1), "utf-8")
    r = run("rate", "good.yaml", "-r", "books/mini.yaml")
    assert r.exit_code == 0
    assert r.stderr.startswith("warning: rulebook mini 1 (sha256 ") and r.stderr.endswith(
        "give the changed rulebook a new version\n")
    assert "differs from what this store already holds under the same id and version" in r.stderr
    rows = run("history", "c1").stdout.splitlines()[3:5]
    assert [row.split()[4] for row in rows] == ["1", "1"] and rows[0].split()[5] != rows[1].split()[5]
    assert all(row.split()[5].startswith("#") and len(row.split()[5]) == 9 for row in rows)


def test_issue12_reading_commands_open_the_store_read_only(rated):
    """history, trace, report, price and validate read; the store's files stay byte for byte as they were."""
    import hashlib

    def state() -> dict[str, str]:
        # SQLite may leave an empty -wal and a -shm index beside a WAL database it read: no data
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in rated.glob("pingji.db*")
                if not p.name.endswith("-shm") and p.stat().st_size > 0}

    (rated / "out.csv").write_text("customer_id,defaulted\nc1,false\n", encoding="utf-8")
    before = state()
    for args in (["history", "c1"], ["trace", "E1"], ["report", "E1"], ["price", "E1"],
                 ["validate", "out.csv"]):
        r = run(*args)
        assert r.exit_code in (0, 1), (args, r.output)
    assert state() == before
    with sqlite3.connect(f"{(rated / 'pingji.db').as_uri()}?mode=ro", uri=True) as db:
        assert db.execute("SELECT count(*) FROM evaluations").fetchone() == (1,)


def test_issue12_the_progress_estimate_follows_the_recent_rate_not_the_start_up():
    """A batch whose first 100 records took 10 s (workers starting) and then runs at 100 records a second:
    the estimate soon follows 100/s, where the average since the start still says hours."""
    import io

    from pingji.cli.options import Progress

    now = [0.0]
    out = io.StringIO()
    with Progress(100_000, "rating p.jsonl", file=out, clock=lambda: now[0]) as bar:
        now[0] = 10.0
        bar.update(100)  # start-up: 10 records a second
        for _ in range(60):  # then one minute at 100 a second
            now[0] += 1.0
            bar.update(100)
        eta = bar.eta()
        assert eta is not None and abs(eta - (100_000 - 6_100) / 100) / ((100_000 - 6_100) / 100) < 0.02
        assert bar.pos / now[0] < 90  # the average since the start is still well under the real rate
        assert bar.line() == ("rating p.jsonl  [#-----------------------------]  6,100/100,000  6%  100/s"
                              "  0:15:39 left")
    assert out.getvalue() == "rating p.jsonl\n"  # not a terminal: the label once, as before
