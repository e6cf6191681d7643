"""Issue 12, item 7: what `extends:` and `facts:` may name.

A rulebook reads files in its own folder tree (its folder, the subfolders, and `../facts`) or the
built-in catalog; absolute paths and escapes are refused (E182), a file of another kind is refused
without its contents shown (E183), a facts schema `$ref` outside the schema is refused and never
fetched (E184), and a schema file has the size limit of a rulebook (E002).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

import pingji
from pingji.cli.main import cli
from pingji.lang.factschema import FactsValidator
from pingji.lang.source import MAX_BYTES

BOOKS = Path(__file__).parent / "data" / "books"
MINI = (BOOKS / "mini.yaml").read_text(encoding="utf-8")
SCHEMA = json.loads((BOOKS / "mini.schema.json").read_text(encoding="utf-8"))

OUTSIDE = ("(a rulebook names files in its own folder, its subfolders or ../facts by a relative path, "
           "or a built-in by its id)")
NOT_A_SCHEMA = '(a facts schema is a .json file holding a JSON Schema whose top level has "type": "object")'
NOT_A_RULEBOOK = "(extends names a rating rulebook: a YAML file with a 'rulebook:' key and kind rating)"


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A workspace: `book/` holds the rulebooks under test; files are shown relative to it."""
    (tmp_path / "book").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write_book(ws: Path, facts: str, extra: str = "", name: str = "b.yaml") -> Path:
    """mini.yaml as book/<name>, its `facts:` (line 6, value at column 8) replaced; `extra` goes on line 7."""
    text = MINI.replace("facts: mini.schema.json\n", f"facts: {facts}\n{extra}")
    path = ws / "book" / name
    path.write_text(text, encoding="utf-8")
    return path


def child(ws: Path, extends: str, facts: str = "mini.schema.json") -> Path:
    """A rulebook that extends `extends` and changes nothing (extends on line 3, value at column 10)."""
    path = ws / "book" / "child.yaml"
    path.write_text(f"rulebook: child\nkind: rating\nextends: {extends}\nfacts: {facts}\n", encoding="utf-8")
    return path


def messages(path: Path) -> list[str]:
    return [str(d) for d in pingji.check(path)]


# --- E182: absolute paths and escapes ---------------------------------------------------------------


def test_issue12_7_an_absolute_facts_path_is_refused(ws):
    target = str(BOOKS / "mini.schema.json")  # exists, and is a good schema: refused for the path alone
    assert messages(write_book(ws, target)) == [
        f"book/b.yaml:6:8: error[E182]: facts '{target}': an absolute path is not allowed {OUTSIDE}"]


def test_issue12_7_an_absolute_extends_path_is_refused(ws):
    target = str(BOOKS / "mini.yaml")
    shutil.copy(BOOKS / "mini.schema.json", ws / "book")
    assert messages(child(ws, target)) == [
        f"book/child.yaml:3:10: error[E182]: extends '{target}': an absolute path is not allowed {OUTSIDE}"]


@pytest.mark.parametrize("value", [
    pytest.param("../../etc/passwd.schema.json", id="missing"),  # whether it exists is not said
    pytest.param("../outside/mini.schema.json", id="exists"),
    pytest.param("schemas/../../outside/mini.schema.json", id="down-then-out"),
])
def test_issue12_7_a_facts_path_escaping_the_folder_is_refused(ws, value):
    (ws / "outside").mkdir()
    shutil.copy(BOOKS / "mini.schema.json", ws / "outside")
    (ws / "book" / "schemas").mkdir()
    assert messages(write_book(ws, value)) == [
        f"book/b.yaml:6:8: error[E182]: facts '{value}': the path leads outside the rulebook's folder {OUTSIDE}"]


def test_issue12_7_an_extends_path_escaping_the_folder_is_refused(ws):
    (ws / "outside").mkdir()
    (ws / "outside" / "base.yaml").write_text(MINI, encoding="utf-8")
    shutil.copy(BOOKS / "mini.schema.json", ws / "book")
    assert messages(child(ws, "../outside/base.yaml")) == [
        (f"book/child.yaml:3:10: error[E182]: extends '../outside/base.yaml': the path leads outside the rulebook's "
        f"folder {OUTSIDE}")]


