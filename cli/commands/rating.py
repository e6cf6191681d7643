"""Rating: one customer (`rate`) or a portfolio (`batch`)."""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import sys
from typing import Any

import click

import pingji
from pingji.batch.cluster import (  # imports distributed only to connect
    DEFAULT_TIMEOUT,
    Cluster,
    check_address,
    connect,
)
from pingji.batch.local import DEFAULT_COMMIT_EVERY, run_batch
from pingji.cli import render
from pingji.cli.commands.watch import DATE
from pingji.cli.options import (
    Progress,
    UsageFailure,
    db_option,
    json_option,
    lang_option,
    rulebook_option,
    rulebooks_option,
)
from pingji.errors import ClusterUnavailable
from pingji.rating import catalog
from pingji.rating.model import Rulebook
from pingji.store.database import Store
from pingji.store.records import prepare

FAILURES_SHOWN = 20


def _not_after_today(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and value > _dt.date.today().isoformat():
        raise click.BadParameter(f"{value} is after today: a rating cannot be dated in the future")
    return value


def rated_on_option(f: Any) -> Any:
    return click.option(
        "--rated-on", "rated_on", type=DATE, metavar="DATE", callback=_not_after_today,
        help="The rating date (YYYY-MM-DD) stored with the evaluation, which validate, history, --as-of and "
             "the portfolio read, and against which the consistency checks date the facts (default: the "
             "facts' as_of, else today).")(f)


def _scheduler_address(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return check_address(value)
    except ClusterUnavailable as exc:
        raise click.BadParameter(exc.message) from None


def load_for(rulebook: str | None, facts: dict[str, Any], user: tuple[str, ...] = ()) -> Rulebook:
    path = catalog.find(rulebook, user=user) if rulebook else catalog.select(facts, user=user)
    return pingji.load_rulebook(path)


@click.command()
@click.argument("facts", type=click.Path(dir_okay=False))
@rulebook_option
@rulebooks_option
@db_option
@click.option("--no-store", is_flag=True, help="Do not store the evaluation.")
@rated_on_option
@json_option
@lang_option
def rate(facts: str, rulebook: str | None, rulebooks: tuple[str, ...], db_path: str, no_store: bool,
         rated_on: str | None, as_json: bool,
         lang: str) -> None:
    """Rate one customer from a YAML or JSON facts file, and store the evaluation.

    Prints the evaluation id, grade, total score, factor points, overrides and reason codes;
    --json prints the full evaluation with its trace. The evaluation is stored with its rating
    date (--rated-on, else the facts' as_of), apart from the time it was stored.

    Example:

        pingji rate facts/examples/machinery-a.yaml --rulebook manufacturing

        pingji rate old-facts.yaml --rated-on 2024-12-31
    """
    doc = pingji.read_facts(facts)
    rb = load_for(rulebook, doc.data, rulebooks)
    ev = pingji.evaluate(rb, doc.data, locate=doc.locate, label=doc.file,
                         rating_date=_dt.date.fromisoformat(rated_on) if rated_on else None)
    eid = None
    prepared = prepare(ev, doc.data, rated_on=rated_on)
    if not no_store:
        with Store.open(db_path) as store:
            eid = store.add(prepared)
            for r in store.relabelled(hashes=[rb.content_hash]):
                warn_relabelled(r)
    if as_json:
        d = ev.to_dict()
        if eid is not None:
            d["evaluation_id"], d["evaluated_at"] = eid, prepared.evaluated_at
            d["rated_on"] = prepared.rated_on
        click.echo(json.dumps(d, sort_keys=True, ensure_ascii=False, indent=2, allow_nan=False))
        return
    shown = f"{eid} (stored in {db_path})" if eid is not None else "not stored"
    click.echo(render.summary(ev, lang, evaluation=shown))


def warn_relabelled(r: dict[str, Any]) -> None:
    others = ", ".join(h[:12] for h in r["others"])
    click.echo(f"warning: rulebook {r['id']} {r['version']} (sha256 {r['hash'][:12]}) differs from what this store "
               f"already holds under the same id and version (sha256 {others}); give the changed rulebook a new "
               f"version", err=True)


@click.command()
@click.argument("input_path", metavar="INPUT", type=click.Path())
@rulebook_option
@rulebooks_option
@click.option(
    "--workers",
    "-w",
    type=click.IntRange(min=1),
    metavar="N",
    help="Worker processes; default: every core (fewer for a small input).",
)
@db_option
@json_option
@click.option(
    "--commit-every",
    type=click.IntRange(min=1),
    default=DEFAULT_COMMIT_EVERY,
    show_default=True,
    metavar="N",
    help="Records per transaction.",
)
@click.option(
    "--scheduler",
    metavar="URL",
    callback=_scheduler_address,
    help="Rate on the Dask cluster of this scheduler (tcp://host:8786) instead of this machine's cores; "
    "needs pip install 'pingji[dask]'.",
)
@click.option(
    "--scheduler-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_TIMEOUT,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for the scheduler to answer, and for a worker.",
)
@rated_on_option
def batch(
    input_path: str,
    rulebook: str | None,
    rulebooks: tuple[str, ...],
    workers: int | None,
    db_path: str,
    as_json: bool,
    commit_every: int,
    scheduler: str | None,
    scheduler_timeout: float,
    rated_on: str | None,
) -> None:
    """Rate a portfolio: a CSV file, a JSONL file or a folder of fact files.

    CSV headers are dotted fact paths (financials.current.revenue; assessments.0.level); an empty
    cell is a missing fact. Records are rated on all cores and stored in transactions. Run the same
    command again after an interruption: it resumes, and stores no record twice. Records that fail
    (bad facts, no rulebook) are listed with their line and reason and do not stop the batch; the
    exit code is 1 if any failed. Progress goes to stderr; a summary of final grades by industry
    section (GB/T 4754) to stdout.

    Beyond one machine, --scheduler rates on a Dask cluster (pip install 'pingji[dask]'): this
    command still reads the input and alone writes to the store; the workers get the rulebooks
    already loaded (they need pingji installed, not the files) and compile each once. Start one
    single-threaded worker per core: dask worker tcp://HOST:8786 --nworkers 4 --nthreads 1.
    --workers is refused with --scheduler. A scheduler that does not answer is an error (exit 2)
    and stores nothing; if the cluster fails during the batch, what was stored is kept: run the
    command again to resume.

    Each evaluation is stored with its rating date: --rated-on for every record, else the record's
    as_of. Re-rating a historical book keeps its date, so a back-test finds its defaults.

    Example:

        pingji batch portfolio.csv --workers 4

        pingji batch portfolio.jsonl --scheduler tcp://10.0.0.5:8786

        pingji batch book-2024.csv --rated-on 2024-12-31
    """
    if scheduler is not None and workers is not None:
        raise click.UsageError(
            "--workers sets processes on this machine; with --scheduler the Dask cluster's workers "
            "rate the records: leave out --workers"
        )
    with contextlib.ExitStack() as stack:
        cluster: Cluster | None = None
        if scheduler is not None:
            try:  # before the store is opened: a cluster that cannot be used leaves no trace
                cluster = stack.enter_context(connect(scheduler, scheduler_timeout))
            except ClusterUnavailable as exc:
                raise UsageFailure(str(exc)) from None
        store = stack.enter_context(Store.open(db_path))
        bar: Any = None

        def start(run: Any) -> None:
            nonlocal bar
            bar = stack.enter_context(Progress(run.records, f"rating {run.input}"))

        def advance(n: int) -> None:
            if bar is not None:
                bar.update(n)

        run = run_batch(
            input_path,
            store,
            rulebook=rulebook,
            workers=workers,
            scheduler=cluster,
            commit_every=commit_every,
            failures_shown=None if as_json else FAILURES_SHOWN,
            progress=advance,
            on_start=start,
            rated_on=rated_on,
            rulebooks=rulebooks,
        )
        relabelled = store.relabelled(batch_id=run.batch_id)
    for r in relabelled:
        warn_relabelled(r)
    result = run.to_dict()
    if as_json:
        click.echo(json.dumps(result, sort_keys=True, ensure_ascii=False, indent=2))
    else:
        click.echo(render.batch(result))
    if run.failed_total:
        sys.exit(1)
