"""Issue 12.20: own customer types in every command; a user's rulebook folders in the catalog.

A type `coop` with its own facts schema and rating rulebook, rated into a store beside a built-in
corporate customer, then read back by every command that reads the store. `--rulebooks` and
`PINGJI_RULEBOOKS` add a user's folders: theirs first, ambiguity among them an error.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import pingji
from pingji.cli.main import cli
from pingji.errors import RulebookError, RulebookNotFound
from pingji.rating import catalog

ROOT = Path(__file__).resolve().parent.parent
MACHINERY = str(ROOT / "facts" / "monitoring" / "machinery-2026-04.yaml")
TEMPLATES = ROOT / "facts" / "templates"

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["customer_type", "id", "as_of"],
    "properties": {
        "customer_type": {"const": "coop"},
        "id": {"type": "string", "minLength": 1},
        "name": {"type": ["string", "null"]},
        "as_of": {"type": "string", "format": "date"},
        "identity": {"type": "object", "properties": {"industry": {"type": "object", "properties": {
            "section": {"type": "string"}, "division": {"type": ["string", "null"]}}}}},
        "members": {"type": ["integer", "null"]},
        "financials": {"type": "object", "additionalProperties": False, "properties": {
            "current": {"type": "object", "additionalProperties": False, "properties": {
                "revenue": {"type": ["number", "null"]}, "debt": {"type": ["number", "null"]},
                "equity": {"type": ["number", "null"]}}}}},
    },
}

RULEBOOK = """\
rulebook: {id}
kind: rating
title: {{en: Cooperatives, zh: 合作社}}
version: "1"
facts: ../facts/coop.schema.json
applies_to: {applies}
metrics:
  member_count: {{title: {{en: Members}}, expr: members, precision: 0}}
  leverage: {{title: {{en: Debt to equity}}, expr: financials.current.debt / financials.current.equity, precision: 2}}
groups:
  fin: {{title: {{en: Financial}}, weight: 100}}
factors:
  leverage:
    title: {{en: Leverage}}
    group: fin
    weight: 60
    metric: leverage
    direction: decreasing
    bands: [{{to: 1, points: 100}}, {{from: 1, to: 2, points: 60}}, {{from: 2, points: 0}}]
    undefined: 0
    missing: 0
  members:
    title: {{en: Members}}
    group: fin
    weight: 40
    metric: member_count
    bands: [{{from: 100, points: 100}}, {{to: 100, points: 40}}]
    undefined: 0
    missing: 0
scale:
  grades:
    - {{grade: A, from: 70, pd: 0.01, title: {{en: Good}}}}
    - {{grade: B, from: 40, pd: 0.05, title: {{en: Fair}}}}
    - {{grade: C, pd: 0.2, title: {{en: Poor}}}}
"""

COOP_A = """\
customer_type: coop
id: COOP-1
name: Green Valley Coop
as_of: "2026-06-30"
identity: {industry: {section: A, division: "01"}}
members: 150
financials: {current: {revenue: 1000000, debt: 400000, equity: 800000}}
"""

LOANS = """\
as_of: "2026-11-30"
loans:
  - {id: L1, customer_id: COOP-1, customer_type: non_retail, balance: 500000, start_date: "2025-01-01",
     maturity_date: "2028-01-01", days_past_due: {principal: 0, interest: 0}}
  - {id: L2, customer_id: C-C-0001, customer_type: non_retail, balance: 800000, start_date: "2025-01-01",
     maturity_date: "2028-01-01", days_past_due: {principal: 0, interest: 0}}
