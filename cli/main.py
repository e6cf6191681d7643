"""The pingji command line: thin over the `engine` library.

Each command parses its options, calls the library, and prints a table (or JSON with --json).
Errors: engine errors print as located one-line messages (exit 1); usage errors exit 2; anything
unexpected prints one line naming it (exit 1) — never a Python traceback (PINGJI_DEBUG=1 shows it).
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

import pingji
from pingji.cli.commands import assets, offers, validation, watch
from pingji.cli.commands.diff import diff
from pingji.cli.commands.rating import batch, rate
from pingji.cli.commands.review import history, override, report, trace
from pingji.cli.commands.rulebooks import check, init, rulebooks_cmd, schema
from pingji.cli.options import Failure, fail
from pingji.cli.render import summary as render_summary
from pingji.errors import PingjiError

__all__ = ["Failure", "cli", "fail", "main", "render_summary"]

COMMANDS = [rate, batch, trace, report, override, history, *offers.COMMANDS, *assets.COMMANDS, *watch.COMMANDS,
            *validation.COMMANDS, check, diff, rulebooks_cmd, schema, init]


class PingjiGroup(click.Group):
    """Turns every error a command lets through into a message and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PingjiError as exc:
            raise fail(exc) from None
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort, BrokenPipeError):
            raise
        except Exception as exc:
            if os.environ.get("PINGJI_DEBUG"):
                raise
            raise Failure(
                f"error: internal error: {type(exc).__name__}: {exc} (PINGJI_DEBUG=1 shows the traceback)"
            ) from None

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [c.name for c in COMMANDS if c.name]  # in the order of a day's work, not alphabetical


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


for _command in COMMANDS:
    cli.add_command(_command)


def main() -> None:
    try:
        cli(prog_name="pingji")
    except KeyboardInterrupt:  # pragma: no cover - interactive
        click.echo("interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:  # pragma: no cover - `pingji trace E1 | head`
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(1)
