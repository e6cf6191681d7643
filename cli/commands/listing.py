"""Finding and exporting what a store holds: `list` and `export` (issue 11.5)."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from pingji.cli import render
from pingji.cli.options import DATE, UsageFailure, db_option, open_store
from pingji.report.export import FORMATS, MissingExtra, write_csv, write_jsonl, write_xlsx
from pingji.store.listing import COLUMNS, Filter, select


def _filters(f: Callable[..., Any]) -> Callable[..., Any]:
    """The options that choose evaluations, shared by list and export."""
    for option in reversed([
        click.option("--customer", metavar="ID", help="Only this customer's evaluations."),
        click.option("--rulebook", "rulebook_id", metavar="ID", help="Only evaluations by this rulebook id."),
        click.option("--grade", metavar="GRADE", help="Only evaluations whose grade now (after overrides) is this."),
        click.option("--from", "date_from", type=DATE, help="Rated on or after this date (YYYY-MM-DD)."),
        click.option("--to", "date_to", type=DATE, help="Rated on or before this date (YYYY-MM-DD)."),
        click.option("--batch", metavar="ID", help="Only evaluations stored by this batch."),
        click.option("--overridden/--not-overridden", default=None,
                     help="Only evaluations an expert overrode / did not override."),
        click.option("--latest", is_flag=True, help="Each customer's latest evaluation only."),
    ]):
        f = option(f)
    return f


def _filter(customer: str | None, rulebook_id: str | None, grade: str | None, date_from: str | None,
            date_to: str | None, batch: str | None, overridden: bool | None, latest: bool,
            limit: int | None = None) -> Filter:
    if date_from and date_to and date_from > date_to:
        raise UsageFailure(f"error[E830]: --from {date_from} is after --to {date_to}: nothing could match")
    return Filter(customer=customer, rulebook=rulebook_id, grade=grade, date_from=date_from, date_to=date_to,
                  batch=batch, overridden=overridden, latest=latest, limit=limit)


@click.command("list")
@_filters
@click.option("--limit", type=click.IntRange(min=1), metavar="N", help="At most N evaluations.")
@db_option
@click.option("--json", "as_json", is_flag=True, help="JSON Lines: one evaluation per line.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV with a header row.")
def list_cmd(db_path: str, as_json: bool, as_csv: bool, limit: int | None, **filters: Any) -> None:
    """List stored evaluations, oldest first, with the grade that stands after expert overrides.

    Filters combine (all must hold). The columns: evaluation id, customer, rating date, rulebook,
    total, model grade, the rulebook's final grade, the grade now (the last expert override, else the
    final grade) and the number of overrides. `pingji export` adds every factor's points.

    Example:

        pingji list --grade M5 --from 2026-01-01 --overridden
    """
    if as_json and as_csv:
        raise UsageFailure("error[E830]: give --json or --csv, not both")
    f = _filter(limit=limit, **filters)
    with open_store(db_path, readonly=True) as store:
        rows = list(select(store, f))
    if as_json:
        for r in rows:
            click.echo(json.dumps(r, sort_keys=True, ensure_ascii=False, allow_nan=False))
        return
    if as_csv:
        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(COLUMNS)
        w.writerows([["" if r[c] is None else r[c] for c in COLUMNS] for r in rows])
        return
    if not rows:
        click.echo("no evaluations match", err=True)
        return
    lines = render.table(
        ["evaluation", "customer", "rated on", "rulebook", "total", "model", "final", "now", "overrides"],
        [[r["evaluation_id"], r["customer_id"], r["rated_on"], f"{r['rulebook_id']} {r['rulebook_version'] or ''}".strip(),
          f"{r['total']:.2f}", r["model_grade"], r["final_grade"], r["effective_grade"], r["overrides"]]
         for r in rows],
        right=[4, 8],
    )
    click.echo("\n".join(lines))
    click.echo(f"{len(rows)} evaluation{'s' if len(rows) != 1 else ''}", err=True)


@click.command()
@_filters
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="csv", show_default=True,
              help="csv and jsonl write to stdout or -o FILE; xlsx needs -o FILE and pip install 'pingji[xlsx]'.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Write here instead of stdout.")
@db_option
def export(db_path: str, fmt: str, output: Path | None, **filters: Any) -> None:
    """Export stored ratings with every factor's points: CSV, JSON Lines or Excel.

    One row per evaluation (the same filters as `pingji list`): its id, customer, rating date,
    rulebook, total, model and final grade, the grade now after expert overrides, PD, the number of
    overrides, then one points.<factor> column per factor. The row count goes to stderr.

    Example:

        pingji export --latest --format csv -o ratings.csv
    """
    f = _filter(**filters)
    if fmt == "xlsx" and output is None:
        raise UsageFailure("error[E830]: --format xlsx writes a workbook: give -o FILE.xlsx")
    with open_store(db_path, readonly=True) as store:
        try:
            if fmt == "xlsx":
                assert output is not None
                n = write_xlsx(store, f, output)
            elif output is None:
                n = (write_csv if fmt == "csv" else write_jsonl)(store, f, sys.stdout)
            else:
                with output.open("w", encoding="utf-8", newline="") as fh:
                    n = (write_csv if fmt == "csv" else write_jsonl)(store, f, fh)
        except MissingExtra as exc:
            raise UsageFailure(f"error[E831]: {exc}") from None
    where = f" to {output}" if output is not None else ""
    click.echo(f"exported {n} evaluation{'s' if n != 1 else ''}{where}", err=True)
