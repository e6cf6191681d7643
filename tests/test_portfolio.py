"""`pingji portfolio`: the portfolio report in Markdown and HTML, from the store, loans and snapshots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import pingji.store.records
from pingji.cli.main import cli

ROOT = Path(__file__).resolve().parent.parent


def cmd(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(pingji.store.records, "now", lambda: "2026-04-16T09:00:00.000Z")
    path = str(tmp_path / "p.db")
    for f in ("facts/monitoring/machinery-2026-04.yaml", "facts/examples/contractor-a.yaml",
              "facts/examples/builder-overdue-c.yaml"):
        assert cmd("rate", f, "--db", path).exit_code == 0
    assert cmd("override", "E000002", "-g", "B", "--reviewer", "Li", "--reason", "weaker order book",
               "--db", path).exit_code == 0
    return path


def test_markdown_report_has_every_section(db: str) -> None:
    r = cmd("portfolio", "--db", db, "--loans", "facts/loans/portfolio.yaml",
            "--snapshots", "facts/monitoring/machinery-2026-10.yaml", "--as-of", "2026-10-31")
    assert r.exit_code == 0, r.output
    md = r.output
    assert md.startswith("# Portfolio report — 2026-10-31\n")
    sections = [line for line in md.splitlines() if line.startswith("## ")]
    assert sections == ["## Ratings by industry", "## Asset quality: five-category classification",
                        "## Provisions and coverage", "## Watch list", "## Re-ratings due"]
    assert "| C Manufacturing | 1 | 0 | 0 | 1 | 0 |" in md
    assert "| E Construction | 0 | 1 | 1 | 2 | 1 |" in md
    assert "| **Total** | 1 | 1 | 1 | 3 | 1 |" in md
    assert "| Non-performing | 7 | 6,450,000.00 | 67.40% |" in md
    assert "| Coverage ratio | 43.07% | below\\_range | `coverage-below` (rulebooks/provision-adequacy.yaml:53) |" in md
    assert "| C-C-0001 | high | rerate\\_now | Revenue down more than 30% (`revenue-drop`, " in md
    assert "| C-C-0001 | M2 | now | external-downgrade (rulebooks/early-warning.yaml:129) |" in md
    # due from each rating date, the facts' as_of (2026-04-14 and 2026-04-26), not from when stored (issue 12.2)
    assert "| C-E-0001 | B | 2026-10-14 | rerate-b (rulebooks/early-warning.yaml:145) |" in md  # the override's grade
    assert "| C-E-0004 | C | 2026-07-26 | rerate-c (rulebooks/early-warning.yaml:150) |" in md


def test_html_report_is_one_page_written_to_a_file(db: str, tmp_path: Path) -> None:
    out = tmp_path / "p.html"
    r = cmd("portfolio", "--db", db, "--format", "html", "-o", str(out), "--lang", "zh", "--as-of", "2026-06-30")
    assert (r.exit_code, r.output) == (0, f"wrote {out}\n")
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>\n<html lang=\"zh-CN\">")
    assert "<title>信贷资产组合报告 — 2026-06-30</title>" in page
    assert "<h2>客户评级分布（按行业）</h2>" in page and "<script" not in page


def test_nothing_to_report_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    r = cmd("portfolio", "--db", "none.db")
    assert (r.exit_code, r.output) == (1, "none.db: no store here; rate the customers first "
                                          "(pingji rate ... --db none.db) or give --loans\n")


def test_json(db: str) -> None:
    import json

    r = cmd("portfolio", "--db", db, "--loans", "facts/loans/portfolio.yaml", "--as-of", "2026-10-31", "--json")
    d = json.loads(r.output)
    assert d["provisions"]["totals"]["reserves"] == "2778100.00"
    assert [x["customer_id"] for x in d["rerate_due"]] == ["C-E-0001", "C-E-0004"]
    assert [x["customer_id"] for x in d["ratings"]] == ["C-C-0001", "C-E-0001", "C-E-0004"]


def test_issue12_snapshots_asked_for_and_none_found_is_an_error(db: str, tmp_path: Path) -> None:
    (tmp_path / "none").mkdir()
    r = cmd("portfolio", "--db", db, "--snapshots", str(tmp_path / "none"))
    assert r.exit_code == 1
    assert r.stderr == f"{tmp_path / 'none'}: error[E524]: no snapshots in {tmp_path / 'none'}: nothing to compare\n"
