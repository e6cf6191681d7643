"""What every command shares: the failure exception, option bundles, and the evaluation-id type."""

from __future__ import annotations

import contextlib
import datetime as _dt
import sys
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import click

from pingji import codes, store
from pingji.builtin import RULEBOOKS_ENV_VAR
from pingji.errors import PingjiError
from pingji.store.ids import DEFAULT_DB, ENV_VAR, format_id, parse_id

if TYPE_CHECKING:
    from pingji.store.database import Store

F = TypeVar("F", bound=Callable[..., Any])


class IsoDate(click.ParamType):
    """A calendar date YYYY-MM-DD, kept as its ISO text."""

    name = "DATE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value)
        try:  # exactly YYYY-MM-DD: fromisoformat alone would also take 20241231 and 2024-W01-1
            if len(text) == 10 and text[4] == "-" and text[7] == "-":
                return _dt.date.fromisoformat(text).isoformat()
        except ValueError:
            pass
        self.fail(f"'{value}' is not a date YYYY-MM-DD", param, ctx)


DATE = IsoDate()


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


def rulebooks_option(f: F) -> F:
    return click.option(
        "--rulebooks",
        "rulebooks",
        metavar="DIR",
        multiple=True,
        type=click.Path(path_type=str),  # its env var splits on os.pathsep (':' on Unix, ';' on Windows)
        envvar=RULEBOOKS_ENV_VAR,
        show_envvar=True,
        help="A folder of your own rulebooks (own customer types too), repeatable; when one of them applies to "
        "a customer it is chosen before the built-in ones, and it replaces a built-in rulebook of the same id "
        "(docs/customer-types.md). The env var lists folders separated by the path separator (':').",
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
    """The store for a command; reading commands do not create one, and with `readonly` open it read-only.

    The store's module (SQLite, the rating engine) loads here, not when the options are declared."""
    return store.Store.open(path, create=create, readonly=readonly)


PROGRESS_FROM = 2000  # loans or customers; smaller runs take a moment and show no bar


class Progress:
    """A progress bar on stderr whose estimate of the time left follows the recent rate: an
    exponentially weighted average with a half-life of HALF_LIFE seconds of work, not the average
    since the start, which counts a batch's start-up (worker processes, rulebooks compiled) and made
    the estimate swing from hours to seconds within one batch. Off a terminal it prints its label
    once, as click's bar does."""

    HALF_LIFE = 5.0
    WIDTH = 30

    def __init__(self, length: int, label: str, file: Any = None, clock: Callable[[], float] = time.monotonic):
        self.length, self.label, self.clock = max(0, length), label, clock
        self.file = file if file is not None else sys.stderr
        self.tty = bool(getattr(self.file, "isatty", lambda: False)())
        self.pos = 0
        self.rate: float | None = None  # items per second, smoothed
        self._t = clock()
        self._p = 0

    def __enter__(self) -> "Progress":
        if self.tty:
            self._render()
        else:
            click.echo(self.label, file=self.file)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.tty:
            self._render()
            click.echo("", file=self.file)

    def update(self, n: int) -> None:
        self.pos += n
        now = self.clock()
        dt = now - self._t
        if dt >= 0.5 or self.pos >= self.length:
            if dt > 0:
                recent = (self.pos - self._p) / dt
                weight = 1 - 0.5 ** (dt / self.HALF_LIFE)
                self.rate = recent if self.rate is None else self.rate + weight * (recent - self.rate)
            self._t, self._p = now, self.pos
            if self.tty:
                self._render()

    def eta(self) -> float | None:
        """Seconds left at the smoothed rate; None before there is a rate."""
        if not self.rate:
            return None
        return max(0, self.length - self.pos) / self.rate

    def line(self) -> str:
        done = self.pos / self.length if self.length else 1.0
        filled = int(self.WIDTH * min(1.0, done))
        eta = self.eta()
        left = "" if eta is None or self.pos >= self.length else \
            f"  {int(eta) // 3600}:{int(eta) % 3600 // 60:02d}:{int(eta) % 60:02d} left"
        rate = f"  {self.rate:,.0f}/s" if self.rate else ""
        return (f"{self.label}  [{'#' * filled}{'-' * (self.WIDTH - filled)}]  {self.pos:,}/{self.length:,}"
                f"  {int(done * 100)}%{rate}{left}")

    def _render(self) -> None:
        click.echo("\r\x1b[K" + self.line(), file=self.file, nl=False)


@contextlib.contextmanager
def progress(n: int, label: str) -> Iterator[Callable[[int], None] | None]:
    """A progress bar on stderr for long runs (`n` steps); None below PROGRESS_FROM."""
    if n < PROGRESS_FROM:
        yield None
        return
    with Progress(n, label) as bar:
        yield bar.update
