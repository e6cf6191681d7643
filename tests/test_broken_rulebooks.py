"""The corpus of broken rulebooks: every case's `check()` output must equal its golden file exactly.

Each case is `tests/data/broken/<NN>-<name>.yaml` with its expected diagnostics, one `str(d)` a
line, in `<NN>-<name>.expected`. File names in the golden files are relative to the repository
root, so the tests run from there. The golden files are only ever read here; to review what the
engine says now, run `python3 tests/data/broken/regen.py` (it prints, it never writes).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pingji import RulebookError, check, load_rulebook

ROOT = Path(__file__).resolve().parent.parent
BROKEN = ROOT / "tests" / "data" / "broken"
CASES = sorted(BROKEN.glob("*.yaml"))

# Errors only `check()` reports: it also compiles the rulebook and runs its examples, which
# `load_rulebook()` does not do.
CHECK_ONLY = frozenset({"E170", "E171", "E190"})

# Cases whose golden file holds the correct output that the engine does not produce yet.
XFAIL: dict[str, str] = {}

_LINE = re.compile(r"^(?P<loc>.+?): (?P<severity>error|warning)\[(?P<code>[EW][0-9]{3})\]: (?P<message>.+)$")


def _param(case: Path) -> object:
    marks = [pytest.mark.xfail(strict=True, reason=XFAIL[case.stem])] if case.stem in XFAIL else []
    return pytest.param(case, id=case.stem, marks=marks)


def _rel(case: Path) -> str:
    return case.relative_to(ROOT).as_posix()


def _golden(case: Path) -> list[str]:
    return case.with_suffix(".expected").read_text(encoding="utf-8").splitlines()


@pytest.fixture(autouse=True)
def _at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_broken_rulebook(case: Path) -> None:
    want = _golden(case)
    got = [str(d) for d in check(_rel(case))]
    assert got == want

    load_errors = [line for line in want
                   if (m := _LINE.match(line)) and m["severity"] == "error" and m["code"] not in CHECK_ONLY]
    if load_errors:
        with pytest.raises(RulebookError) as info:
            load_rulebook(_rel(case))
        assert [str(d) for d in info.value.diagnostics] == load_errors
    else:
        load_rulebook(_rel(case))  # warnings only (or errors from the examples): it loads


def test_corpus_is_complete() -> None:
    assert len(CASES) >= 30
    assert set(XFAIL) <= {c.stem for c in CASES}
    stems = {c.stem for c in CASES}
    goldens = {p.stem for p in BROKEN.glob("*.expected")}
    assert goldens == stems, "every case needs a golden file and every golden file a case"
    for case in CASES:
        assert re.fullmatch(r"[0-9]{2}-[a-z0-9-]+", case.stem), case.name
        lines = _golden(case)
        assert lines, f"{case.name}: the golden file is empty"
        bad = [line for line in lines if not _LINE.match(line) or not line.startswith("tests/data/broken/")
               and not line.startswith("tests/data/books/")]
        assert not bad, f"{case.name}: not diagnostic lines: {bad}"


def test_every_case_is_diagnosed_without_crashing() -> None:
    """Whatever the golden files say: every case yields a diagnostic and no other exception."""
    problems = []
    for case in CASES:
        try:
            diags = check(_rel(case))
        except Exception as exc:  # noqa: BLE001 - that is the point
            problems.append(f"{case.name}: check() raised {type(exc).__name__}: {exc}")
            continue
        if not diags:
            problems.append(f"{case.name}: check() reported nothing")
        try:
            load_rulebook(_rel(case))
        except RulebookError:
            pass
        except Exception as exc:  # noqa: BLE001
            problems.append(f"{case.name}: load_rulebook() raised {type(exc).__name__}: {exc}")
    assert not problems, "\n".join(problems)
