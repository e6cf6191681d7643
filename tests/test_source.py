"""pingji.lang.source: safe, located YAML loading and the refusals E001-E006."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from pingji.diagnostics import Location
from pingji.errors import RulebookSyntaxError
from pingji.lang import source
from pingji.lang.source import MAX_BYTES, Document, load_yaml, load_yaml_text


class _PyLoader(yaml.SafeLoader):
    """The pure-Python parser, to check that both parsers give the same answers."""


@pytest.fixture(params=["libyaml", "python"])
def parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "libyaml":
        if not hasattr(yaml, "CSafeLoader"):
            pytest.skip("PyYAML built without libyaml")
    else:
        monkeypatch.setattr(source, "_LOADER", _PyLoader)
    return str(request.param)


def refused(text: str | bytes, name: str = "book.yaml", **kw: Any) -> str:
    with pytest.raises(RulebookSyntaxError) as info:
        load_yaml_text(text, name, **kw)
    assert len(info.value.diagnostics) == 1
    return str(info.value)


def refused_file(path: Path, **kw: Any) -> RulebookSyntaxError:
    with pytest.raises(RulebookSyntaxError) as info:
        load_yaml(path, **kw)
    return info.value


# --- refusals ------------------------------------------------------------------------------


def test_duplicate_key(parser: str) -> None:
    text = "name: a\nother: 1\nname: b\n"
    assert refused(text) == "book.yaml:3:1: error[E004]: duplicate key 'name' (first defined at line 1)"


def test_duplicate_key_nested_and_in_flow(parser: str) -> None:
    text = "groups:\n  a: {weight: 1, title: x, weight: 2}\n"
    assert refused(text) == "book.yaml:2:28: error[E004]: duplicate key 'weight' (first defined at line 2)"


def test_duplicate_int_key(parser: str) -> None:
    assert refused("levels: {5: 100, 0x5: 80}\n") == (
        "book.yaml:1:18: error[E004]: duplicate key '5' (first defined at line 1)"
    )


def test_tab_indentation(parser: str) -> None:
    assert refused("rulebook: x\nmetrics:\n\ta: 1\n") == (
        "book.yaml:3:1: error[E003]: tab character used for indentation; use spaces"
    )


def test_tab_after_spaces_in_indentation(parser: str) -> None:
    assert refused("a:\n  - 1\n  \t- 2\n") == (
        "book.yaml:3:3: error[E003]: tab character used for indentation; use spaces"
    )


def test_other_syntax_error_is_located(parser: str) -> None:
    msg = refused("a: 1\nb: c: d\n")
    assert msg.startswith("book.yaml:2:5: error[E003]: invalid YAML: mapping values are not allowed")


def test_undefined_alias(parser: str) -> None:
    assert refused("a: *nowhere\n") == (
        "book.yaml:1:4: error[E003]: invalid YAML: found undefined alias 'nowhere'"
    )


def test_control_character(parser: str) -> None:
    assert refused("a: 1\nb: x\x07\n") == (
        "book.yaml:2:5: error[E003]: invalid YAML: unacceptable character #x0007: "
        "special characters are not allowed"
    )


def test_billion_laughs_is_refused_quickly(parser: str) -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, cur in zip("abcdefgh", "bcdefghi"):
        lines.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 10) + "]")
    started = time.perf_counter()
    msg = refused("\n".join(lines) + "\n")
    assert time.perf_counter() - started < 1.0
    # a..d expand to 11, 111, 1111, 11111 nodes; e is the first over 100,000
    assert msg == "book.yaml:5:4: error[E005]: alias expansion too large (more than 100000 nodes)"


def test_alias_bomb_through_merge_keys(parser: str) -> None:
    lines = ["a0: &a0 {k0: 1, k1: 1, k2: 1, k3: 1, k4: 1, k5: 1, k6: 1, k7: 1, k8: 1, k9: 1}"]
    for i in range(1, 8):
        refs = ", ".join(f"x{j}: *a{i - 1}" for j in range(10))
        lines.append(f"a{i}: &a{i} {{{refs}}}")
    msg = refused("\n".join(lines) + "\n")
    assert "error[E005]: alias expansion too large (more than 100000 nodes)" in msg


def test_large_anchor_used_twice() -> None:
    big = "[" + ",".join(["0"] * 60_000) + "]"
    assert refused(f"a: &a {big}\nb: [*a, *a]\n") == (
        "book.yaml:2:4: error[E005]: alias expansion too large (more than 100000 nodes)"
    )


def test_large_document_without_aliases_loads() -> None:
    # only what aliases add counts towards the expansion limit; the values themselves are limited to
    # 100,000 (issue 12.8): the root mapping, its key, the list and 99,997 items just fit
    doc = load_yaml_text("a: [" + ",".join(["1"] * 99_997) + "]\n", "book.yaml")
    assert len(doc.data["a"]) == 99_997


def test_too_many_aliases(parser: str) -> None:
    text = "base: &b 1\nitems: [" + ", ".join(["*b"] * 101) + "]\n"
    # the 101st alias: "items: [" is 8 characters, each "*b, " 4 more
    assert refused(text) == (
        f"book.yaml:2:{9 + 4 * 100}: error[E005]: too many aliases (101); the limit is 100"
    )


def test_one_hundred_aliases_are_fine(parser: str) -> None:
    text = "base: &b 1\nitems: [" + ", ".join(["*b"] * 100) + "]\n"
    assert load_yaml_text(text, "book.yaml").data["items"] == [1] * 100


def test_recursive_alias(parser: str) -> None:
    assert refused("a: &x [1, *x]\n") == (
        "book.yaml:1:11: error[E005]: recursive alias '*x' (it refers to a node that contains it)"
    )


def test_deep_nesting_is_refused_without_recursion_error(parser: str) -> None:
    text = "[" * 10_000 + "]" * 10_000
    assert refused(text, expect_mapping=False) == (
        "book.yaml:1:201: error[E005]: nesting deeper than 200 levels"
    )


def test_deep_block_nesting(parser: str) -> None:
    text = "".join("  " * i + f"k{i}:\n" for i in range(250))
    assert refused(text) == "book.yaml:201:401: error[E005]: nesting deeper than 200 levels"


def test_nesting_limit_is_inclusive(parser: str) -> None:
    doc = load_yaml_text("[" * 200 + "]" * 200, "book.yaml", expect_mapping=False)
    depth, value = 0, doc.data
    while isinstance(value, list):
        depth += 1
        value = value[0] if value else None
    assert depth == 200


def test_nesting_through_aliases_is_counted(parser: str) -> None:
    deep = "[" * 150 + "1" + "]" * 150
    text = f"a: &a {deep}\nb: {'[' * 60}*a{']' * 60}\n"
    # located at the first collection that, with *a expanded, nests more than 200 deep: the 10th '['
    assert refused(text) == "book.yaml:2:13: error[E005]: nesting deeper than 200 levels"


def test_python_tag(parser: str) -> None:
    text = "rulebook: x\ncmd: !!python/object:os.system {}\n"
    assert refused(text) == "book.yaml:2:6: error[E006]: unsupported YAML tag '!!python/object:os.system'"


def test_python_apply_tag(parser: str) -> None:
    text = 'x: !!python/object/apply:os.system ["echo pwned"]\n'
    assert refused(text) == (
        "book.yaml:1:4: error[E006]: unsupported YAML tag '!!python/object/apply:os.system'"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x: !custom 1\n", "book.yaml:1:4: error[E006]: unsupported YAML tag '!custom'"),
        ("x: !!binary aGVsbG8=\n", "book.yaml:1:4: error[E006]: unsupported YAML tag '!!binary'"),
        ("x: !!set {a: null}\n", "book.yaml:1:4: error[E006]: unsupported YAML tag '!!set'"),
        ("x: !!omap [{a: 1}]\n", "book.yaml:1:4: error[E006]: unsupported YAML tag '!!omap'"),
        ("x: !!str {a: 1}\n", "book.yaml:1:4: error[E006]: YAML tag '!!str' cannot be used on a mapping"),
        ("x: !!int abc\n", "book.yaml:1:4: error[E003]: invalid YAML: 'abc' is not a valid !!int"),
        (  # beyond Python's int digit limit; the message shortens the text
            "x: " + "1" * 5000 + "\n",
            "book.yaml:1:4: error[E003]: invalid YAML: '" + "1" * 37 + "...' is not a valid !!int",
        ),
    ],
)
def test_other_tags(parser: str, text: str, message: str) -> None:
    assert refused(text) == message


@pytest.mark.parametrize(
    ("text", "where"),
    [("1.5: x\n", "1:1"), ("true: x\n", "1:1"), ("~: x\n", "1:1"), ("a: 1\n? [1, 2]\n: x\n", "2:3")],
)
def test_keys_must_be_strings_or_integers(parser: str, text: str, where: str) -> None:
    assert refused(text) == f"book.yaml:{where}: error[E006]: mapping keys must be strings or integers"


def test_bad_merge_value(parser: str) -> None:
    assert refused("a:\n  <<: 3\n") == (
        "book.yaml:2:7: error[E003]: invalid YAML: a merge key '<<' needs a mapping or a list of mappings"
    )


def test_top_level_list(parser: str) -> None:
    assert refused("- a\n- b\n") == (
        "book.yaml:1:1: error[E006]: expected a mapping at the top level, found a sequence"
    )


def test_top_level_scalar(parser: str) -> None:
    assert refused("just text\n") == (
        "book.yaml:1:1: error[E006]: expected a mapping at the top level, found a scalar"
    )


@pytest.mark.parametrize("text", ["", "# only a comment\n\n", "---\n", "--- # nothing\n...\n"])
def test_empty_document(parser: str, text: str) -> None:
    assert refused(text) == (
        "book.yaml:1:1: error[E006]: expected a mapping at the top level, found an empty document"
    )


def test_empty_file(tmp_path: Path, parser: str) -> None:
    path = tmp_path / "empty.yaml"
    path.write_bytes(b"")
    err = refused_file(path, display_name="empty.yaml")
    assert str(err) == (
        "empty.yaml:1:1: error[E006]: expected a mapping at the top level, found an empty document"
    )


def test_non_mapping_allowed_when_not_expected(parser: str) -> None:
    assert load_yaml_text("- 1\n- 2\n", "x.yaml", expect_mapping=False).data == [1, 2]
    assert load_yaml_text("", "x.yaml", expect_mapping=False).data is None


def test_multi_document(parser: str) -> None:
    assert refused("a: 1\n---\nb: 2\n") == (
        "book.yaml:2:1: error[E006]: expected one YAML document, found more"
    )


def test_non_utf8_file(tmp_path: Path, parser: str) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("rulebook: x\ntitle: caf\u00e9\n".encode("latin-1"))
    err = refused_file(path, display_name="latin1.yaml")
    assert str(err) == "latin1.yaml:2:11: error[E001]: file is not valid UTF-8 (byte 0xe9 at offset 22)"
    assert err.code == "E001"
    assert err.diagnostics[0].location == Location("latin1.yaml", 2, 11)


def test_non_utf8_after_multibyte_characters(parser: str) -> None:
    text = "title: 制造\nx: \xff\n".encode("utf-8").replace(b"\xc3\xbf", b"\xff")
    # column counts characters, offset counts bytes
    assert refused(text) == "book.yaml:2:4: error[E001]: file is not valid UTF-8 (byte 0xff at offset 17)"


def test_oversized_file(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"a: " + b"x" * (MAX_BYTES - 3) + b"\n")
    err = refused_file(path, display_name="big.yaml")
    assert str(err) == "big.yaml: error[E002]: file is 2000001 bytes; the limit is 2000000 bytes"


def test_oversized_file_with_own_limit(tmp_path: Path) -> None:
    path = tmp_path / "b.yaml"
    path.write_text("a: 12345\n")
    assert str(refused_file(path, display_name="b.yaml", max_bytes=8)) == (
        "b.yaml: error[E002]: file is 9 bytes; the limit is 8 bytes"
    )
    assert load_yaml(path, max_bytes=9).data == {"a": 12345}


def test_oversized_text_counts_utf8_bytes() -> None:
    assert refused("a: 中\n", max_bytes=6) == "book.yaml: error[E002]: file is 7 bytes; the limit is 6 bytes"


def test_missing_file(tmp_path: Path) -> None:
    err = refused_file(tmp_path / "nope.yaml", display_name="nope.yaml")
    assert str(err) == "nope.yaml: error[E001]: cannot read file: No such file or directory"


def test_missing_file_default_name(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    err = refused_file(path)
    assert str(err) == f"{path}: error[E001]: cannot read file: No such file or directory"


def test_directory_is_not_readable(tmp_path: Path) -> None:
    err = refused_file(tmp_path, display_name="dir")
    assert str(err) == "dir: error[E001]: cannot read file: Is a directory"


# --- values and locations ------------------------------------------------------------------

NESTED = """\
# a rulebook
rulebook: demo
groups:
  solvency: {title: Solvency, weight: 40}
