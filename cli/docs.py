"""The command reference, generated from --help: docs/cli.md and the README's command table.

python -m pingji.cli.docs           # rewrite both
python -m pingji.cli.docs --check   # exit 1 if either differs from what --help says now (CI, tests)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import click

from pingji.cli.main import COMMANDS, cli

ROOT = Path(__file__).resolve().parent.parent
CLI_MD = ROOT / "docs" / "cli.md"
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
Dask scheduler that cannot be used: E910). Errors print on stderr as
`file:line:col: error[CODE]: message`; anything unexpected prints one line (`PINGJI_DEBUG=1` shows
the traceback). Rulebook codes are listed in [rulebook-format.md](rulebook-format.md); facts,
runs, the store and batches add:

| code | meaning |
|---|---|
| E501 | facts do not match their schema (each problem located in the facts file) |
| E502 | a number in the facts is NaN or infinite |
| E503 | an assessment names a level the factor does not have |
| E504 | a categorical factor's fact has a value it does not list, and the factor has no `other` score (located at the factor's `categories`) |
| E510 | a LOANS file is not `{as_of, loans: [...]}`, or too large |
| E511 | a date in the future: `as_of` after today, a drawdown or restructuring after `as_of`; a maturity before the drawdown |
| E512 | a loan id appears twice |
| E513 | a provisioning rate, PD or LGD came out undefined (an input it needs is missing, or no rule decided it) |
| E520 | a snapshot to monitor has no `as_of` |
| E521 | a snapshot is dated before the earlier snapshot it is compared with, after `--as-of`, or after today |
| E522 | `--previous` is another customer |
| E523 | two snapshots of one customer in one `monitor` run |
| E601 | a rule's action failed (the rulebook line is named) |
| E602 | rules keep firing: the rulebook loops |
| E603 | the run ended without a result (a factor unscored, an output undecided) |
| E604 | a rule concluded NaN or an infinity |
| E605 | durable-rules refused the facts |
| E700 | no rulebook has that id, or none applies to the customer (type and industry) |
| E701 | `validate`: the OUTCOMES file cannot be read (missing, a directory, not UTF-8, not CSV) |
| E702 | `validate`: the OUTCOMES header lacks `customer_id` or `defaulted` |
| E703 | `validate`: the OUTCOMES file is empty or has no rows |
| E704 | `validate`: `defaulted` is not a boolean (true/false, yes/no, 1/0) |
| E705 | `validate`: a customer id is empty or appears twice (the first line is named) |
| E706 | `validate`: `default_date` is not YYYY-MM-DD, or is given for a customer that did not default |
| E707 | `validate`: an OUTCOMES row has more cells than the header |
| E710 | `validate`: no ratings in the store on or before `--as-of` |
| E711 | `validate`: no ratings by the `--rulebook` asked for |
| E712 | `validate`: no rated customer has an outcome (the ids match none in the store) |
| E713 | `validate --policy`: the rulebook does not decide every judgement of a back-test |
| E720 | `diff`: `--db` and `--input` both given (the customers come from one of them) |
| E721 | `diff`: nothing to re-rate: no customer in the store rated by OLD's rulebook id, or an empty input |
| E722 | `diff`: OLD or NEW is not a rating rulebook |
| E800 | the store cannot be used: not SQLite, corrupt, another program's database, a newer schema, locked |
| E801 | no evaluation / customer with that id in the store |
| E810 | expert override refused: unknown grade, no change, beyond the allowance without a second person |
| E900 | a batch input cannot be read at all: missing, unsupported kind, no or bad CSV header, not UTF-8 |
| E901 | a JSONL line is not JSON (`batch`, `monitor`, `classify`, `provisions`) |
| E902 | a CSV row has more cells than the header, or is malformed |
| E903 | a record or snapshot is not an object of facts |
| E910 | `batch --scheduler`: the Dask cluster cannot be used (no `distributed`: `pip install 'pingji[dask]'`; no answer within `--scheduler-timeout`; no workers; a worker running another pingji); nothing is stored |
| E911 | `batch --scheduler`: the Dask cluster failed during the batch (workers kept dying, the scheduler went away); what was stored is kept: run again to resume |
| E999 | an unexpected error while rating one record (the batch goes on) |

The store is one SQLite file: `--db FILE`, else `$PINGJI_DB`, else `pingji.db` in the working
directory. It is append-only: evaluations, their factor scores and trace, expert overrides, rulebook
versions (with the text of every source file) and batches are only ever added.
"""


def cli_md() -> str:
    parts = [INTRO, "## pingji", "", "```text", help_text().rstrip(), "```"]
    for c in COMMANDS:
        parts += ["", f"## pingji {c.name}", "", "```text", help_text(c).rstrip(), "```"]
    return "\n".join(parts) + "\n"


def readme_table() -> str:
    rows = ["| command | what it does |", "|---|---|"]
    for c in COMMANDS:
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pingji.cli.docs", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the files are out of date")
    args = parser.parse_args(argv)
    wanted = {CLI_MD: cli_md(), README: readme(README.read_text(encoding="utf-8"))}
    stale = [p for p, text in wanted.items() if not p.is_file() or p.read_text(encoding="utf-8") != text]
    if args.check:
        for p in stale:
            print(f"{p.relative_to(ROOT)} is out of date: run python -m pingji.cli.docs", file=sys.stderr)
        return 1 if stale else 0
    for p in stale:
        p.write_text(wanted[p], encoding="utf-8")
        print(f"wrote {p.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
