"""What every command shares: the failure exception, option bundles, and the evaluation-id type."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import click

from pingji import codes
from pingji.errors import PingjiError
from pingji.store.database import DEFAULT_DB, ENV_VAR, Store
from pingji.store.records import format_id, parse_id

F = TypeVar("F", bound=Callable[..., Any])


class Failure(click.ClickException):
    """A failure the user caused or must fix: printed as is on stderr, exit code 1."""

    exit_code = 1

    def show(self, file: Any = None) -> None:
        click.echo(self.format_message(), err=True)


class UsageFailure(Failure):
    """A one-line failure exiting 2, like a usage error: what an option names cannot be used (a Dask
    scheduler that does not answer, a missing optional package)."""

    exit_code = 2


def fail(exc: PingjiError) -> Failure:
    """The CLI failure for a library error: its text, and the exit status its code has in the registry."""
    if codes.exit_code(exc.code) == codes.USAGE:
        return UsageFailure(str(exc))
    return Failure(str(exc))


def db_option(f: F) -> F:
    return click.option(
        "--db",
        "db_path",
        metavar="FILE",
        envvar=ENV_VAR,
        default=DEFAULT_DB,
        show_default=True,
        show_envvar=True,
        help="The evaluation store (one SQLite file).",
    )(f)


def json_option(f: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")(f)


def rulebook_option(f: F) -> F:
    return click.option(
        "--rulebook",
        "-r",
        metavar="ID|PATH",
        help="Rulebook id or file; default: chosen from the customer's type and industry.",
    )(f)


def lang_option(f: F) -> F:
    return click.option(
        "--lang",
        type=click.Choice(["en", "zh"]),
        default="en",
        show_default=True,
        envvar="PINGJI_LANG",
        show_envvar=True,
        help="Language of titles and reasons.",
    )(f)


class EvaluationId(click.ParamType):
    """E000001 (also e1 or 1): normalised to the stored form."""

    name = "EVAL_ID"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        n = parse_id(str(value))
        if n is None:
            self.fail(f"'{value}' is not an evaluation id (they look like {format_id(1)})", param, ctx)
        return format_id(n)


EVAL_ID = EvaluationId()


def open_store(path: str, *, create: bool = False, readonly: bool = False) -> Store:
    """The store for a command; reading commands do not create one, and with `readonly` open it read-only."""
    return Store.open(path, create=create, readonly=readonly)


PROGRESS_FROM = 2000  # loans or customers; smaller runs take a moment and show no bar


@contextlib.contextmanager
def progress(n: int, label: str) -> Iterator[Callable[[int], None] | None]:
    """A progress bar on stderr for long runs (`n` steps); None below PROGRESS_FROM."""
    if n < PROGRESS_FROM:
        yield None
        return
    with click.progressbar(length=n, label=label, file=sys.stderr, show_pos=True) as bar:
        yield bar.update