"""


def cmd(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(cli, list(args), env=env)


def rulebook(folder: Path, name: str, rid: str, applies: str = "{customer_type: coop}") -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(RULEBOOK.format(id=rid, applies=applies), encoding="utf-8")
    return path


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_engine_caches: None) -> Path:
    """A working folder with the coop type: facts/coop.schema.json, mine/coop.yaml and two snapshots."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(catalog.ENV_VAR, raising=False)
    (tmp_path / "facts").mkdir()
    (tmp_path / "facts" / "coop.schema.json").write_text(json.dumps(SCHEMA), encoding="utf-8")
    rulebook(tmp_path / "mine", "coop.yaml", "coop")
    (tmp_path / "coop-a.yaml").write_text(COOP_A, encoding="utf-8")
    (tmp_path / "coop-b.yaml").write_text(COOP_A.replace('"2026-06-30"', '"2026-11-30"')
                                          .replace("revenue: 1000000", "revenue: 600000"), encoding="utf-8")
    return tmp_path


def test_issue12_20_own_type_through_every_store_reading_command(ws: Path) -> None:
    r = cmd("rate", "coop-a.yaml", "--rulebook", "mine/coop.yaml", "--db", "s.db")
    assert r.exit_code == 0, r.output
    assert r.output.splitlines()[:6] == ["evaluation E000001 (stored in s.db)", "customer   COOP-1",
                                         r.output.splitlines()[2], "total      100.00", "model      A",
                                         "grade      A, PD 1.00%"]
    assert r.output.splitlines()[2].startswith("rulebook   coop 1 (mine/coop.yaml, sha256 ")
    assert cmd("rate", MACHINERY, "--db", "s.db").exit_code == 0

    r = cmd("history", "COOP-1", "--db", "s.db")
    assert r.exit_code == 0 and r.output.splitlines()[0] == "customer COOP-1: 1 evaluation, 0 expert overrides"
    r = cmd("trace", "E000001", "--db", "s.db")
    assert r.exit_code == 0
    assert r.output.splitlines()[0] == "evaluation E000001  customer COOP-1  rulebook coop 1  grade A"
    r = cmd("report", "E000001", "--db", "s.db")
    assert r.exit_code == 0
    assert "- Rulebook: Cooperatives (`coop`, version `1`)" in r.output.splitlines()
    assert "| Customer type | coop |" in r.output.splitlines()
    r = cmd("price", "E000001", "--db", "s.db")
    assert r.exit_code == 0, r.output
    assert r.output.splitlines()[0] == (f"offer for COOP-1, evaluation E000001 (rulebook pricing 2026.1, "
                                        f"{ROOT / 'rulebooks' / 'pricing.yaml'})")
    assert r.output.splitlines()[1].startswith("grade        A, rated ") and r.output.splitlines()[1].endswith(" by coop")
    r = cmd("override", "E000001", "--grade", "B", "--reviewer", "zhang", "--reason", "members leaving", "--db", "s.db")
    assert r.exit_code == 0 and r.output.splitlines()[0] == "override 1 of E000001 (customer COOP-1): A -> B"

    (ws / "loans.yaml").write_text(LOANS, encoding="utf-8")
    r = cmd("classify", "loans.yaml", "--db", "s.db")
    assert r.exit_code == 0, r.output
    assert "L1      COOP-1            500,000.00  normal            no rule fired: the default" in r.output
    r = cmd("provisions", "loans.yaml", "--db", "s.db")
    assert r.exit_code == 0, r.output
    (ws / "out.csv").write_text("customer_id,defaulted\nCOOP-1,false\nC-C-0001,false\n", encoding="utf-8")
    r = cmd("validate", "out.csv", "--db", "s.db", "-r", "coop")
    assert r.exit_code == 0, r.output
    assert r.output.splitlines()[2] == (
        "rulebook coop: 1 rated, 1 in the sample with 0 defaults (left out: 0 without an outcome, 0 already in "
        "default, 0 defaulted before the rating; 0 defaulted after the window counted as not defaulted)")

    early = ROOT / "rulebooks" / "early-warning.yaml"
    r = cmd("monitor", "coop-b.yaml", "--db", "s.db")  # no --rulebooks: the store names coop's rulebook
    assert r.exit_code == 0, r.output
    assert r.output.splitlines()[:5] == [
        f"monitoring 1 customer (rulebook early-warning 2026.1, {early})", "", "watch list: 1",
        "  COOP-1  severity high  action review  (snapshot 2026-11-30)",
        f"    - revenue-drop [high] ({early}:94): Revenue down more than 30%"]
    r = cmd("portfolio", "--db", "s.db", "--loans", "loans.yaml")
    assert r.exit_code == 0, r.output
    assert "| A Agriculture, forestry, animal husbandry and fishery | 0 | 1 | 1 | 1 |" in r.output.splitlines()
    assert "| C Manufacturing | 1 | 0 | 1 | 0 |" in r.output.splitlines()
    r = cmd("portfolio", "--db", "s.db", "--snapshots", "coop-b.yaml", "--as-of", "2026-11-30")
    assert r.exit_code == 0, r.output
    assert (f"| COOP-1 | high | review | Revenue down more than 30% (`revenue-drop`, {early}:94) |"
            in r.output.splitlines())

    v2 = ws / "mine" / "coop-v2.yaml"
    v2.write_text((ws / "mine" / "coop.yaml").read_text(encoding="utf-8").replace('version: "1"', 'version: "2"')
                  .replace("{grade: A, from: 70", "{grade: A, from: 101"), encoding="utf-8")
    r = cmd("diff", "mine/coop.yaml", "mine/coop-v2.yaml", "--db", "s.db")
    assert r.exit_code == 0, r.output
    assert "impact on 1 customer from s.db (latest evaluation by 'coop' of each customer):" in r.output.splitlines()
    assert "COOP-1    A -> B  100.00 -> 100.00   +0.00" in r.output.splitlines()


