"""The categorical scoring method: a factor scored by the value of a text or yes/no fact.

The rulebook below has one group: ownership (weight 60, a text fact with an `other` score),
listed (weight 40, a yes/no fact without `other`). Worked by hand: state + listed scores
80 * 0.6 + 100 * 0.4 = 88.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import pingji
from pingji.analysis.changes import compare
from pingji.errors import FactsError

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["id"],
    "properties": {
        "id": {"type": "string"},
        "profile": {
            "type": "object",
            "properties": {
                "ownership": {"type": ["string", "null"]},
                "listed": {"type": ["boolean", "null"]},
                "employees": {"type": ["integer", "null"]},
            },
        },
    },
}

BOOK = """\
rulebook: cats
kind: rating
facts: cats.schema.json
groups:
  profile: {weight: 100}
factors:
  ownership:
    group: profile
    weight: 60
    fact: profile.ownership
    categories: {state: 80, private: 60, foreign: 70}
    other: 40
    missing: 30
  listed:
    group: profile
    weight: 40
    fact: profile.listed
    categories: {"true": 100, "false": 50}
    missing: 0
scale:
  grades:
    - {grade: A, from: 75}
    - {grade: B, from: 55}
    - {grade: C}
"""


def write(folder: Path, book: str = BOOK, name: str = "cats.yaml") -> Path:
    (folder / "cats.schema.json").write_text(json.dumps(SCHEMA), encoding="utf-8")
    path = folder / name
    path.write_text(book, encoding="utf-8")
    return path


@pytest.fixture
def book(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> pingji.rating.model.Rulebook:  # type: ignore[name-defined]
    monkeypatch.chdir(tmp_path)
    return pingji.load_rulebook(write(tmp_path).name)


def facts(ownership: object = "state", listed: object = True) -> dict[str, object]:
    profile = {k: v for k, v in (("ownership", ownership), ("listed", listed)) if v is not ...}
    return {"id": "c1", "profile": profile}


@pytest.mark.parametrize(("value", "points"), [("state", 80), ("private", 60), ("foreign", 70)])
def test_each_category_scores_its_points(book, value, points):
    ev = pingji.evaluate(book, facts(value))
    fr = ev.factor("ownership")
    assert (fr.points, fr.basis, fr.input) == (points, f'profile.ownership = "{value}"', value)
    assert ev.total == points * 0.6 + 100 * 0.4


def test_a_boolean_fact_scores_true_and_false(book):
    assert pingji.evaluate(book, facts(listed=True)).factor("listed").points == 100
    ev = pingji.evaluate(book, facts(listed=False))
    assert (ev.factor("listed").points, ev.factor("listed").basis) == (50, "profile.listed = false")
    assert (ev.total, ev.final_grade) == (68, "B")


@pytest.mark.parametrize("absent", [None, ...], ids=["null", "absent"])
def test_a_missing_fact_scores_the_missing_points(book, absent):
    ev = pingji.evaluate(book, facts(ownership=absent, listed=absent))
    own, listed = ev.factor("ownership"), ev.factor("listed")
    assert (own.points, own.basis, own.rule) == (30, "missing input", "ownership.missing")
    assert (listed.points, listed.rule) == (0, "listed.missing")
    assert ev.to_dict()["factors"][0]["input"] == "missing"


def test_an_unlisted_value_scores_other_when_the_factor_has_it(book):
    ev = pingji.evaluate(book, facts("collective"))
    fr = ev.factor("ownership")
    assert (fr.points, fr.rule, fr.basis) == (40, "ownership.other", "profile.ownership: a value not listed")
    row = next(r for r in ev.trace if r["rule"] == "ownership.other")
    assert row["matched"] == {"fact": "profile.ownership", "value": "collective"}
    assert row["at"] == "cats.yaml:12"


def test_an_unlisted_value_without_other_is_a_located_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rb = pingji.load_rulebook(write(tmp_path, BOOK.replace("    other: 40\n", "")).name)
    with pytest.raises(FactsError) as exc:
        pingji.evaluate(rb, facts("collective"))
    assert str(exc.value) == (
        'cats.yaml:11:5: error[E504]: factor \'ownership\': profile.ownership is "collective", not one of its '
        'categories ("state", "private", "foreign"); list it or give the factor an \'other\' score')


def test_a_category_not_of_the_facts_type_is_a_located_check_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    bad = BOOK.replace("{state: 80, private: 60, foreign: 70}", "{state: 80, 1: 60, 2: 70}").replace(
        '{"true": 100, "false": 50}', '{"true": 100, "no": 50}')
    diags = [str(d) for d in pingji.check(write(tmp_path, bad).name)]
    assert diags == [
        ("cats.yaml:11:29: error[E126]: factor 'ownership': category 1 is not a string like fact "
         "'profile.ownership' (put it in quotes)"),
        ("cats.yaml:11:36: error[E126]: factor 'ownership': category 2 is not a string like fact "
         "'profile.ownership' (put it in quotes)"),
        ("cats.yaml:18:31: error[E126]: factor 'listed': category \"no\" is not a boolean like fact "
         "'profile.listed' (write \"true\": and \"false\":)"),
    ]


def test_an_unknown_or_numeric_fact_is_refused_with_its_location(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    bad = BOOK.replace("fact: profile.ownership", "fact: profile.ownershp").replace(
        "fact: profile.listed", "fact: profile.employees")
    diags = [str(d) for d in pingji.check(write(tmp_path, bad).name)]
    assert diags == [
        ("cats.yaml:10:5: error[E102]: factor 'ownership': unknown fact 'profile.ownershp' "
         "(did you mean 'profile.ownership'?)"),
        ("cats.yaml:17:5: error[E127]: factor 'listed': fact 'profile.employees' is a number; categories score "
         "one text or yes/no fact (score numbers with a metric and bands)"),
    ]


def test_the_trace_names_the_category_rule_and_its_rulebook_line(book):
    ev = pingji.evaluate(book, facts("foreign", False))
    rows = {r["rule"]: r for r in ev.trace}
    assert rows["ownership.category3"] == {
        "seq": rows["ownership.category3"]["seq"], "rule": "ownership.category3", "kind": "category",
        "at": "cats.yaml:11", "matched": {"fact": "profile.ownership", "value": "foreign"},
        "asserted": {"factor": "ownership", "points": 70}, "note": 'profile.ownership = "foreign"'}
    assert rows["listed.category2"]["at"] == "cats.yaml:18"
    record = ev.to_dict()["factors"]
    assert [(f["id"], f["kind"], f["fact"], f["at"]) for f in record] == [
        ("ownership", "categorical", "profile.ownership", "cats.yaml:11"),
        ("listed", "categorical", "profile.listed", "cats.yaml:18")]


def test_diff_names_changed_added_and_removed_categories(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    old = pingji.load_rulebook(write(tmp_path).name)
    new = pingji.load_rulebook(write(tmp_path, BOOK.replace("private: 60, foreign: 70}", "private: 65, mixed: 50}")
                                      .replace("other: 40", "other: 45"), "new.yaml").name)
    assert [c.text() for c in compare(old, new) if c.section == "factor"] == [
        "~ factor ownership: other score 40 -> 45 (cats.yaml:12 -> new.yaml:12)",
        '- factor ownership category "foreign": removed: points 70 (cats.yaml:11 -> -)',
        '+ factor ownership category "mixed": added: points 50 (- -> new.yaml:11)',
        '~ factor ownership: category "private" points 60 -> 65 (cats.yaml:11 -> new.yaml:11)',
    ]
