"""The code registry (pingji.codes): every code in the source is registered, none is registered for
nothing, and docs/errors.md is generated from it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from pingji import codes
from pingji.cli.options import Failure, UsageFailure, fail
from pingji.errors import ClusterUnavailable, FactsError, PingjiError

ROOT = Path(__file__).resolve().parent.parent
CODE = re.compile(r"\b[EW]\d{3}\b")


def _codes_in_source() -> dict[str, str]:
    """Every code written in a string of engine/ or cli/ (f-strings included), with where it is first."""
    found: dict[str, str] = {}
    for path in sorted((ROOT / "engine").rglob("*.py")) + sorted((ROOT / "cli").rglob("*.py")):
        if path.name == "codes.py":
            continue
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                for c in CODE.findall(node.value):
                    found.setdefault(c, f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_every_code_in_the_source_is_registered():
    missing = {c: at for c, at in _codes_in_source().items() if c not in codes.CODES}
    assert not missing, f"codes used but not registered in engine/codes.py: {missing}"


def test_every_registered_code_is_used():
    used = set(_codes_in_source())
    unused = sorted(set(codes.CODES) - used)
    assert not unused, f"registered but never raised or reported: {unused}"


def test_codes_are_well_formed_and_titled():
    for c in codes.CODES.values():
        assert re.fullmatch(r"[EW]\d{3}", c.code)
        assert c.title and not c.title.endswith("."), c
        assert c.exit in (codes.FAILURE, codes.USAGE)
        assert c.anchor == c.code.lower()


def test_lookup_and_exit_codes():
    assert codes.lookup("E102").title == "unknown fact name"
    assert codes.exit_code("E910") == 2
    assert codes.exit_code("E501") == 1
    assert codes.exit_code(None) == 1
    with pytest.raises(KeyError):
        codes.lookup("E123456")


def test_the_cli_exits_with_the_registered_status():
    usage = fail(ClusterUnavailable("no scheduler answered at tcp://127.0.0.1:1"))
    assert isinstance(usage, UsageFailure) and usage.exit_code == 2
    plain = fail(PingjiError("something", None, "E801"))
    assert type(plain) is Failure and plain.exit_code == 1
    assert fail(FactsError([])).exit_code == 1


def test_errors_md_lists_every_code_with_its_anchor():
    text = (ROOT / "docs" / "errors.md").read_text("utf-8")
    assert text == codes.markdown(), "docs/errors.md drifted: run python -m pingji.cli.docs"
    for c in codes.CODES:
        assert f'<a id="{c.lower()}"></a>{c} |' in text


def test_a_did_you_mean_is_a_hint_not_part_of_the_message(tmp_path):
    """Diagnostic.hint carries the suggestion; the one-line text and --json show it after the message."""
    from pingji.diagnostics import Diagnostic, Location, Severity, error, suggest

    assert suggest("anual_income", ["annual_income", "age"]) == "did you mean 'annual_income'?"
    assert suggest("zzz", ["annual_income"]) == ""
    d = error("E102", "unknown fact 'anual_income'", Location("r.yaml", 14, 9), hint=suggest("anual_income",
                                                                                          ["annual_income"]))
    assert str(d) == "r.yaml:14:9: error[E102]: unknown fact 'anual_income' (did you mean 'annual_income'?)"
    assert d.to_dict()["hint"] == "did you mean 'annual_income'?" and d.to_dict()["message"] == d.message
    assert "hint" not in Diagnostic("E102", Severity.ERROR, "x").to_dict()
    bad = ROOT / "tests" / "data" / "books" / "mini.yaml"
    text = bad.read_text("utf-8").replace("group: solvency\n    weight: 50\n    metric: current_ratio",
                                          "group: solvencyy\n    weight: 50\n    metric: current_ratio", 1)
    (tmp_path / "mini.schema.json").write_bytes((bad.parent / "mini.schema.json").read_bytes())
    (tmp_path / "m.yaml").write_text(text, "utf-8")
    import pingji

    [diag] = [d for d in pingji.check(tmp_path / "m.yaml") if d.code == "E104"]
    assert diag.message == "factor 'current_ratio': unknown group 'solvencyy'"
    assert diag.hint == "did you mean 'solvency'?"
