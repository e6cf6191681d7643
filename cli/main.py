"""The pingji command line: thin over the `engine` library.

Each command parses its options, calls the library, and prints a table (or JSON with --json).
Errors: engine errors print as located one-line messages (exit 1); usage errors exit 2; anything
unexpected prints one line naming it (exit 1) — never a Python traceback (PINGJI_DEBUG=1 shows it).
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
from typing import Any

import click

import pingji
from pingji.cli.options import Failure, fail
from pingji.errors import PingjiError

__all__ = ["Failure", "cli", "commands", "fail", "main"]

# Every command in the order of a day's work (not alphabetical): its name, the module under
# pingji.cli.commands that defines it, the function's name there, and the first paragraph of its help. A command's
# module is imported only when that command runs, so `pingji --help` and `pingji rate` do not import
# every library (issue 11.4); tests/test_cli.py checks this table against the commands themselves.
TABLE: tuple[tuple[str, str, str, str], ...] = (
    ("rate", "rating", "rate", "Rate one customer from a YAML or JSON facts file, and store the evaluation."),
    ("batch", "batching", "batch", "Rate a portfolio: a CSV file, a JSONL file or a folder of fact files."),
    ("trace", "review", "trace", "The rules that fired for a stored evaluation, in order."),
    ("report", "review", "report", "The justification report of a stored evaluation."),
    ("override", "review", "override",
     "Override the grade of a stored evaluation (an expert decision, with a reason)."),
    ("history", "review", "history", "Every evaluation and expert override of a customer, oldest first."),
    ("price", "offers", "price",
     "The offer for a rated customer: interest rate, credit limit, approval and re-rating."),
    ("classify", "assets", "classify",
     "Classify loans into the five categories (正常/关注/次级/可疑/损失) by the 2023 measures."),
    ("provisions", "assets", "provisions",
     "Loan-loss reserves and IFRS 9 expected credit loss for a portfolio of loans."),
    ("monitor", "watch", "monitor",
     "Early-warning signals and re-ratings due, comparing customers' new facts with earlier ones."),
    ("portfolio", "watch", "portfolio",
     "The portfolio report (Markdown or HTML): ratings by industry, asset quality, provisions and coverage, "
     "the watch list and the re-ratings due."),
    ("list", "listing", "list_cmd",
     "List stored evaluations, oldest first, with the grade that stands after expert overrides."),
    ("export", "listing", "export", "Export stored ratings with every factor's points: CSV, JSON Lines or Excel."),
    ("verify", "integrity", "verify",
     "Check that the store holds what pingji wrote: walk its hash chain and its overrides."),
    ("validate", "validation", "validate",
     "Back-test the rating system: stored grades against the defaults observed afterwards."),
    ("check", "rulebooks", "check", "Check rulebooks and run their examples; print every problem; exit 1 on any error."),
    ("diff", "diff", "diff",
     "What a rulebook change does: the changes between OLD and NEW, and their impact on a portfolio."),
    ("rulebooks", "rulebooks", "rulebooks_cmd",
     "List the built-in rulebooks: rating rulebooks and what they apply to, then the classification, "
     "provisioning, policy and monitoring rulebooks used after the grade."),
    ("schema", "rulebooks", "schema", "Print a JSON Schema: a rulebook format, or a facts schema (for editors)."),
    ("init", "rulebooks", "init",
     "Create a workspace: copies of the built-in rulebooks, fact schemas and example facts."),
)


def load_command(name: str) -> click.Command | None:
    """The command called `name`, its module imported now; None for an unknown name."""
    for cname, module, attr, _ in TABLE:
        if cname == name:
            command = getattr(importlib.import_module(f"pingji.cli.commands.{module}"), attr)
            assert isinstance(command, click.Command)
            return command
    return None


def commands() -> list[click.Command]:
    """Every command, loaded (for the docs and the tests), in TABLE's order."""
    return [c for c in (load_command(name) for name, *_ in TABLE) if c is not None]


class PingjiGroup(click.Group):
    """Turns every error a command lets through into a message and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PingjiError as exc:
            raise fail(exc) from None
        except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (Terminated): what was done is committed
            raise (TerminatedFailure if isinstance(exc, Terminated) else Interrupted)() from None
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort, BrokenPipeError):
            raise
        except Exception as exc:
            if os.environ.get("PINGJI_DEBUG"):
                raise
            raise Failure(
                f"error: internal error: {type(exc).__name__}: {exc} (PINGJI_DEBUG=1 shows the traceback)"
            ) from None

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name, *_ in TABLE]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return load_command(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list of `pingji --help` from TABLE, without importing any command."""
        limit = formatter.width - 6 - max(len(name) for name, *_ in TABLE)  # as click.Group does
        with formatter.section("Commands"):
            formatter.write_dl([(name, click.Command(name, help=first).get_short_help_str(limit))
                                for name, _, _, first in TABLE])


@click.group(
    cls=PingjiGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}
)
@click.version_option(pingji.__version__, "-V", "--version", prog_name="pingji")
def cli() -> None:
    """pingji (评级): rate bank customers with YAML rulebooks run on a rules engine.

    Every grade comes with a trace of the rules that fired, down to the rulebook line. Evaluations
    are kept in an append-only store (--db, default pingji.db).

    Example:

        pingji rate facts/examples/machinery-a.yaml
    """


class Terminated(KeyboardInterrupt):
    """SIGTERM: stop as Ctrl-C does (a batch commits what it rated and stops its workers), exit 143."""


class Interrupted(Failure):
    """The command was stopped by Ctrl-C (exit 130); a batch resumes when run again."""

    exit_code = 130

    def __init__(self) -> None:
        super().__init__("interrupted; run the same command again to resume")


class TerminatedFailure(Interrupted):
    """The command was stopped by SIGTERM (exit 143)."""

    exit_code = 143


def _terminate(signum: int, frame: Any) -> None:
    raise Terminated()


def main() -> None:
    signal.signal(signal.SIGTERM, _terminate)
    try:
        cli(prog_name="pingji")
    except KeyboardInterrupt:  # pragma: no cover - before or after a command runs
        click.echo("interrupted; run the same command again to resume", err=True)
        sys.exit(130)
    except BrokenPipeError:  # pragma: no cover - `pingji trace E1 | head`
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(1)
