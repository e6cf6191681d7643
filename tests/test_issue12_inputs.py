"""Issue 12, items 8 and 15: hostile inputs under the size limit are refused early (values counted as
they are parsed, each file parsed once, schema problems cut at 100), and batch inputs fail per record
(a line that is not UTF-8), warn about a customer id used twice, refuse a CSV header typo once, and
report counts that add up over reruns. bench/bench_hostile.py measures the times; these pin behaviour."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from factories import customer

import pingji
from pingji.batch.local import run_batch
from pingji.cli.main import cli
from pingji.errors import BatchError, RulebookError
from pingji.lang import source
from pingji.lang.factschema import check_facts, load_schema
from pingji.lang.source import load_yaml_text
from pingji.store.database import Store

BOOKS = Path(__file__).parent / "data" / "books"

pytestmark = pytest.mark.usefixtures("fresh_engine_caches")


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(BOOKS, tmp_path / "books")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PINGJI_DB", raising=False)
    return tmp_path


def refused(text: str, name: str = "f.yaml") -> str:
    with pytest.raises(RulebookError) as exc:
        load_yaml_text(text, name)
    return str(exc.value)


def jsonl(path: Path, records: list[object]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


# -- item 8: limits checked early -----------------------------------------------------------------

def test_issue12_8_values_past_the_limit_are_refused_at_the_first_one() -> None:
    # the root mapping, its key, the list and 99,997 items are 100,000 values; the next one is refused
    text = "a: [" + ",".join(["0"] * 99_998) + "]\n"
    assert refused(text) == (
        f"f.yaml:1:{5 + 2 * 99_997}: error[E010]: more than 100,000 values in one document; the limit is "
        "100,000 (split the input)")


def test_issue12_8_a_facts_file_of_tiny_values_is_refused_by_rate(ws: Path) -> None:
    facts = customer()
    facts["assessments"] = [1] * 200_000
    (ws / "f.json").write_text(json.dumps(facts, separators=(",", ":")), encoding="utf-8")
    r = CliRunner().invoke(cli, ["rate", "f.json", "--rulebook", "books/mini.yaml", "--no-store"])
    head = json.dumps(facts, separators=(",", ":")).index("[1,") + 1
    column = head + 1 + 2 * (100_000 - 1 - 28)  # 28 values come before the list: the root, keys and theirs
    assert (r.exit_code, r.output) == (1, (f"f.json:1:{column}: error[E010]: more than 100,000 values in one "
                                           "document; the limit is 100,000 (split the input)\n"))


def test_issue12_8_check_parses_a_rulebook_once(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = source._compose

    def counting(text: str, name: str, loader_class: object = None) -> object:
        calls.append(name)
        return real(text, name, loader_class)  # type: ignore[arg-type]

    monkeypatch.setattr(source, "_compose", counting)
    assert [d for d in pingji.check("books/mini.yaml", run_examples=False) if d.is_error] == []
    assert calls == ["books/mini.yaml"]
    calls.clear()
    (ws / "bad.yaml").write_text("rulebook: x\nkind: rating\na: [" + ",".join(["0"] * 100_000) + "]\n",
                                 encoding="utf-8")
    assert [str(d) for d in pingji.check("bad.yaml")] == [
        ("bad.yaml:3:199991: error[E010]: more than 100,000 values in one document; the limit is 100,000 "
         "(split the input)")]
    assert calls == ["bad.yaml"]


def test_issue12_8_rulebook_schema_problems_stop_after_100(ws: Path) -> None:
    text = (BOOKS / "mini.yaml").read_text(encoding="utf-8")
    assert "\nexamples:" not in text
    (ws / "books" / "many.yaml").write_text(text + "\nexamples: [" + ",".join(["1"] * 400) + "]\n",
                                            encoding="utf-8")
    diags = [str(d) for d in pingji.check("books/many.yaml")]
    assert len(diags) == 101
    assert diags[0] == "books/many.yaml:1:1: error[E011]: more than 100 problems: the check stopped after the first 100"
    assert diags[1].endswith(": error[E101]: examples.0: 1 is not of type 'object'")
    assert diags[100].endswith(": error[E101]: examples.99: 1 is not of type 'object'")


def test_issue12_8_facts_schema_problems_stop_after_100() -> None:
    schema = load_schema(BOOKS / "mini.schema.json")
    facts = customer()
    facts["assessments"] = [1] * 5000
    diags = [str(d) for d in check_facts(facts, schema)]
    assert len(diags) == 101
    assert diags[0] == "facts: error[E501]: assessments[0]: 1 is not of type 'object'"
    assert diags[-1] == "facts: error[E011]: more than 100 problems: the check stopped after the first 100"


def test_issue12_8_a_jsonl_line_has_the_limits_of_a_fact_file(tmp_path: Path) -> None:
    big = customer(id="big")
    big["assessments"] = [0] * 100_000
    deep: object = 1
    for _ in range(201):
        deep = [deep]
    long = customer(id="long", name="x" * 2_000_000)
    jsonl(tmp_path / "p.jsonl", [customer(), big, customer(id="deep", extra=deep), long])
    with Store.open(tmp_path / "b.db") as store:
        run = run_batch(tmp_path / "p.jsonl", store, rulebook=str(BOOKS / "mini.yaml"), workers=1)
    p = str(tmp_path / "p.jsonl")
    assert (run.rated, run.failed) == (1, 3)
    assert [f["reason"] for f in run.failures] == [
        f"{p}:2: error[E010]: more than 100,000 values in one document; the limit is 100,000 (split the input)",
        f"{p}:3: error[E005]: nesting deeper than 200 levels",
        f"{p}:4: error[E002]: line is {len(json.dumps(long)) + 1} bytes; the limit is 2000000 bytes",
    ]


# -- item 15: batches -------------------------------------------------------------------------------

def test_issue12_15_a_jsonl_line_that_is_not_utf8_fails_alone(tmp_path: Path) -> None:
    good = json.dumps(customer()).encode()
    (tmp_path / "p.jsonl").write_bytes(good + b"\n" + b'{"id": "c\xff2"}\n' + good.replace(b'"c1"', b'"c3"') + b"\n")
    with Store.open(tmp_path / "b.db") as store:
        run = run_batch(tmp_path / "p.jsonl", store, rulebook=str(BOOKS / "mini.yaml"), workers=1)
    assert (run.records, run.rated, run.failed) == (3, 2, 1)
    assert [(f["line"], f["code"], f["reason"]) for f in run.failures] == [
        (2, "E920", f"{tmp_path / 'p.jsonl'}:2: error[E920]: line is not UTF-8 text: byte 0xff at column 10")]


def test_issue12_15_a_csv_row_that_is_not_utf8_fails_alone(tmp_path: Path) -> None:
    (tmp_path / "p.csv").write_bytes(
        b"id,as_of,fin.revenue\nc1,2026-06-30,10\nc2,2026-06-30,1\xe9\nc3,2026-06-30,30\n")
    with Store.open(tmp_path / "b.db") as store:
        run = run_batch(tmp_path / "p.csv", store, rulebook=str(BOOKS / "mini.yaml"), workers=1)
    assert (run.records, run.rated, run.failed) == (3, 2, 1)
    assert [f["reason"] for f in run.failures] == [
        f"{tmp_path / 'p.csv'}:3: error[E920]: row is not UTF-8 text: byte 0xe9 in column 3 (fin.revenue)"]


def test_issue12_15_a_csv_header_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    (tmp_path / "p.csv").write_bytes(b"id,fin.reven\xffue\nc1,1\n")
    with pytest.raises(BatchError) as exc:
        run_batch(tmp_path / "p.csv", Store.open(tmp_path / "b.db"), rulebook=str(BOOKS / "mini.yaml"))
    assert str(exc.value) == f"error[E900]: {tmp_path / 'p.csv'}:1: the header row cannot be read: it is not UTF-8 text"


def test_issue12_15_a_customer_id_twice_is_a_warning_naming_the_lines(ws: Path) -> None:
    jsonl(ws / "p.jsonl", [customer(), customer(id="c2"), customer(), customer(id="c2"), customer()])
    r = CliRunner().invoke(cli, ["batch", "p.jsonl", "-r", "books/mini.yaml", "--workers", "1"])
    assert r.exit_code == 0
    assert r.stdout.splitlines()[-3:] == [
        "",
        ("warning[W920]: customer id 'c1' is on lines 1, 3 and 5 of p.jsonl: each record is stored as an "
         "evaluation of its own"),
        ("warning[W920]: customer id 'c2' is on lines 2 and 4 of p.jsonl: each record is stored as an "
         "evaluation of its own"),
    ]
    with Store.open("pingji.db") as s:
        assert s.conn.execute("SELECT count(*) FROM evaluations").fetchone()[0] == 5
    r = CliRunner().invoke(cli, ["batch", "p.jsonl", "-r", "books/mini.yaml", "--json"])
    assert [(w["code"], w["customer_id"], w["keys"]) for w in json.loads(r.stdout)["duplicates"]] == [
        ("W920", "c1", ["1", "3", "5"]), ("W920", "c2", ["2", "4"])]


def test_issue12_15_a_csv_header_typo_is_reported_once_for_the_header(ws: Path) -> None:
    rows = "".join(f"c{i},2026-06-30,2000,1000\n" for i in range(50))
    (ws / "p.csv").write_text("id,as_of,fin.current_asets,fin.current_liabilities\n" + rows, encoding="utf-8")
    r = CliRunner().invoke(cli, ["batch", "p.csv", "-r", "books/mini.yaml"])
    assert (r.exit_code, r.output) == (1, (
        "p.csv:1: error[E921]: the header names facts the facts schema does not know: column 3 "
        "'fin.current_asets' (did you mean 'fin.current_assets'?); no record was rated\n"))
    with Store.open("pingji.db") as s:
        assert s.conn.execute("SELECT count(*) FROM batches").fetchone()[0] == 0


def test_issue12_15_three_runs_of_a_batch_report_counts_that_add_up(ws: Path) -> None:
    bad = customer(id="bad")
    bad["fin"]["revenue"] = "lots"
    jsonl(ws / "p.jsonl", [customer(id=f"c{i}") for i in range(8)] + [bad, "not facts"])
    runs = []
    for _ in range(3):
        r = CliRunner().invoke(cli, ["batch", "p.jsonl", "-r", "books/mini.yaml", "--json"])
        assert r.exit_code == 1
        runs.append(json.loads(r.stdout))
    assert [(d["records"], d["this_run"], d["rated"], d["failed"]) for d in runs] == [
        (10, {"rated": 8, "failed": 2, "skipped": 0}, 8, 2),
        (10, {"rated": 0, "failed": 0, "skipped": 10}, 8, 2),
        (10, {"rated": 0, "failed": 0, "skipped": 10}, 8, 2),
    ]
    r = CliRunner().invoke(cli, ["batch", "p.jsonl", "-r", "books/mini.yaml"])
    assert r.stdout.splitlines()[1] == "this run: 0 rated, 0 failed, 10 already stored"


def test_issue12_8_more_factors_than_the_engine_runs_are_refused_before_the_schema_check(ws: Path) -> None:
    text = (BOOKS / "mini.yaml").read_text(encoding="utf-8")
    head, _, _ = text.partition("\nfactors:\n")
    line = head.count("\n") + 2
    for n, expected in ((440, None), (441, "E012")):
        body = "".join(f"  f{i}: 1\n" for i in range(n))  # not even factors: the count comes first
        (ws / "books" / "wide.yaml").write_text(head + "\nfactors:\n" + body, encoding="utf-8")
        diags = pingji.check("books/wide.yaml")
        if expected is None:
            assert {d.code for d in diags} == {"E101", "E011"}  # the schema check ran: each 1 is not a factor
        else:
            assert [str(d) for d in diags] == [
                (f"books/wide.yaml:{line}:1: error[E012]: rulebook defines 441 factors; the engine runs at most "
                 "440 rules, one or more a factor (split the rulebook)")]


def test_issue12_8_metrics_examples_and_decision_rules_are_counted_before_the_schema_check(ws: Path) -> None:
    text = (BOOKS / "mini.yaml").read_text(encoding="utf-8")
    head, _, rest = text.partition("\nmetrics:\n")
    line = head.count("\n") + 2
    (ws / "books" / "m.yaml").write_text(head + "\nmetrics:\n" + "".join(f"  m{i}: 1\n" for i in range(1998)) + rest,
                                         encoding="utf-8")
    assert [str(d) for d in pingji.check("books/m.yaml")] == [
        (f"books/m.yaml:{line}:1: error[E012]: rulebook defines 2001 metrics; pingji computes at most 2,000 in one "
         "rulebook (split it)")]
    examples = "".join(f"  - {i}\n" for i in range(501))
    (ws / "books" / "e.yaml").write_text(text + "\nexamples:\n" + examples, encoding="utf-8")
    assert [str(d) for d in pingji.check("books/e.yaml")] == [
        (f"books/e.yaml:{text.count(chr(10)) + 2}:1: error[E012]: rulebook defines 501 examples; pingji check runs "
         "at most 500 (rate the others as a batch)")]
    policy = "rulebook: p\nkind: policy\nrules:\n" + "".join(f"  - {i}\n" for i in range(401))
    (ws / "p.yaml").write_text(policy, encoding="utf-8")
    assert [str(d) for d in pingji.check("p.yaml")] == [
        ("p.yaml:3:1: error[E012]: rulebook defines 401 rules; pingji runs at most 400 in one decision rulebook "
         "(durable-rules hangs past about 512 conditions): split it")]


def test_issue12_15_a_customer_id_in_two_files_of_a_folder_is_a_warning(ws: Path) -> None:
    (ws / "in").mkdir()
    for name in ("a.json", "b.json"):
        (ws / "in" / name).write_text(json.dumps(customer()), encoding="utf-8")
    with Store.open(ws / "b.db") as store:
        run = run_batch("in", store, rulebook="books/mini.yaml", workers=1)
    assert [w["message"] for w in run.duplicates] == [
        ("warning[W920]: customer id 'c1' is in files a.json and b.json of in: each record is stored as an "
         "evaluation of its own")]
