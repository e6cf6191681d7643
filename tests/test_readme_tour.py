"""The README's tour, run as a new user would run it: every command of its shell blocks, as written,
in order, in a fresh folder holding only what a checkout has (rulebooks/, facts/) and the installed
`.venv`; then its Python example. Each must succeed.

The one command that names a Dask scheduler on another machine (tcp://10.0.0.5) is not run: no
traffic leaves this machine. Dask batches are tested on a local cluster in test_dask.py.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
EXAMPLE_FIRST_LINE = "M2 88.2"  # the example manufacturer: master grade M2, total score 88.2
NOT_HERE = re.compile(r"tcp://(?!127\.0\.0\.1|localhost)")


def _section(text: str, start: str, end: str) -> str:
    return text[text.index(start):text.index(end, text.index(start))]


def tour_commands() -> list[str]:
    text = README.read_text("utf-8")
    tour = _section(text, "## A tour", "## Command reference")
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", tour, re.S):
        for line in block.splitlines():
            if line.startswith(".venv/bin/") and not NOT_HERE.search(line):
                commands.append(line)
    return commands


def setup_rating() -> str:
    """The part of the first set-up command that rates the example (the tour's E000001)."""
    setup = _section(README.read_text("utf-8"), "<!-- setup:begin -->", "<!-- setup:end -->")
    first = re.findall(r"```sh\n(.*?)\n```", setup, re.S)[0]
    [rating] = [part.strip() for part in first.split("&&") if part.strip().startswith(".venv/bin/pingji rate")]
    return rating


def test_no_tour_override_is_of_a_superseded_evaluation(tmp_path):
    """The tour's overrides are of E000001, so nothing before them may store another evaluation of
    the customer: they would warn, and count for nothing in price, history and portfolio."""
    commands = tour_commands()
    first_override = next(i for i, c in enumerate(commands) if " override " in c)
    assert all("--no-store" in c for c in commands[:first_override] if " rate " in c)


def python_example() -> str:
    tour = _section(README.read_text("utf-8"), "## A tour", "## Command reference")
    blocks = re.findall(r"```python\n(.*?)```", tour, re.S)
    assert len(blocks) == 1, "the tour has one Python example"
    return blocks[0]


def test_the_tour_has_the_commands_a_new_user_needs():
    words = {c.split()[1] if c.startswith(".venv/bin/pingji") else c.split()[0] for c in tour_commands()}
    assert {"rate", "trace", "report", "override", "history", "batch", "check", "diff", "classify",
            "provisions", "monitor", "portfolio", "validate", "price"} <= words


@pytest.mark.slow
def test_every_tour_command_works_as_written(tmp_path):
    venv = Path(sys.executable).parent.parent
    (tmp_path / ".venv").symlink_to(venv)
    for data in ("rulebooks", "facts"):
        (tmp_path / data).symlink_to(ROOT / data)
    env = {k: v for k, v in os.environ.items() if k not in ("PINGJI_DB", "PYTHONPATH")}
    for command in [setup_rating(), *tour_commands()]:  # the tour starts where the set-up left off
        r = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True,
                           timeout=600, check=False)
        assert r.returncode == 0, f"{command}\nexit {r.returncode}\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}"
        assert "Traceback" not in r.stderr, f"{command}\n{r.stderr}"
        if " override " in command:  # an override of the customer's latest evaluation: nothing to warn about
            assert r.stderr == "", f"{command}\n{r.stderr}"
        if " validate " in command:  # issue 12.2: the shipped outcomes fit the ratings: no default is lost
            books = [ln for ln in r.stdout.splitlines() if ln.startswith("rulebook ")]
            assert books and all("0 defaulted before the rating" in ln for ln in books), r.stdout
            assert r.stderr == "", f"{command}\n{r.stderr}"
    r = subprocess.run([str(tmp_path / ".venv" / "bin" / "python"), "-c", python_example()], cwd=tmp_path,
                       env=env, capture_output=True, text=True, timeout=300, check=False)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0] == EXAMPLE_FIRST_LINE, r.stdout