def test_issue12_20_monitor_finds_an_own_type_without_a_store_only_with_rulebooks(ws: Path) -> None:
    r = cmd("monitor", "coop-b.yaml", "--previous", "coop-a.yaml", "--db", "none.db")
    assert (r.exit_code, r.output) == (1, (
        "coop-b.yaml:1:16: error[E744]: no facts schema for customer_type \"coop\": no rating rulebook applies to it "
        "(the rating rulebooks' types: corporate, individual, small_business) and no stored evaluation names one; "
        "add your rulebooks with --rulebooks DIR or PINGJI_RULEBOOKS\n"))
    r = cmd("monitor", "coop-b.yaml", "--previous", "coop-a.yaml", "--db", "none.db", "--rulebooks", "mine")
    assert r.exit_code == 0 and "  COOP-1  severity high  action review  (snapshot 2026-11-30)" in r.output
    r = cmd("monitor", "coop-b.yaml", "--previous", "coop-a.yaml", "--db", "none.db",
            env={catalog.ENV_VAR: "mine"})
    assert r.exit_code == 0 and "  COOP-1  severity high  action review  (snapshot 2026-11-30)" in r.output
    bad = ws / "coop-bad.yaml"
    bad.write_text(COOP_A.replace("members: 150", "members: many"), encoding="utf-8")
    r = cmd("monitor", "coop-bad.yaml", "--previous", "coop-a.yaml", "--db", "none.db", "--rulebooks", "mine")
    assert (r.exit_code, r.output) == (1, ("coop-bad.yaml:6:10: error[E501]: members: 'many' is not of type "
                                           "'integer', 'null'\n"))