factors:
  current_ratio:
    bands:
      - {from: 1.8, points: 100}
      - to: 1.0
        points: 0
"""


def test_marks_and_key_marks(parser: str) -> None:
    doc = load_yaml_text(NESTED, "demo.yaml")
    assert doc.data == {
        "rulebook": "demo",
        "groups": {"solvency": {"title": "Solvency", "weight": 40}},
        "factors": {"current_ratio": {"bands": [{"from": 1.8, "points": 100}, {"to": 1.0, "points": 0}]}},
    }

    def at(line: int, col: int) -> Location:
        return Location("demo.yaml", line, col)

    assert doc.loc(("rulebook",)) == at(2, 11)
    assert doc.key_loc(("rulebook",)) == at(2, 1)
    assert doc.loc(("groups", "solvency")) == at(4, 13)
    assert doc.key_loc(("groups", "solvency")) == at(4, 3)
    assert doc.loc(("groups", "solvency", "weight")) == at(4, 39)
    assert doc.key_loc(("groups", "solvency", "weight")) == at(4, 31)
    assert doc.loc(("factors", "current_ratio", "bands")) == at(8, 7)
    assert doc.loc(("factors", "current_ratio", "bands", 0)) == at(8, 9)
    assert doc.loc(("factors", "current_ratio", "bands", 0, "points")) == at(8, 29)
    assert doc.loc(("factors", "current_ratio", "bands", 1)) == at(9, 9)
    assert doc.loc(("factors", "current_ratio", "bands", 1, "points")) == at(10, 17)
    assert doc.key_loc(("factors", "current_ratio", "bands", 1, "points")) == at(10, 9)
    # the same answers straight from the mappings
    assert doc.marks[("factors", "current_ratio", "bands", 1, "to")] == at(9, 13)
    assert doc.key_marks[("factors", "current_ratio", "bands", 1, "to")] == at(9, 9)
    # list items have no key location: key_loc falls back to the value
    assert ("factors", "current_ratio", "bands", 0) not in doc.key_marks
    assert doc.key_loc(("factors", "current_ratio", "bands", 0)) == at(8, 9)


def test_loc_falls_back_to_nearest_ancestor_and_document_start(parser: str) -> None:
    doc = load_yaml_text(NESTED, "demo.yaml")
    assert doc.loc(("groups", "solvency", "missing", 3)) == Location("demo.yaml", 4, 13)
    assert doc.loc(["groups", "solvency"]) == Location("demo.yaml", 4, 13)  # any sequence will do
    assert doc.loc(()) == Location("demo.yaml", 1, 1)
    assert doc.loc(("nothing",)) == Location("demo.yaml", 1, 1)
    assert doc.key_loc(("nothing", "deeper")) == Location("demo.yaml", 1, 1)


def test_columns_count_characters(parser: str) -> None:
    doc = load_yaml_text("title: {zh: 制造业, en: x}\n", "t.yaml")
    assert doc.loc(("title", "en")) == Location("t.yaml", 1, 22)


MERGES = """\
defaults: &defaults
  method: step
  missing: 0
  direction: increasing
