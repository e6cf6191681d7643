"""Early warnings: signals between two snapshots of a customer, re-ratings due (`monitor`) and the portfolio report (`portfolio`)."""

from __future__ import annotations

import datetime as _dt
import json
import os
from pathlib import Path

import click

import engine
from engine import catalog
from engine.assets import coarse_grades
from engine.builtin import facts_dir
from engine.diagnostics import error
from engine.errors import FactsError
from engine.factschema import find_schema, load_schema, require_valid
from engine.monitoring import Watch, check_order, rating_of, watch, watch_list
from engine.store import DEFAULT_DB, ENV_VAR, Store

from .. import render
from ..options import Failure, json_option, lang_option

COMMANDS: list[click.Command] = []

SNAPSHOT_SUFFIXES = (".yaml", ".yml", ".json")


def _files(paths: tuple[str, ...]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            out.extend(sorted(q for q in path.iterdir() if q.suffix in SNAPSHOT_SUFFIXES))
        else:
            out.append(path)
    return out


def _read(path: Path | str) -> engine.facts.FactsFile:
    """A customer's facts, checked against the schema of its customer type."""
    doc = engine.read_facts(path)
    data = doc.data
    if not isinstance(data, dict):
        raise FactsError([error("E501", "facts must be a mapping", doc.loc(()))])
    ctype = data.get("customer_type")
    schema_path = find_schema(str(ctype), facts_dir()) if isinstance(ctype, str) else None
    if schema_path is None or ctype not in ("corporate", "individual", "small_business"):
        raise FactsError([error("E501", f"customer_type {ctype!r} is not one of corporate, individual, small_business",
                                doc.loc(("customer_type",) if "customer_type" in data else ()))])
    require_valid(data, load_schema(schema_path), doc.loc, doc.file)
    if not isinstance(data.get("id"), str):
        raise FactsError([error("E501", "id is required: the customer id", doc.loc(()))])
    return doc


def _open(db_path: str, required: bool, otherwise: str = "--previous") -> Store | None:
    if not os.path.exists(db_path):
        if required:
            raise Failure(f"{db_path}: no store here; rate the customers first (pingji rate ... --db {db_path}) or "
                          f"give {otherwise}")
        return None
    return Store.open(db_path, create=False)


def _compare(book: engine.DecisionBook, files: list[Path], previous: str | None, as_of: str | None,
             store: Store | None) -> tuple[list[Watch], list[str]]:
    """Each new snapshot against the customer's previous one; the ids with nothing to compare with."""
    results: list[Watch] = []
    unrated: list[str] = []
    latest = {r["customer_id"]: r for r in store.latest_ratings()} if store else {}
    coarse = coarse_grades(list(latest.values())) if latest else {}
    for f in files:
        doc = _read(f)
        cid = str(doc.data["id"])
        row = latest.get(cid)
        if previous:
            prev = _read(previous)
            before = prev.data
            if before["id"] != cid:
                raise FactsError([error("E522", f"--previous is customer '{before['id']}', not '{cid}'",
                                        prev.loc(("id",)))])
        elif row is not None:
            assert store is not None
            before = store.record(row["evaluation_id"])["facts"]
        else:
            unrated.append(cid)
            continue
        check_order(before, doc.data, doc.loc, doc.file)
        when = as_of or doc.data.get("as_of")
        if not isinstance(when, str):
            raise FactsError([error("E520", "as_of is required (in the facts or with --as-of)", doc.loc(()))])
        rating = rating_of(row, coarse.get(cid)) if row else None
        results.append(watch(book, cid, when, before, doc.data, rating, doc.data.get("customer_type")))
    return results, unrated


@click.command()
@click.argument("current", nargs=-1, required=True, type=click.Path(exists=False))
@click.option("--previous", metavar="FILE", type=click.Path(dir_okay=False),
              help="The earlier snapshot of the one customer in CURRENT (default: the facts of its latest "
                   "stored evaluation).")
@click.option("--rulebook", "-r", metavar="ID|PATH", default="early-warning", show_default=True,
              help="Monitoring rulebook.")
@click.option("--as-of", "as_of", metavar="DATE", help="Monitoring date (default: each snapshot's as_of).")
@click.option("--db", "db_path", metavar="FILE", envvar=ENV_VAR, default=DEFAULT_DB, show_default=True,
              show_envvar=True, help="The evaluation store: earlier facts, grades and histories.")
@json_option
@lang_option
def monitor(current: tuple[str, ...], previous: str | None, rulebook: str, as_of: str | None, db_path: str,
            as_json: bool, lang: str) -> None:
    """Early-warning signals and re-ratings due, comparing customers' new facts with earlier ones.

    CURRENT is one or more customer facts files (YAML or JSON, any customer type) or folders of
    them: the new snapshots. Each is compared with the facts of the customer's latest evaluation
    in the store, or with --previous for a single customer. Prints the watch list (customers with
    signals, most severe first, each signal with its rule file:line and the recommended action),
    the customers due for re-rating (by grade frequency, or at once on a severe signal), and the
    problem customers (high or severe) with their rating history.

    Example:

        pingji rate facts/monitoring/machinery-2026-04.yaml --db demo.db

        pingji monitor facts/monitoring/machinery-2026-10.yaml --db demo.db

        pingji monitor facts/monitoring/machinery-2026-10.yaml --previous facts/monitoring/machinery-2026-04.yaml
    """
    book = engine.load_decision(catalog.find(rulebook), kind="monitoring")
    files = _files(current)
    if not files:
        raise Failure(f"no facts files in {', '.join(current)}")
    if previous and len(files) != 1:
        raise click.UsageError("--previous compares one customer: give exactly one CURRENT file")
    store = _open(db_path, required=previous is None)
    try:
        results, unrated = _compare(book, files, previous, as_of, store)
        problems = {w.customer_id: store.history(w.customer_id) for w in results
                    if store and w.rank >= book.output("severity").rank("high") and w.rating}
    finally:
        if store:
            store.close()
    listed = watch_list(results)
    due = [w for w in results if w.due()]
    if as_json:
        click.echo(json.dumps({
            "rulebook": {"id": book.id, "version": book.version, "hash": book.content_hash},
            "watch_list": [{"customer_id": w.customer_id, "severity": w.severity,
                            "action": w.decision.value("action"), "signals": w.signals()} for w in listed],
            "rerate_due": [{"customer_id": w.customer_id, "due": w.due(), "rules": w.decision.outputs["rerate"].rules}
                           for w in due],
            "not_rated": unrated,
            "decisions": [w.decision.to_dict() for w in results],
            "problem_customers": problems,
        }, sort_keys=True, ensure_ascii=False, indent=2, allow_nan=False))
        return
    click.echo(f"monitoring {len(results)} customer{'s' if len(results) != 1 else ''} "
               f"(rulebook {book.id} {book.version}, {book.file})")
    click.echo("")
    click.echo(f"watch list: {len(listed)}")
    for w in listed:
        click.echo(f"  {w.customer_id}  {w.severity}  action: {w.decision.value('action')}")
        for s in w.signals():
            title = s["title_zh"] if lang == "zh" else s["title"]
            click.echo(f"    - {s['rule']} ({s['at']}): {title}")
    click.echo("")
    click.echo(f"re-ratings due: {len(due)}")
    for w in due:
        out = w.decision.outputs["rerate"]
        why = "; ".join(f"{r} ({at})" for r, at in zip(out.rules, out.at))
        grade = w.rating.get("grade") if w.rating else "-"
        click.echo(f"  {w.customer_id}  grade {grade}  due {w.due()}  ({why})")
    if problems:
        click.echo("")
        click.echo("problem customers (high or severe):")
        for cid, rows in problems.items():
            for line in render.history(cid, rows).splitlines():
                click.echo(f"  {line}" if line else "")
    if unrated:
        click.echo("")
        click.echo(f"not rated yet (no stored evaluation, no --previous): {', '.join(unrated)}")


COMMANDS.append(monitor)


@click.command()
@click.option("--db", "db_path", metavar="FILE", envvar=ENV_VAR, default=DEFAULT_DB, show_default=True,
              show_envvar=True, help="The evaluation store: ratings, their facts and histories.")
@click.option("--loans", metavar="FILE", type=click.Path(dir_okay=False),
              help="A LOANS file to classify and provision (as `pingji classify` reads it).")
@click.option("--snapshots", metavar="PATH", multiple=True,
              help="New facts of customers (files or folders) to compare with their stored facts; repeatable.")
@click.option("--as-of", "as_of", metavar="DATE",
              help="Report date: re-ratings are due by it (default: the LOANS file's as_of, else today).")
@click.option("--format", "fmt", type=click.Choice(["md", "html"]), default="md", show_default=True)
@click.option("--output", "-o", metavar="FILE", help="Write the report here instead of standard output.")
@json_option
@lang_option
def portfolio(db_path: str, loans: str | None, snapshots: tuple[str, ...], as_of: str | None, fmt: str,
              output: str | None, as_json: bool, lang: str) -> None:
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
    from engine.assets import classify_portfolio, provide, read_loans
    from engine.portfolio import PortfolioInputs, render_portfolio_html, render_portfolio_markdown

    book = engine.load_decision(catalog.find("early-warning"), kind="monitoring")
    store = _open(db_path, required=loans is None, otherwise="--loans")
    sources = [f"store {db_path}"] if store else []
    try:
        ratings = store.latest_ratings() if store else []
        coarse = coarse_grades(ratings)
        for r in ratings:
            r["coarse"] = coarse.get(r["customer_id"])
        cl = pv = None
        if loans:
            classify_book = engine.load_decision(catalog.find("five-category"), kind="classification")
            books = (engine.load_decision(catalog.find("provisions"), kind="provisioning"),
                     engine.load_decision(catalog.find("provision-adequacy"), kind="provisioning"))
            lf = read_loans(loans)
            cl = classify_portfolio(classify_book, lf, coarse)
            pv = provide(cl, *books)
            sources.append(f"loans {lf.file}")
        when = as_of or (cl.as_of if cl else None) or _dt.date.today().isoformat()
        files = _files(snapshots)
        results, _ = _compare(book, files, None, None, store) if files else ([], [])
        if files:
            sources.append(f"{len(files)} snapshot{'s' if len(files) != 1 else ''}")
        compared = {w.customer_id for w in results}
        for r in ratings:  # re-ratings due by grade frequency for everyone else
            if r["customer_id"] not in compared:
                results.append(watch(book, r["customer_id"], when, {}, {}, rating_of(r, r["coarse"]),
                                     r["customer_type"]))
    finally:
        if store:
            store.close()
    watch_rows = [{"customer_id": w.customer_id, "severity": w.severity, "action": w.decision.value("action"),
                   "signals": w.signals()} for w in watch_list(results)]
    rerate_rows = []
    for w in sorted(results, key=lambda w: w.customer_id):
        due = w.due()
        if due:
            out = w.decision.outputs["rerate"]
            rerate_rows.append({"customer_id": w.customer_id, "grade": (w.rating or {}).get("grade", ""), "due": due,
                                "why": "; ".join(f"{r} ({at})" for r, at in zip(out.rules, out.at))})
    inputs = PortfolioInputs(when, sources, ratings if store else None, cl, pv, watch_rows, rerate_rows)
    if as_json:
        click.echo(json.dumps({"as_of": when, "sources": sources, "ratings": ratings if store else None,
                               "classification": cl.to_dict() if cl else None,
                               "provisions": pv.to_dict() if pv else None, "watch_list": watch_rows,
                               "rerate_due": rerate_rows}, sort_keys=True, ensure_ascii=False, indent=2,
                              allow_nan=False))
        return
    text = render_portfolio_html(inputs, lang) if fmt == "html" else render_portfolio_markdown(inputs, lang)
    if output:
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise Failure(f"{output}: cannot write the report: {exc.strerror or exc}") from None
        click.echo(f"wrote {output}")
    else:
        click.echo(text, nl=False)


COMMANDS.append(portfolio)

