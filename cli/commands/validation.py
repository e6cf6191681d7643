"""Back-testing the rating system: `pingji validate` (ratings in the store against observed defaults)."""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path

import click

import pingji
from pingji.analysis.outcomes import read_outcomes
from pingji.analysis.validation import dropped_warning
from pingji.analysis.validation import validate as run_validation
from pingji.cli.options import DATE, db_option, json_option, open_store
from pingji.rating import catalog
from pingji.report.validation import render_html, render_markdown, render_text

COMMANDS: list[click.Command] = []


@click.command()
@click.argument("outcomes", metavar="OUTCOMES", type=click.Path(dir_okay=True))
@click.option("--as-of", "as_of", type=DATE,
              help="Rating date: each customer's latest rating on or before it, with the expert overrides made "
                   "by then (default: today).")
@click.option("--from", "from_date", type=DATE,
              help="An earlier rating date: adds each rulebook's grade migration matrix from it to --as-of "
                   "and the PSI of the grade distribution (judged stable/watch/shifted by the rulebook).")
@click.option("--horizon-months", "horizon", type=click.IntRange(1, 120), default=12, show_default=True,
              help="Observation window after --as-of: a default dated later counts as no default.")
@click.option("--rulebook", "-r", metavar="ID",
              help="Back-test only the ratings of this rating rulebook (default: each rulebook in the store, "
                   "separately; grades of different scales are never pooled).")
@click.option("--policy", metavar="ID|PATH", default="validation", show_default=True,
              help="The decision rulebook whose rules give the traffic lights.")
@click.option("--format", "fmt", type=click.Choice(["text", "md", "html"]), default="text", show_default=True,
              help="A plain table, Markdown, or one HTML page.")
@click.option("--output", "-o", metavar="FILE", help="Write the result here instead of standard output.")
@db_option
@json_option
def validate(outcomes: str, as_of: str | None, from_date: str | None, horizon: int, rulebook: str | None, policy: str, fmt: str,
             output: str | None, db_path: str, as_json: bool) -> None:
    """Back-test the rating system: stored grades against the defaults observed afterwards.

    OUTCOMES is a CSV file with a header row: customer_id, defaulted (true/false, yes/no, 1/0) and
    optionally default_date (YYYY-MM-DD; a default without a date counts as inside the window),
    one row per customer. Each customer's latest rating on or
    before --as-of is taken from the store with its effective grade (expert overrides included);
    ratings are dated by their rating date (the facts' as_of, or --rated-on of rate and batch), not
    by when they were stored. Left out and counted: rated customers without an outcome row,
    customers already in a default grade, defaults dated on or before the rating; outcome rows of
    customers the store has not rated are listed as a warning. When more of the outcome rows or of
    the defaults are left out than the rulebook's max_dropped_share (5%), a warning on stderr says
    so; when nothing is left, it is an error. Each rating rulebook is back-tested on its own.

    Prints per grade N, defaults D, the observed default rate, the grade's PD, the binomial test
    p = P(X >= D | N, PD) and the Jeffreys test p = BetaCDF(PD; D+1/2, N-D+1/2); then AUC, Gini
    and KS on the total score, the Brier score, Hosmer-Lemeshow, the Herfindahl index and the
    override rate. With --from, also the grade migration matrix between the two dates and the PSI
    of the grade distribution. Every traffic light is a rule of the validation rulebook (rulebooks/validation.yaml)
    that fired, shown with its file:line. Figures are rounded to 6 decimal places (4 shown).

    Example: ratings made by the end of 2025, defaults observed in 2026...

        pingji validate defaults-2026.csv --db book.db --as-of 2025-12-31

        pingji validate defaults-2026.csv --db book.db -r manufacturing --format html -o bt.html

    \b
    defaults-2026.csv:
        customer_id,defaulted,default_date
        C-C-0001,false,
        C-E-0004,true,2026-09-30
    """
    when = as_of or _dt.date.today().isoformat()  # a business date, like the stored rating dates
    book = pingji.load_decision(catalog.find(policy), kind="policy")
    rows = read_outcomes(outcomes)
    if from_date is not None and from_date >= when:
        raise click.UsageError(f"--from {from_date} must be before --as-of {when}")
    with open_store(db_path, readonly=True) as store:
        ratings = store.ratings_as_of(when)
        earlier = store.ratings_as_of(from_date) if from_date else None
        scales = store.scales()
    result = run_validation(ratings, scales, rows, book=book, as_of=when, horizon_months=horizon,
                            rulebook=rulebook, outcomes_file=outcomes, earlier=earlier, from_date=from_date)
    warning = dropped_warning(result)
    if warning:
        click.echo(warning, err=True)
    if as_json:
        text = json.dumps(result.to_dict(), sort_keys=True, ensure_ascii=False, indent=2, allow_nan=False)
    elif fmt == "md":
        text = render_markdown(result).rstrip("\n")
    elif fmt == "html":
        text = render_html(result).rstrip("\n")
    else:
        text = render_text(result)
    if output:
        Path(output).write_text(text + "\n", encoding="utf-8")
        click.echo(f"wrote {output}")
    else:
        click.echo(text)


COMMANDS.append(validate)
