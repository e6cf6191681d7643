"""Early warnings: signals between two snapshots of a customer, re-ratings due (`monitor`) and the portfolio report (`portfolio`)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

import pingji
from pingji.analysis.monitoring import compare, snapshot_schemas
from pingji.analysis.portfolio import build_portfolio
from pingji.cli import render
from pingji.cli.options import DATE, Failure, json_option, lang_option, rulebooks_option
from pingji.decisions.monitoring import Monitoring
from pingji.decisions.snapshots import read_customer, read_snapshots
from pingji.rating import catalog
from pingji.report.portfolio import render_portfolio_html, render_portfolio_markdown
from pingji.store.database import DEFAULT_DB, ENV_VAR, Store

COMMANDS: list[click.Command] = []


def _no_store(db_path: str, otherwise: str) -> Failure:
    return Failure(f"{db_path}: no store here; rate the customers first (pingji rate ... --db {db_path}) or "
                   f"give {otherwise}")


@contextmanager
def _opened(db_path: str, required: bool, otherwise: str = "--previous") -> Iterator[Store | None]:
    """The store at `db_path` (None when there is none and it is not `required`), closed afterwards."""
    if not os.path.exists(db_path):
        if required:
            raise _no_store(db_path, otherwise)
        yield None
        return
    store = Store.open(db_path, create=False, readonly=True)
    try:
        yield store
    finally:
        store.close()


def _signal_line(s: dict[str, Any], lang: str) -> str:
    title = s["title_zh"] if lang == "zh" else s["title"]
    return f"    - {s['rule']} [{s['severity']}] ({s['at']}): {title}"


def _render(run: Monitoring, lang: str) -> list[str]:
    book = run.rulebook
    n = len(run.results)
    out = [f"monitoring {n} customer{'s' if n != 1 else ''} (rulebook {book.id} {book.version}, {book.file})", ""]
    listed = run.watch_list()
    out.append(f"watch list: {len(listed)}")
    for w in listed:
        out.append(f"  {w.customer_id}  severity {w.severity}  action {w.action}  (snapshot {w.as_of})")
        out += [_signal_line(s, lang) for s in w.signals()]
    due = run.rerate_due()
    out += ["", f"re-ratings due: {len(due)}"]
    for w in due:
        rr = w.decision.outputs["rerate"]
        why = "; ".join(f"{r} ({at})" for r, at in zip(rr.rules, rr.at))
        when = f"now ({w.due_date()})" if w.due() == "now" else str(w.due_date())
        out.append(f"  {w.customer_id}  grade {(w.rating or {}).get('grade', '-')}  due {when}  {why}")
    problems = run.problems()
    out += ["", f"problem customers: {len(problems)}"]
    for i, w in enumerate(problems):
        if i:
            out.append("")
        rows = run.histories.get(w.customer_id)
        if not rows:
            out.append(f"  customer {w.customer_id}: no rating history in the store")
            continue
        out += [f"  {line}" if line else "" for line in render.history(w.customer_id, rows).splitlines()]
    if run.unrated:
        out += ["", f"not compared (no stored evaluation and no --previous): {', '.join(run.unrated)}"]
    return out


@click.command()
@click.argument("current", nargs=-1, required=True, type=click.Path(exists=False))
@click.option("--previous", metavar="FILE", type=click.Path(dir_okay=False),
              help="The earlier snapshot of the one customer in CURRENT (default: the facts of its latest "
                   "stored evaluation).")
@click.option("--rulebook", "-r", metavar="ID|PATH", default="early-warning", show_default=True,
              help="Monitoring rulebook.")
@click.option("--as-of", "as_of", type=DATE,
              help="Monitoring date: re-ratings are counted to it and no snapshot may be dated after it "
                   "(default: each snapshot's as_of).")
@click.option("--db", "db_path", metavar="FILE", envvar=ENV_VAR, default=DEFAULT_DB, show_default=True,
              show_envvar=True, help="The evaluation store: earlier facts, grades and histories.")
@rulebooks_option
@json_option
@lang_option
def monitor(current: tuple[str, ...], previous: str | None, rulebook: str, as_of: str | None, db_path: str,
            rulebooks: tuple[str, ...], as_json: bool, lang: str) -> None:
    """Early-warning signals and re-ratings due, comparing customers' new facts with earlier ones.

    CURRENT is one or more customer facts files (YAML or JSON, any customer type), folders of
    them, or JSONL files (one customer per line): the new snapshots. Each is compared with the
    facts of the customer's latest evaluation in the store, or with --previous for a single
    customer. Each snapshot is checked against the facts schema of the rulebook that rated the
    customer (own customer types too), else of the rating rulebook its type and industry choose
    (with --rulebooks). Prints the watch list (customers with signals, most severe first, each signal with
    its severity and rule file:line, and the recommended action), the customers due for
    re-rating (by grade frequency, or at once on a severe signal or a downgrade) with the date,
    and the problem customers (high or severe) with their rating history.

    Example:

        pingji rate facts/monitoring/machinery-2026-04.yaml --db demo.db

        pingji monitor facts/monitoring/machinery-2026-10.yaml --db demo.db

        cd facts/monitoring && pingji monitor machinery-2026-10.yaml --previous machinery-2026-04.yaml
    """
    book = pingji.load_decision(catalog.find(rulebook, user=rulebooks), kind="monitoring")
    with _opened(db_path, required=False) as store:
        schemas = snapshot_schemas(store, rulebooks)
        docs = read_snapshots(current, schemas)
        if not docs:
            raise Failure(f"no facts files in {', '.join(current)}")
        if previous and len(docs) != 1:
            raise click.UsageError("--previous compares one customer: give exactly one CURRENT snapshot")
        earlier = read_customer(previous, schemas) if previous else None
        if store is None and earlier is None:
            raise _no_store(db_path, "--previous")
        run = compare(book, docs, previous=earlier, as_of=as_of, store=store)
    if as_json:
        click.echo(json.dumps(run.to_dict(), sort_keys=True, ensure_ascii=False, indent=2, allow_nan=False))
        return
    click.echo("\n".join(_render(run, lang)))


COMMANDS.append(monitor)


@click.command()
@click.option("--db", "db_path", metavar="FILE", envvar=ENV_VAR, default=DEFAULT_DB, show_default=True,
              show_envvar=True, help="The evaluation store: ratings, their facts and histories.")
@click.option("--loans", metavar="FILE", type=click.Path(dir_okay=False),
              help="A LOANS file to classify and provision (as `pingji classify` reads it).")
@click.option("--fx", "fx_file", metavar="FILE", default=None,
              help="FX table converting --loans in more than one currency into its reporting currency "
                   "(as `pingji classify --fx` reads it).")
@click.option("--snapshots", metavar="PATH", multiple=True,
              help="New facts of customers (files or folders) to compare with their stored facts; repeatable.")
@click.option("--as-of", "as_of", type=DATE,
              help="Report date: re-ratings are due by it (default: the LOANS file's as_of, else today).")
@click.option("--format", "fmt", type=click.Choice(["md", "html"]), default="md", show_default=True)
@click.option("--output", "-o", metavar="FILE", help="Write the report here instead of standard output.")
@rulebooks_option
@json_option
@lang_option
def portfolio(db_path: str, loans: str | None, fx_file: str | None, snapshots: tuple[str, ...], as_of: str | None,
              fmt: str, output: str | None, rulebooks: tuple[str, ...], as_json: bool, lang: str) -> None:
    """The portfolio report (Markdown or HTML): ratings by industry, asset quality, provisions and
    coverage, the watch list and the re-ratings due.

    Ratings come from the store (each customer's latest evaluation, expert overrides applied);
    categories and reserves from the built-in classification and provisioning rulebooks run on
    --loans; signals from the early-warning rulebook on --snapshots; re-ratings due from the same
    rulebook's frequency by grade, for every rated customer.

    Example:

        pingji rate facts/examples/machinery-a.yaml --db demo.db

        pingji portfolio --db demo.db --loans facts/loans/portfolio.yaml --format html -o portfolio.html
    """
    if fx_file and not loans:
        raise click.UsageError("--fx converts the loans of --loans: give --loans FILE too")
    with _opened(db_path, required=loans is None, otherwise="--loans") as store:
        report = build_portfolio(store, loans=loans, snapshots=snapshots, as_of=as_of, fx=fx_file,
                                 rulebooks=rulebooks)
    if as_json:
        click.echo(json.dumps(report.to_dict(), sort_keys=True, ensure_ascii=False, indent=2, allow_nan=False))
        return
    text = render_portfolio_html(report, lang) if fmt == "html" else render_portfolio_markdown(report, lang)
    if output:
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise Failure(f"{output}: cannot write the report: {exc.strerror or exc}") from None
        click.echo(f"wrote {output}")
    else:
        click.echo(text, nl=False)


COMMANDS.append(portfolio)

