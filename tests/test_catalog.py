"""Choosing the built-in rulebook for a customer: the most specific one that applies."""

from __future__ import annotations

import pytest

from pingji.errors import RulebookNotFound
from pingji.rating import catalog


def corporate(section: str, division: str = "") -> dict:
    return {"customer_type": "corporate", "identity": {"industry": {"section": section, "division": division}}}


@pytest.mark.parametrize(("facts", "expected"), [
    pytest.param(corporate("C", "34"), "manufacturing", id="machinery-by-section"),
    pytest.param(corporate("F", "51"), "wholesale_retail", id="wholesale"),
    pytest.param(corporate("E", "47"), "construction", id="construction"),
    pytest.param(corporate("K", "70"), "real_estate", id="real-estate"),
    pytest.param(corporate("I", "65"), "it_services", id="it-by-section"),
    pytest.param(corporate("L", "72"), "it_services", id="business-services-by-division"),
    pytest.param(corporate("A", "01"), "agriculture", id="agriculture"),
    pytest.param(corporate("Q", "84"), "corporate", id="no-industry-book-falls-back-to-the-base"),
    pytest.param({"customer_type": "individual"}, "individual", id="individual"),
    pytest.param({"customer_type": "small_business"}, "small_business", id="small-business"),
])
def test_the_most_specific_rulebook_applies(facts, expected):
    assert catalog.select(facts).stem == expected


def test_no_rulebook_for_an_unknown_customer_type_names_what_was_looked_for():
    with pytest.raises(RulebookNotFound) as exc:
        catalog.select({"customer_type": "bank", "identity": {"industry": {"section": "J", "division": "66"}}})
    assert str(exc.value) == ("error[E700]: no rating rulebook applies to customer_type 'bank', industry J66; "
                              "name one with --rulebook")


def test_find_by_id_suggests_a_close_name():
    with pytest.raises(RulebookNotFound) as exc:
        catalog.find("manufactoring")
    assert str(exc.value) == ("error[E700]: no rulebook with id 'manufactoring' (did you mean 'manufacturing'?); "
                              "'pingji rulebooks' lists them")


def test_catalog_lists_every_built_in_rulebook_with_inherited_applies_to():
    entries = {e.id: e for e in catalog.catalog()}
    assert sorted(e for e in entries if entries[e].kind == "rating") == [
        "agriculture", "construction", "corporate", "individual", "it_services", "manufacturing", "real_estate",
        "small_business", "wholesale_retail"]
    assert {e.id: e.kind for e in entries.values() if e.kind != "rating"} == {
        "early-warning": "monitoring", "five-category": "classification", "pricing": "policy",
        "provision-adequacy": "provisioning", "provisions": "provisioning", "validation": "policy"}
    assert entries["manufacturing"].extends == "corporate"
    assert entries["manufacturing"].customer_type == "corporate"
    assert entries["manufacturing"].industries == ("C",)


# -- the built-in index (issue 11.4): a cache of each file's top-level keys, never the truth ---------------
def test_the_index_gives_the_same_catalog_as_parsing_every_file(tmp_path):
    from pingji.builtin import rulebooks_dir
    from pingji.rating import index

    assert set(index.read(rulebooks_dir())) == {p.name for p in rulebooks_dir().glob("*.yaml")}
    plain = tmp_path / "plain"
    plain.mkdir()
    for p in rulebooks_dir().glob("*.yaml"):
        (plain / p.name).write_bytes(p.read_bytes())
    with_index = [(e.id, e.path.name, e.title, e.customer_type, e.industries, e.kind, e.extends)
                  for e in catalog.catalog()]
    parsed = [(e.id, e.path.name, e.title, e.customer_type, e.industries, e.kind, e.extends)
              for e in catalog.catalog(plain)]
    assert with_index == parsed and len(parsed) == len(list(plain.glob("*.yaml")))


def test_a_file_changed_since_the_index_was_made_is_parsed_not_taken_from_the_index(tmp_path):
    import shutil

    from pingji.builtin import rulebooks_dir

    books = tmp_path / "books"
    shutil.copytree(rulebooks_dir(), books)
    text = (books / "agriculture.yaml").read_text(encoding="utf-8")
    changed = text.replace("applies_to: {customer_type: corporate, industry: [A]}",
                           "applies_to: {customer_type: corporate, industry: [A, B]}")
    assert changed != text
    (books / "agriculture.yaml").write_text(changed, encoding="utf-8")
    entry = {e.id: e for e in catalog.catalog(books)}["agriculture"]
    assert entry.industries == ("A", "B")
    assert catalog.select(corporate("B", "06"), books).stem == "agriculture"


def test_the_version_is_the_one_in_pyproject():
    import tomllib
    from pathlib import Path

    import pingji

    meta = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text(encoding="utf-8"))
    assert pingji.__version__ == meta["project"]["version"]
