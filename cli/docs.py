"""The generated files: docs/cli.md and the README's command table from --help, docs/errors.md from the
code registry (`pingji.codes`), and the built-in rulebooks' index (rulebooks/index.json, `pingji.rating.index`).

python -m pingji.cli.docs           # rewrite both
python -m pingji.cli.docs --check   # exit 1 if either differs from what --help says now (CI, tests)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import click

from pingji import codes
from pingji.builtin import rulebooks_dir
from pingji.cli.main import cli, commands
from pingji.rating import index

ROOT = Path(__file__).resolve().parent.parent
CLI_MD = ROOT / "docs" / "cli.md"
ERRORS_MD = ROOT / "docs" / "errors.md"
README = ROOT / "README.md"
BEGIN, END = "<!-- commands:begin -->", "<!-- commands:end -->"
WIDTH = 100


def help_text(command: click.Command | None = None) -> str:
    """--help of the group or a command, at a fixed width (the terminal's does not matter)."""
    top = click.Context(
        cli,
        info_name="pingji",
        terminal_width=WIDTH,
        max_content_width=WIDTH,
        help_option_names=["-h", "--help"],
    )
    if command is None:
        return cli.get_help(top)
    ctx = click.Context(
        command, info_name=command.name, parent=top, terminal_width=WIDTH, max_content_width=WIDTH
    )
    return command.get_help(ctx)


INTRO = """\
# Command reference

Generated from `--help` by `python -m pingji.cli.docs`; a test fails when it drifts.

Exit codes: 0 success; 1 a failure (a bad rulebook, bad facts, a refused override, a record that
failed in a batch, an unusable store, a Dask cluster lost during a batch); 2 a usage error (also a
Dask scheduler that cannot be used: E910). Errors print on stderr (`pingji check` prints its
diagnostics on stdout: they are its result) as
`file:line:col: error[CODE]: message`; anything unexpected prints one line (`PINGJI_DEBUG=1` shows
the traceback). Every code, with its meaning and exit status, is in [errors.md](errors.md)
(generated from the registry `pingji.codes`).

The store is one SQLite file: `--db FILE`, else `$PINGJI_DB`, else `pingji.db` in the working
directory. It is append-only: evaluations, their factor scores and trace, expert overrides, rulebook
versions (with the text of every source file) and batches are only ever added.
"""


def cli_md() -> str:
    parts = [INTRO, "## pingji", "", "```text", help_text().rstrip(), "```"]
    for c in commands():
        parts += ["", f"## pingji {c.name}", "", "```text", help_text(c).rstrip(), "```"]
    return "\n".join(parts) + "\n"


def readme_table() -> str:
    rows = ["| command | what it does |", "|---|---|"]
    for c in commands():
        rows.append(
            f"| [`pingji {c.name}`](docs/cli.md#pingji-{c.name}) | {c.get_short_help_str(limit=200)} |"
        )
    return "\n".join(rows)


def readme(text: str) -> str:
    """The README with its command table (between the markers) regenerated."""
    if BEGIN not in text or END not in text:
        raise SystemExit(f"README.md lacks the markers {BEGIN} ... {END}")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{readme_table()}\n{END}{tail}"


def _shown(p: Path) -> str:
    return str(p.relative_to(ROOT)) if p.is_relative_to(ROOT) else str(p)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pingji.cli.docs", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the files are out of date")
    args = parser.parse_args(argv)
    wanted = {CLI_MD: cli_md(), ERRORS_MD: codes.markdown(), README: readme(README.read_text(encoding="utf-8")),
              rulebooks_dir() / index.INDEX_NAME: index.build(rulebooks_dir())}
    stale = [p for p, text in wanted.items() if not p.is_file() or p.read_text(encoding="utf-8") != text]
    if args.check:
        for p in stale:
            print(f"{_shown(p)} is out of date: run python -m pingji.cli.docs", file=sys.stderr)
        return 1 if stale else 0
    for p in stale:
        p.write_text(wanted[p], encoding="utf-8")
        print(f"wrote {_shown(p)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