def test_issue12_20_rate_chooses_from_the_rulebooks_folders_and_the_env_var(ws: Path) -> None:
    r = cmd("rate", "coop-a.yaml", "--no-store")
    assert (r.exit_code, r.output) == (1, ("error[E700]: no rating rulebook applies to customer_type 'coop', "
                                           "industry A01; name one with --rulebook\n"))
    r = cmd("rate", "coop-a.yaml", "--no-store", "--rulebooks", "mine")
    assert r.exit_code == 0 and r.output.splitlines()[2].startswith("rulebook   coop 1 (mine/coop.yaml, ")
    (ws / "empty").mkdir()
    r = cmd("rate", "coop-a.yaml", "--no-store", env={catalog.ENV_VAR: os.pathsep.join(["empty", "mine"])})
    assert r.exit_code == 0 and r.output.splitlines()[2].startswith("rulebook   coop 1 (mine/coop.yaml, ")
    r = cmd("rate", "coop-a.yaml", "--no-store", "--rulebook", "coop", env={catalog.ENV_VAR: "mine"})
    assert r.exit_code == 0 and r.output.splitlines()[2].startswith("rulebook   coop 1 (mine/coop.yaml, ")
    r = cmd("rate", "coop-a.yaml", "--no-store", env={catalog.ENV_VAR: os.pathsep.join(["mine", "nowhere"])})
    assert (r.exit_code, r.output) == (2, ("nowhere: error[E740]: rulebooks folder does not exist (--rulebooks, "
                                           "PINGJI_RULEBOOKS)\n"))
    r = cmd("rulebooks", "--rulebooks", "mine")
    assert r.exit_code == 0
    assert ("coop               rating          coop           -            -            Cooperatives / 合作社  "
            "[yours: mine/coop.yaml]") in r.output.splitlines()


def test_issue12_20_batch_rates_own_and_built_in_types_with_rulebooks(ws: Path) -> None:
    coop = pingji.read_facts("coop-a.yaml").data
    corporate = pingji.read_facts(MACHINERY).data
    (ws / "p.jsonl").write_text("".join(json.dumps(f) + "\n" for f in (coop, corporate)), encoding="utf-8")
    r = cmd("batch", "p.jsonl", "--db", "b.db", "--workers", "1", "--json")
    assert r.exit_code == 1 and json.loads(r.stdout)["failed"] == 1
    r = cmd("batch", "p.jsonl", "--db", "b2.db", "--workers", "1", "--json", env={catalog.ENV_VAR: "mine"})
    assert r.exit_code == 0, r.output
    assert (json.loads(r.stdout)["rated"], json.loads(r.stdout)["failed"]) == (2, 0)
    r = cmd("history", "COOP-1", "--db", "b2.db")
    assert "coop 1" in r.output.splitlines()[3]


@pytest.mark.slow
def test_issue12_20_batch_worker_processes_get_the_rulebooks_folders(ws: Path) -> None:
    coop = pingji.read_facts("coop-a.yaml").data
    lines = [dict(coop, id=f"COOP-{i}") for i in range(6)]
    (ws / "p.jsonl").write_text("".join(json.dumps(f) + "\n" for f in lines), encoding="utf-8")
    r = cmd("batch", "p.jsonl", "--db", "b.db", "--workers", "2", "--json", "--rulebooks", "mine")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["rated"] == 6


def _machinery() -> dict[str, Any]:
    return {"customer_type": "corporate", "identity": {"industry": {"section": "C", "division": "34"}}}


def test_issue12_20_precedence_yours_first_then_the_most_specific(ws: Path) -> None:
    mine = ws / "mine"
    base = ROOT / "rulebooks" / "corporate.yaml"
    (mine / "bank-corporate.yaml").write_text(
        f"rulebook: bank-corporate\nextends: {base}\napplies_to: {{customer_type: corporate}}\n", encoding="utf-8")
    # yours first: a generic rulebook of yours beats the built-in industry rulebook
    assert catalog.select(_machinery(), user=["mine"]) == Path("mine/bank-corporate.yaml")
    assert catalog.select(_machinery()).name == "manufacturing.yaml"
    # among yours, the most specific
    (mine / "bank-machinery.yaml").write_text(
        f"rulebook: bank-machinery\nextends: {base}\napplies_to: {{customer_type: corporate, industry: [C34]}}\n",
        encoding="utf-8")
    assert catalog.select(_machinery(), user=["mine"]) == Path("mine/bank-machinery.yaml")
    # a customer none of yours applies to gets the built-in one
    assert catalog.select({"customer_type": "individual"}, user=["mine"]).name == "individual.yaml"
    # by id, yours replaces the built-in one
    (ws / "ids").mkdir()
    shutil.copy(ROOT / "rulebooks" / "early-warning.yaml", ws / "ids" / "early-warning.yaml")
    assert catalog.find("early-warning", user=["ids"]) == Path("ids") / "early-warning.yaml"
    assert catalog.find("early-warning") == ROOT / "rulebooks" / "early-warning.yaml"