def test_issue12_7_a_symlink_out_of_the_folder_is_refused(ws):
    (ws / "outside").mkdir()
    shutil.copy(BOOKS / "mini.schema.json", ws / "outside")
    os.symlink(ws / "outside" / "mini.schema.json", ws / "book" / "link.schema.json")
    os.symlink(ws / "outside", ws / "book" / "shared")
    assert messages(write_book(ws, "link.schema.json")) == [
        (f"book/b.yaml:6:8: error[E182]: facts 'link.schema.json': the path leads outside the rulebook's folder "
        f"{OUTSIDE}")]
    assert messages(write_book(ws, "shared/mini.schema.json")) == [
        (f"book/b.yaml:6:8: error[E182]: facts 'shared/mini.schema.json': the path leads outside the rulebook's "
        f"folder {OUTSIDE}")]
    # an id found next to the rulebook that links out is refused too, not passed over for a built-in
    os.symlink(ws / "outside" / "mini.schema.json", ws / "book" / "corporate.schema.json")
    assert messages(write_book(ws, "corporate")) == [
        (f"book/b.yaml:6:8: error[E182]: facts 'corporate': corporate.schema.json links outside the rulebook's "
        f"folder {OUTSIDE}")]


def test_issue12_7_the_parent_of_an_extends_chain_reads_inside_the_loaded_rulebooks_tree(ws):
    # book/sub/base.yaml may reach book/mini.schema.json (inside the tree of book/child.yaml), not beyond
    (ws / "book" / "sub").mkdir()
    shutil.copy(BOOKS / "mini.schema.json", ws / "book")
    (ws / "book" / "sub" / "base.yaml").write_text(MINI.replace("facts: mini.schema.json",
                                                                "facts: ../mini.schema.json"), encoding="utf-8")
    assert messages(child(ws, "sub/base.yaml")) == []
    (ws / "book" / "sub" / "base.yaml").write_text(MINI.replace("facts: mini.schema.json",
                                                                "facts: ../../x.schema.json"), encoding="utf-8")
    path = ws / "book" / "child.yaml"
    path.write_text("rulebook: child\nkind: rating\nextends: sub/base.yaml\n", encoding="utf-8")
    assert messages(path) == [
        (f"book/sub/base.yaml:6:8: error[E182]: facts '../../x.schema.json': the path leads outside the rulebook's "
        f"folder {OUTSIDE}")]


def test_issue12_7_the_cli_refuses_an_escape_with_exit_1(ws):
    write_book(ws, "../../x.schema.json")
    r = CliRunner().invoke(cli, ["check", "book/b.yaml"])
    assert r.exit_code == 1
    assert r.output == (f"book/b.yaml:6:8: error[E182]: facts '../../x.schema.json': the path leads outside the "
                        f"rulebook's folder {OUTSIDE}\n1 rulebook checked: 1 error, 0 warnings\n")


def test_issue12_7_example_fact_files_stay_inside_the_folder_too(ws):
    (ws / "outside").mkdir()
    (ws / "outside" / "c.yaml").write_text("secret_key: 1\n", encoding="utf-8")
    shutil.copy(BOOKS / "mini.schema.json", ws / "book")
    examples = ("examples:\n  - name: a\n    facts: ../outside/c.yaml\n    expect: {grade: A}\n"
                "  - name: b\n    facts: /etc/hostname\n    expect: {grade: A}\n")
    path = write_book(ws, "mini.schema.json")
    path.write_text(path.read_text(encoding="utf-8") + examples, encoding="utf-8")
    got = messages(path)
    assert got == [
        (f"book/b.yaml:92:5: error[E182]: example 'a': facts '../outside/c.yaml': the path leads outside the "
        f"rulebook's folder {OUTSIDE}"),
        (f"book/b.yaml:95:5: error[E182]: example 'b': facts '/etc/hostname': an absolute path is not allowed "
        f"{OUTSIDE}")]
    assert "secret_key" not in "".join(got)


# --- what stays allowed ------------------------------------------------------------------------------