extra: &extra {missing: 5, undefined: 1}
factors:
  a:
    <<: *defaults
    missing: 30
  b:
    <<: [*extra, *defaults]
    weight: 10
"""


def test_merge_keys(parser: str) -> None:
    doc = load_yaml_text(MERGES, "m.yaml")
    a = doc.data["factors"]["a"]
    b = doc.data["factors"]["b"]
    assert a == {"method": "step", "missing": 30, "direction": "increasing"}
    assert list(a) == ["method", "missing", "direction"]  # merged keys first, explicit keys win
    assert b == {"method": "step", "missing": 5, "direction": "increasing", "undefined": 1, "weight": 10}
    assert "<<" not in a and "<<" not in b
    # explicit entries are located where written, merged ones where the anchor defined them
    assert doc.loc(("factors", "a", "missing")) == Location("m.yaml", 9, 14)
    assert doc.loc(("factors", "a", "method")) == Location("m.yaml", 2, 11)
    assert doc.key_loc(("factors", "a", "method")) == Location("m.yaml", 2, 3)
    assert doc.loc(("factors", "b", "missing")) == Location("m.yaml", 5, 25)
    # each use of an alias is a separate copy
    a["method"] = "interpolate"
    assert doc.data["defaults"]["method"] == "step"
    assert doc.data["factors"]["b"]["method"] == "step"


def test_alias_value_is_located_where_used(parser: str) -> None:
    doc = load_yaml_text("base: &b [1, 2]\ncopy: *b\n", "a.yaml")
    assert doc.data == {"base": [1, 2], "copy": [1, 2]}
    assert doc.data["copy"] is not doc.data["base"]
    assert doc.loc(("copy",)) == Location("a.yaml", 2, 7)
    assert doc.loc(("copy", 1)) == Location("a.yaml", 1, 14)


def test_timestamps_stay_strings(parser: str) -> None:
    doc = load_yaml_text("effective: 2026-01-01\nat: 2026-01-01 10:30:00\nversion: '2026.1'\n", "t.yaml")
    assert doc.data == {"effective": "2026-01-01", "at": "2026-01-01 10:30:00", "version": "2026.1"}
    assert load_yaml_text("d: !!timestamp 2001-12-14\n", "t.yaml").data == {"d": "2001-12-14"}


def test_int_keys_stay_ints(parser: str) -> None:
    doc = load_yaml_text("levels: {5: 100, 4: 80, 3: 55}\nnamed: {'5': x}\n", "t.yaml")
    assert doc.data["levels"] == {5: 100, 4: 80, 3: 55}
    assert list(doc.data["levels"]) == [5, 4, 3]
    assert doc.data["named"] == {"5": "x"}
    assert doc.key_loc(("levels", 4)) == Location("t.yaml", 1, 18)
    assert doc.loc(("levels", 4)) == Location("t.yaml", 1, 21)


def test_scalars_resolve_like_yaml_1_1(parser: str) -> None:
    text = (
        "i: 12\nneg: -3\nhex: 0x1F\nunder: 1_000\nf: 0.25\nexp: 1.5e3\ninf: .inf\nninf: -.Inf\nnan: .nan\n"
        "t: true\ny: yes\nsw: off\nn: null\ntilde: ~\nblank:\ns: hello\nq: '12'\nforced: !!str 12\n"
        "forced_int: !!int '7'\nforced_float: !!float '2'\n"
    )
    d = load_yaml_text(text, "t.yaml").data
    assert d["i"] == 12 and type(d["i"]) is int
    assert (d["neg"], d["hex"], d["under"]) == (-3, 31, 1000)
    assert d["f"] == 0.25 and d["exp"] == 1500.0
    assert d["inf"] == math.inf and d["ninf"] == -math.inf and math.isnan(d["nan"])
    assert (d["t"], d["y"], d["sw"]) == (True, True, False)
    assert d["n"] is None and d["tilde"] is None and d["blank"] is None
    assert (d["s"], d["q"], d["forced"]) == ("hello", "12", "12")
    assert d["forced_int"] == 7 and d["forced_float"] == 2.0 and type(d["forced_float"]) is float


def test_json_loads(parser: str) -> None:
    text = (
        '{\n  "rulebook": "demo",\n  "levels": [1, 2.5, true, null, "x"],\n'
        '  "nested": {"a": {"b": []}}\n}\n'
    )
    doc = load_yaml_text(text, "demo.json")
    assert doc.data == {"rulebook": "demo", "levels": [1, 2.5, True, None, "x"], "nested": {"a": {"b": []}}}
    assert doc.loc(("levels", 1)) == Location("demo.json", 3, 17)
    assert doc.key_loc(("nested", "a")) == Location("demo.json", 4, 14)


def test_json_file_with_unicode_escapes(tmp_path: Path, parser: str) -> None:
    path = tmp_path / "f.json"
    path.write_text('{"name": "\\u5236\\u9020", "n": -1e2}', encoding="utf-8")
    doc = load_yaml(path, display_name="f.json")
    assert doc.data == {"name": "制造", "n": -100.0}
    assert doc.file == "f.json"


def test_bom_is_skipped(tmp_path: Path, parser: str) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbfa: 1\nb: 2\n")
    doc = load_yaml(path, display_name="bom.yaml")
    assert doc.data == {"a": 1, "b": 2}
    assert doc.key_loc(("a",)) == Location("bom.yaml", 1, 1)
    assert load_yaml_text("\ufeffa: 1\n", "s.yaml").data == {"a": 1}


def test_load_yaml_names_file_as_given(tmp_path: Path, parser: str) -> None:
    path = tmp_path / "book.yaml"
    path.write_text("a: 1\n", encoding="utf-8")
    doc = load_yaml(path)
    assert isinstance(doc, Document)
    assert doc.file == str(path)
    assert doc.loc(("a",)) == Location(str(path), 1, 4)
    assert load_yaml(str(path), display_name="x/book.yaml").loc(("a",)) == Location("x/book.yaml", 1, 4)


def test_reasonable_document_loads_fast() -> None:
    items = "\n".join(f"  f{i}: {{group: g, weight: {i}, bands: [{{from: 1, points: 100}}, {{points: 0}}]}}"
                      for i in range(2000))
    started = time.perf_counter()
    doc = load_yaml_text("factors:\n" + items + "\n", "big.yaml")
    assert time.perf_counter() - started < 5.0
    assert len(doc.data["factors"]) == 2000
    assert doc.loc(("factors", "f1999", "bands", 1, "points")) == Location("big.yaml", 2001, 76)


def test_issue12_malformed_json_is_called_json_not_yaml(tmp_path):
    from pingji.errors import RulebookSyntaxError
    from pingji.lang.source import load_yaml

    p = tmp_path / "bad.json"
    p.write_text('{"id": "x", "customer_type": ', encoding="utf-8")
    with pytest.raises(RulebookSyntaxError) as exc:
        load_yaml(p, display_name="bad.json")
    assert str(exc.value) == "bad.json:2:1: error[E003]: invalid JSON: did not find expected node content"