def test_issue12_20_ambiguity_among_your_rulebooks_names_both_files(ws: Path) -> None:
    rulebook(ws / "more", "coop2.yaml", "coop2")
    with pytest.raises(RulebookNotFound) as exc:
        catalog.select(pingji.read_facts("coop-a.yaml").data, user=["mine", "more"])
    assert str(exc.value) == (
        "error[E743]: two of your rulebooks apply equally to customer_type 'coop', industry A01: coop "
        "(mine/coop.yaml:6) and coop2 (more/coop2.yaml:6); narrow one's applies_to or name one with --rulebook")
    r = cmd("rate", "coop-a.yaml", "--no-store", "--rulebooks", "mine", "--rulebooks", "more")
    assert (r.exit_code, r.output) == (1, str(exc.value) + "\n")
    # one more specific than the other is no ambiguity
    rulebook(ws / "more", "coop2.yaml", "coop2", "{customer_type: coop, industry: [A]}")
    assert catalog.select(pingji.read_facts("coop-a.yaml").data, user=["mine", "more"]) == Path("more/coop2.yaml")


def test_issue12_20_errors_in_your_rulebooks_folders_are_located(ws: Path) -> None:
    rulebook(ws / "dup", "again.yaml", "coop")
    with pytest.raises(RulebookNotFound) as exc:
        catalog.catalog(user=["mine", "dup"])
    assert str(exc.value) == ("dup/again.yaml:1:11: error[E742]: two of your rulebooks have the id 'coop': "
                              "mine/coop.yaml:1:11 and this one; rename one")
    (ws / "odd").mkdir()
    (ws / "odd" / "x.yaml").write_text("rulebook: 5\n", encoding="utf-8")
    with pytest.raises(RulebookNotFound) as exc:
        catalog.catalog(user=["odd"])
    assert str(exc.value) == "odd/x.yaml:1:11: error[E741]: 'rulebook:' must be the rulebook's id (text); got 5"
    (ws / "odd" / "x.yaml").write_text("rulebook: [x\n", encoding="utf-8")
    with pytest.raises(RulebookError) as exc2:
        catalog.catalog(user=["odd"])
    assert str(exc2.value).startswith("odd/x.yaml:") and "error[E003]" in str(exc2.value)
    (ws / "odd" / "x.yaml").write_text("title: not a rulebook\n", encoding="utf-8")
    assert [e.id for e in catalog.catalog(user=["odd"]) if e.user] == []  # a facts file, say: not a rulebook
    (ws / "afile").write_text("", encoding="utf-8")
    with pytest.raises(RulebookNotFound) as exc:
        catalog.catalog(user=["afile"])
    assert str(exc.value) == "afile: error[E740]: rulebooks folder is not a folder (--rulebooks, PINGJI_RULEBOOKS)"


def test_issue12_20_the_catalog_reads_each_file_once_per_state(ws: Path) -> None:
    catalog.catalog(user=["mine"])
    before = catalog._read.cache_info()
    for _ in range(3):
        catalog.select(pingji.read_facts("coop-a.yaml").data, user=["mine"])
    after = catalog._read.cache_info()
    assert after.misses == before.misses and after.hits > before.hits