def test_issue12_7_subfolders_and_the_facts_folder_beside_are_accepted(ws):
    (ws / "book" / "schemas").mkdir()
    shutil.copy(BOOKS / "mini.schema.json", ws / "book" / "schemas")
    assert messages(write_book(ws, "schemas/mini.schema.json")) == []
    assert messages(write_book(ws, "./schemas/../schemas/mini.schema.json")) == []
    (ws / "facts").mkdir()  # the repository's layout: rulebooks/ and facts/ side by side
    shutil.copy(BOOKS / "mini.schema.json", ws / "facts")
    assert messages(write_book(ws, "../facts/mini.schema.json")) == []
    assert messages(write_book(ws, "mini")) == []  # an id, found in ../facts
    (ws / "book" / "parents").mkdir()
    (ws / "book" / "parents" / "base.yaml").write_text(MINI, encoding="utf-8")
    shutil.copy(BOOKS / "mini.schema.json", ws / "book" / "parents")
    assert messages(child(ws, "parents/base.yaml", "schemas/mini.schema.json")) == []
    book = pingji.load_rulebook(ws / "book" / "child.yaml")
    assert [f.id for f in book.factors] == [f.id for f in pingji.load_rulebook(BOOKS / "mini.yaml").factors]


def test_issue12_7_a_symlink_inside_the_folder_is_accepted(ws):
    (ws / "book" / "schemas").mkdir()
    shutil.copy(BOOKS / "mini.schema.json", ws / "book" / "schemas")
    os.symlink(ws / "book" / "schemas" / "mini.schema.json", ws / "book" / "mini.schema.json")
    assert messages(write_book(ws, "mini.schema.json")) == []


def test_issue12_7_built_ins_are_named_by_id_from_anywhere(ws):
    path = ws / "book" / "mine.yaml"
    path.write_text("rulebook: mine\nkind: rating\nextends: corporate\nfacts: corporate\n", encoding="utf-8")
    assert messages(path) == []
    assert pingji.load_rulebook(path).id == "mine"
    pricing = ws / "book" / "pricing.yaml"
    pricing.write_text((Path(pingji.builtin.rulebooks_dir()) / "pricing.yaml").read_text(encoding="utf-8")
                       .split("\nexamples:")[0] + "\n", encoding="utf-8")
    assert pingji.load_decision(pricing).facts_schema_path.endswith("offer.schema.json")


# --- E183: a file of another kind --------------------------------------------------------------------


def test_issue12_7_extends_naming_a_file_that_is_not_a_rulebook_shows_none_of_its_keys(ws):
    (ws / "book" / "settings.yaml").write_text("db_password: hunter2\napi_token: abc123\n", encoding="utf-8")
    shutil.copy(BOOKS / "mini.schema.json", ws / "book")
    got = messages(child(ws, "settings.yaml"))
    assert got == [(f"book/child.yaml:3:10: error[E183]: extends 'settings.yaml': book/settings.yaml is not a rating "
                   f"rulebook {NOT_A_RULEBOOK}")]
    assert not any(word in got[0] for word in ("db_password", "hunter2", "api_token", "abc123"))
    shutil.copy(BOOKS / "mini.schema.json", ws / "book" / "x.schema.json")
    assert messages(child(ws, "./x.schema.json")) == [
        (f"book/child.yaml:3:10: error[E183]: extends './x.schema.json': book/x.schema.json is not a rating "
        f"rulebook {NOT_A_RULEBOOK}")]


def test_issue12_7_extends_naming_a_decision_rulebook_says_its_kind(ws):
    shutil.copy(Path(pingji.builtin.rulebooks_dir()) / "five-category.yaml", ws / "book" / "five.yaml")
    shutil.copy(BOOKS / "mini.schema.json", ws / "book")
    assert messages(child(ws, "five.yaml")) == [
        (f"book/child.yaml:3:10: error[E183]: extends 'five.yaml': book/five.yaml is a classification rulebook "
        f"{NOT_A_RULEBOOK}")]


