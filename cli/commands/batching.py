"""Rating a portfolio (`batch`): on this machine's cores or a Dask cluster, resumable."""

from __future__ import annotations

import contextlib
import json
import sys
from typing import Any

import click

from pingji.batch.cluster import (  # imports distributed only to connect
    DEFAULT_TIMEOUT,
    Cluster,
    check_address,
    connect,
)
from pingji.batch.local import DEFAULT_COMMIT_EVERY, run_batch
from pingji.cli import render
from pingji.cli.commands.rating import rated_on_option, warn_relabelled
from pingji.cli.options import (
    Progress,
    UsageFailure,
    db_option,
    json_option,
    rulebook_option,
    rulebooks_option,
)
from pingji.errors import ClusterUnavailable
from pingji.store.database import Store

FAILURES_SHOWN = 20


def _scheduler_address(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return check_address(value)
    except ClusterUnavailable as exc:
        raise click.BadParameter(exc.message) from None


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