def test_issue12_20_the_template_loads_and_rates(tmp_path: Path) -> None:
    schema = json.loads((TEMPLATES / "own-type.schema.json").read_text(encoding="utf-8"))
    assert schema["required"] == ["customer_type", "id", "as_of"]
    assert schema["properties"]["customer_type"] == {
        "title": "客户类型 / Customer type",
        "description": "Always 'cooperative': the type's name, which chooses the rulebook (applies_to.customer_type).",
        "const": "cooperative"}
    assert pingji.check(TEMPLATES / "own-type.yaml") == []  # its examples pass
    rb = pingji.load_rulebook(TEMPLATES / "own-type.yaml")
    assert (rb.id, rb.applies_to, Path(rb.facts_schema_path).name) == (
        "cooperative", {"customer_type": "cooperative"}, "own-type.schema.json")
    db = str(tmp_path / "t.db")
    r = cmd("rate", str(TEMPLATES / "own-type-customer.yaml"), "--rulebooks", str(TEMPLATES), "--db", db)
    assert r.exit_code == 0, r.output
    assert r.output.splitlines()[3:6] == ["total      59.00", "model      B", "grade      B, PD 5.00%"]


def test_issue12_20_an_expert_grade_on_an_own_master_scale_maps_by_the_stored_scale(ws: Path) -> None:
    text = (ws / "mine" / "coop.yaml").read_text(encoding="utf-8")
    scale = text[text.index("scale:"):]
    (ws / "mine" / "coop.yaml").write_text(text.replace(scale, """\
scale:
  grades:
    - {grade: K1, from: 70, pd: 0.01, coarse: A, title: {en: Good}}
    - {grade: K2, from: 40, pd: 0.05, coarse: B, title: {en: Fair}}
    - {grade: K3, pd: 0.2, coarse: C, title: {en: Poor}}
  coarse:
    - {grade: A, title: {en: Good}}
    - {grade: B, title: {en: Fair}}
    - {grade: C, title: {en: Poor}}
"""), encoding="utf-8")
    assert cmd("rate", "coop-a.yaml", "--rulebook", "mine/coop.yaml", "--db", "s.db").exit_code == 0
    r = cmd("override", "E000001", "--grade", "K3", "--reviewer", "zhang", "--approved-by", "wang",
            "--reason", "members left in bulk", "--db", "s.db")
    assert r.exit_code == 0, r.output
    r = cmd("price", "E000001", "--db", "s.db")  # was E501: 'coarse_grade' is a required property
    assert r.exit_code == 0, r.output
    assert r.output.splitlines()[1].startswith("grade        K3 (coarse C), expert override, rated ")
    assert r.output.splitlines()[2].startswith("decision     decline — decline-c (")
    r = cmd("portfolio", "--db", "s.db")  # was a column "K3" beside A/B/C
    assert r.exit_code == 0, r.output
    assert "| A Agriculture, forestry, animal husbandry and fishery | 1 | 1 | 1 |" in r.output.splitlines()
    assert "| Industry | C | Customers | Overridden |" in r.output.splitlines()


def test_issue12_20_commands_finding_rulebooks_by_id_take_yours_first(ws: Path) -> None:
    (ws / "ids").mkdir()
    shutil.copy(ROOT / "rulebooks" / "five-category.yaml", ws / "ids" / "five-category.yaml")
    loans = str(ROOT / "facts" / "loans" / "portfolio.yaml")
    r = cmd("classify", loans, env={catalog.ENV_VAR: "ids"})
    assert r.exit_code == 0, r.output
    assert r.output.splitlines()[0] == (f"classification of {loans} as of 2026-06-30 (rulebook five-category 2023.1, "
                                        f"ids/five-category.yaml)")
    r = cmd("check", "--no-examples", "--rulebooks", "mine")
    assert (r.exit_code, r.output.splitlines()[-1]) == (0, "16 rulebooks checked: 0 errors, 0 warnings")