def test_issue12_7_facts_naming_a_file_that_is_not_a_schema_shows_none_of_its_keys(ws):
    (ws / "book" / "customer.json").write_text('{"db_password": "hunter2", "limits": {"a": 5}}', encoding="utf-8")
    got = messages(write_book(ws, "customer.json"))
    assert got == [(f"book/b.yaml:6:8: error[E183]: facts 'customer.json': book/customer.json is not a facts schema "
                   f"{NOT_A_SCHEMA}")]
    assert "db_password" not in got[0] and "hunter2" not in got[0]
    (ws / "book" / "other.yaml").write_text("db_password: hunter2\n", encoding="utf-8")
    got = messages(write_book(ws, "./other.yaml"))
    assert got == [(f"book/b.yaml:6:8: error[E183]: facts './other.yaml': book/other.yaml is not a facts schema "
                   f"{NOT_A_SCHEMA}")]


# --- schema files: size, $ref ------------------------------------------------------------------------


def test_issue12_7_an_oversized_schema_is_e002(ws):
    big = dict(SCHEMA, description="x" * MAX_BYTES)
    (ws / "book" / "big.schema.json").write_text(json.dumps(big), encoding="utf-8")
    size = (ws / "book" / "big.schema.json").stat().st_size
    assert messages(write_book(ws, "big.schema.json")) == [
        f"book/big.schema.json: error[E002]: file is {size} bytes; the limit is {MAX_BYTES} bytes"]


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every way out to the network fails the test (and is recorded, in case the failure is swallowed)."""
    attempts: list[object] = []

    def refuse(*args: object, **kwargs: object) -> None:
        attempts.append(args)
        pytest.fail(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    return attempts


def remote_ref_schema() -> dict[str, object]:
    schema = json.loads(json.dumps(SCHEMA))
    schema["properties"]["extra"] = {"$ref": "http://127.0.0.1:1/x.json"}
    return schema


def test_issue12_7_a_remote_ref_is_refused_at_load_and_never_fetched(ws, no_network):
    text = json.dumps(remote_ref_schema(), indent=2)
    (ws / "book" / "r.schema.json").write_text(text, encoding="utf-8")
    line = next(n for n, s in enumerate(text.splitlines(), 1) if '"$ref"' in s)
    want = [(f"book/r.schema.json:{line}:7: error[E184]: facts schema $ref 'http://127.0.0.1:1/x.json' does not refer "
            f"inside the schema; pingji never fetches a schema (copy what it refers to under \"$defs\" and refer to "
            f"it as \"#/$defs/<name>\")")]
    path = write_book(ws, "r.schema.json")
    assert messages(path) == want
    with pytest.raises(pingji.RulebookError) as info:
        pingji.load_rulebook(path)
    assert [str(d) for d in info.value.diagnostics] == want
    assert no_network == []


@pytest.mark.parametrize("ref", ["other.schema.json", "file:///etc/passwd", "//127.0.0.1:1/x.json"])
def test_issue12_7_any_ref_outside_the_schema_is_refused(ws, no_network, ref):
    schema = json.loads(json.dumps(SCHEMA))
    schema["$defs"] = {"n": {"$ref": ref}}
    (ws / "book" / "r.schema.json").write_text(json.dumps(schema), encoding="utf-8")
    (got,) = messages(write_book(ws, "r.schema.json"))
    assert got.startswith("book/r.schema.json:1:") and f"error[E184]: facts schema $ref '{ref}' does not" in got


def test_issue12_7_local_refs_still_work(ws, no_network):
    schema = json.loads(json.dumps(SCHEMA))
    schema["$defs"] = {"money": {"type": "number"}}
    schema["properties"]["fin"]["properties"]["revenue"] = {"$ref": "#/$defs/money"}
    schema["properties"]["$ref"] = {"type": "string"}  # a property named "$ref" is a name, not a reference
    (ws / "book" / "r.schema.json").write_text(json.dumps(schema), encoding="utf-8")
    assert messages(write_book(ws, "r.schema.json")) == []


def test_issue12_7_a_validator_given_a_remote_ref_directly_does_not_fetch_it(no_network):
    v = FactsValidator(remote_ref_schema())
    assert v.fast is None  # fastjsonschema would fetch it while compiling
    assert v.quick_ok({"extra": 1}) is False
    with pytest.raises(Exception, match="http://127.0.0.1:1/x.json"):
        v.problems({"extra": 1})
    assert no_network == []
