"""Rating a portfolio: CSV, JSONL or a folder of fact files, streamed, on all cores, resumable.

    result = run_batch("portfolio.csv", store, workers=4, progress=bar.update)

- Streaming: records are read one at a time and at most a few chunks per worker are in flight, so
  memory does not grow with the input.
- Parallel: worker processes (spawned; each loads and compiles its rulebooks once) rate chunks of
  records and send back rows ready to insert; only this process writes, in transactions of
  `commit_every` records, in input order.
- Resumable: a batch is identified by the hash of its input's content and of the rulebook (or of
  the whole catalog when the rulebook is chosen per customer). Every stored record carries its key
  (line number, or file name in a folder); a rerun skips the keys already stored, so a batch killed
  half-way and run again stores every record exactly once.
- Failures do not stop a batch: a record that cannot be read, fails its facts schema or has no
  rulebook is stored as a failure with its line and reason.
- Beyond one machine: `run_batch(..., scheduler="tcp://host:8786")` rates the chunks on a Dask
  cluster instead of local processes (pingji.batch.cluster); streaming, order, writing and resuming are
  the same, and still only this process writes.

Input formats: see pingji.batch.sources. How one record is rated: pingji.batch.rater.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import signal
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from typing import Any

from pingji.batch.cluster import DEFAULT_TIMEOUT, Cluster, connect
from pingji.batch.rater import LoadedRulebooks, Rater, catalog_key, chunks
from pingji.batch.sources import Raw, Source, open_source, portable
from pingji.diagnostics import Location
from pingji.errors import BatchError, ClusterLost, PingjiError
from pingji.lang.factschema import load_schema
from pingji.lang.flatfacts import unknown_columns
from pingji.rating import catalog
from pingji.rating.load import load_rulebook
from pingji.rating.model import Rulebook
from pingji.store.database import Outcome, Store

DEFAULT_COMMIT_EVERY = 500
RECORDS_PER_WORKER_FOR_SPAWN = (
    200  # below this many records per worker, extra processes cost more than they save
)

__all__ = ["DEFAULT_COMMIT_EVERY", "BatchRun", "default_workers", "outcomes", "run_batch"]


_RATER: Rater | None = None


def _init(rulebook: str | None, kind: str, display: str, user: tuple[str, ...] = ()) -> None:
    global _RATER
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it keeps what is done
    _RATER = Rater(rulebook, kind, display, user=user)


def _work(chunk: list[Raw]) -> list[Outcome]:
    assert _RATER is not None
    return [_RATER.rate(r) for r in chunk]


def outcomes(
    records: Iterator[Raw],
    args: tuple[str | None, str, str],
    workers: int,
    chunk_size: int,
    cluster: Cluster | None = None,
    loaded: LoadedRulebooks | None = None,
    batch_id: str = "",
    user: tuple[str, ...] = (),
) -> Iterator[Outcome]:
    """Outcomes in input order; at most 4 chunks per worker in flight (per worker thread on a cluster);
    `user`: the user's rulebook folders each local worker process chooses from (read once per process)."""
    if cluster is not None:
        assert loaded is not None
        _, kind, display = args
        portables = (portable(r, kind, display) for r in records)
        yield from cluster.outcomes(portables, loaded, kind, display, chunk_size, batch_id)
        return
    if workers <= 1:
        rater = Rater(*args, user=user)
        for r in records:
            yield rater.rate(r)
        return
    pool = ProcessPoolExecutor(
        workers, mp_context=multiprocessing.get_context("spawn"), initializer=_init, initargs=(*args, user)
    )
    pending: deque[Future[list[Outcome]]] = deque()
    try:
        for chunk in chunks(records, chunk_size):
            pending.append(pool.submit(_work, chunk))
            while len(pending) >= workers * 4:
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()
    except BrokenProcessPool:
        raise BatchError(
            "a worker process died; the records stored so far are kept: run the batch again to resume"
        ) from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def check_columns(source: Source, rb: Rulebook | None, user: catalog.Folders = ()) -> None:
    """Refuse a CSV header with a column that names no fact (E921, once, at line 1; issue 12.15):
    every row would otherwise fail for it. The facts schema is the rulebook's, or with the rulebook
    chosen per customer, any of the catalog's rating rulebooks' (a column one of them knows is kept)."""
    if rb is not None:
        schemas = [rb.facts_schema]
    else:
        schemas, seen = [], set()
        for e in catalog.catalog(user=user):  # the user's own customer types too (issue 12.20)
            path = catalog.facts_schema_of(e.path) if e.kind == "rating" else None
            if path is None or path in seen:
                continue
            seen.add(path)
            try:
                schemas.append(load_schema(path))
            except PingjiError:
                continue
    unknown = unknown_columns(source.header, schemas)
    if unknown:
        parts = [f"column {col} '{name}'" + (f" (did you mean '{hint}'?)" if hint else "") for col, name, hint in unknown]
        raise BatchError(
            f"the header names facts the facts schema does not know: {'; '.join(parts)}; no record was rated",
            Location(source.display, 1),
            "E921",
        )


# -- the batch ------------------------------------------------------------------------------------
@dataclass
class BatchRun:
    batch_id: str
    input: str
    kind: str
    records: int
    rulebook: str
    workers: int  # local processes, or the Dask workers when `scheduler` is set
    resumed: bool
    scheduler: str | None = None  # the Dask scheduler the batch ran on
    rated_on: str | None = None  # the rating date given for every record (else each record's as_of)
    rated: int = 0  # by this run
    failed: int = 0  # by this run
    skipped: int = 0  # already stored by an earlier run
    summary: dict[str, Any] = field(default_factory=dict)  # the whole batch, every run
    failures: list[dict[str, Any]] = field(default_factory=list)
    warned: int = 0  # records this run rated with warnings of the consistency checks
    warnings: list[str] = field(default_factory=list)  # their warnings, as many as failures are shown
    warnings_total: int = 0  # how many warnings this run, shown or not
    duplicates: list[dict[str, Any]] = field(default_factory=list)  # W920: a customer id on several records

    @property
    def failed_total(self) -> int:
        return int(self.summary.get("failed", 0))

    def to_dict(self) -> dict[str, Any]:
        return {
            "batch_id": self.batch_id,
            "input": self.input,
            "kind": self.kind,
            "records": self.records,
            "rulebook": self.rulebook,
            "workers": self.workers,
            "scheduler": self.scheduler,
            "resumed": self.resumed,
            "rated_on": self.rated_on,
            "this_run": {"rated": self.rated, "failed": self.failed, "skipped": self.skipped},
            "rated": self.summary.get("rated", 0),
            "failed": self.failed_total,
            "grade_order": self.summary.get("grade_order", []),
            "sections": self.summary.get("sections", []),
            "failures": self.failures,
            "warned": self.warned,
            "warnings": self.warnings,
            "warnings_total": self.warnings_total,
            "duplicates": self.duplicates,
        }


def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def run_batch(
    input_path: str | os.PathLike[str],
    store: Store,
    *,
    rulebook: str | None = None,
    workers: int | None = None,
    commit_every: int = DEFAULT_COMMIT_EVERY,
    failures_shown: int | None = None,
    progress: Callable[[int], None] | None = None,
    on_start: Callable[[BatchRun], None] | None = None,
    scheduler: str | Cluster | None = None,
    scheduler_timeout: float | None = None,
    rated_on: str | None = None,
    rulebooks: catalog.Folders = (),
) -> BatchRun:
    """Rate every record of the input into `store`; see the module docstring.

    `scheduler` rates on a Dask cluster instead of local processes, and excludes `workers`: a
    scheduler address (tcp://host:port; `scheduler_timeout` is how long to wait for it to answer and
    to have a worker, pingji.batch.cluster.DEFAULT_TIMEOUT seconds by default), or a Cluster already
    connected (pingji.batch.cluster.connect; left open). A cluster that cannot be used raises
    ClusterUnavailable before anything is stored; one that fails during the batch raises ClusterLost
    after storing what was rated before. `rulebooks`: the user's rulebook folders, chosen from before
    the built-in ones (pingji.rating.catalog); read once per process, not per customer.

    `rated_on` (YYYY-MM-DD) is the rating date of every record; without it, each record's facts
    `as_of` (else today). A batch with a rating date is another batch than the same input without.
    """
    if scheduler is not None and workers is not None:
        raise ValueError("run_batch: give workers (local processes) or scheduler (a Dask cluster), not both")
    source = open_source(input_path)
    total = source.count()  # one pass over the input: _run uses it too
    if total == 0:  # before the store hears of a batch: nothing done is not a success
        raise BatchError(f"input '{source.display}' has no records: nothing to rate", None, "E904")
    rb: Rulebook | None = None
    user = tuple(os.fspath(d) for d in rulebooks)
    if rulebook is not None:
        rb = load_rulebook(catalog.find(rulebook, user=user))  # refuse a bad rulebook before any record
        rb_key, rb_label = rb.content_hash, rulebook
    else:
        catalog.catalog(user=user)  # refuse a bad rulebooks folder before any record (E740-E742)
        rb_key, rb_label = catalog_key(user=user), "auto"
    if source.kind == "csv":
        check_columns(source, rb, user)
    cluster: Cluster | None = None
    if isinstance(scheduler, str):
        # Connected before the store hears of the batch: a cluster that cannot be used stores nothing.
        cluster = connect(scheduler, DEFAULT_TIMEOUT if scheduler_timeout is None else scheduler_timeout)
    elif scheduler is not None:
        cluster = scheduler
    try:
        loaded = LoadedRulebooks.load(rb, user) if cluster is not None else None
        return _run(source, total, store, (rulebook, user), rb_key, rb_label, workers, cluster, loaded,
                    commit_every, failures_shown, progress, on_start, rated_on)
    finally:
        if cluster is not None and cluster is not scheduler:
            cluster.close()


def _run(
    source: Source,
    total: int,
    store: Store,
    asked: tuple[str | None, tuple[str, ...]],
    rb_key: str,
    rb_label: str,
    workers: int | None,
    cluster: Cluster | None,
    loaded: LoadedRulebooks | None,
    commit_every: int,
    failures_shown: int | None,
    progress: Callable[[int], None] | None,
    on_start: Callable[[BatchRun], None] | None,
    rated_on: str | None = None,
) -> BatchRun:
    """The body of run_batch, once the rulebook is loaded and the cluster (if any) connected."""
    input_hash = source.digest()
    identity = f"{input_hash}\n{rb_key}" + (f"\nrated_on {rated_on}" if rated_on else "")
    batch_id = "B" + hashlib.sha256(identity.encode()).hexdigest()[:12]
    if cluster is not None:
        workers = cluster.workers
    elif workers is None:
        workers = max(1, min(default_workers(), total // RECORDS_PER_WORKER_FOR_SPAWN))
    workers = max(1, workers)
    new = store.begin_batch(
        batch_id,
        input_path=source.display,
        input_hash=input_hash,
        input_kind=source.kind,
        records=total,
        rulebook=rb_label,
        rulebook_key=rb_key,
        workers=workers,
    )
    run = BatchRun(
        batch_id,
        source.display,
        source.kind,
        total,
        rb_label,
        workers,
        resumed=not new,
        scheduler=cluster.address if cluster is not None else None,
        rated_on=rated_on,
    )
    if on_start is not None:
        on_start(run)
    commit_every = max(1, commit_every)

    def todo() -> Iterator[Raw]:
        for raw in source.records():
            # A new batch has nothing stored to skip (write_outcomes still checks, under the write lock,
            # in case another run of the same batch is storing it at the same time).
            if not new and store.batch_has(batch_id, raw.key):
                run.skipped += 1
                if progress is not None:
                    progress(1)
                continue
            yield raw

    buffer: list[Outcome] = []

    def flush() -> None:
        if buffer:
            rated, failed = store.write_outcomes(batch_id, buffer)
            run.rated += rated
            run.failed += failed
            buffer.clear()

    parallel = cluster.threads if cluster is not None else workers
    chunk = max(1, min(64, commit_every // max(1, parallel)))
    args = (asked[0], source.kind, source.display)
    try:
        for outcome in outcomes(todo(), args, workers, chunk, cluster, loaded, batch_id, asked[1]):
            if rated_on is not None and outcome.prepared is not None:
                outcome = replace(outcome, prepared=replace(outcome.prepared, rated_on=rated_on))
            buffer.append(outcome)
            if outcome.prepared is not None and outcome.prepared.warnings:
                run.warned += 1
                run.warnings_total += len(outcome.prepared.warnings)
                room = None if failures_shown is None else max(0, failures_shown - len(run.warnings))
                run.warnings.extend(outcome.prepared.warnings[:room])
            if progress is not None:
                progress(1)
            if len(buffer) >= commit_every:
                flush()
    except (KeyboardInterrupt, ClusterLost):
        flush()  # keep what is done: a rerun resumes after it
        raise
    flush()
    store.finish_batch(batch_id, rated=run.rated, failed=run.failed, skipped=run.skipped)
    run.summary = store.batch_summary(batch_id)
    run.failures = store.batch_failures(batch_id, failures_shown)
    run.duplicates = [duplicate_warning(source, cid, keys)
                      for cid, keys in store.batch_duplicates(batch_id, failures_shown)]
    return run


def duplicate_warning(source: Source, customer_id: str, keys: list[str]) -> dict[str, Any]:
    """W920: one customer id on several records of the input (issue 12.15). Each is rated and stored as
    its own evaluation; the warning says so, with every record's line (or file in a folder)."""
    listed = f"{', '.join(keys[:-1])} and {keys[-1]}"
    where = f"in files {listed} of {source.display}" if source.kind == "folder" else f"on lines {listed} of {source.display}"
    return {
        "code": "W920",
        "customer_id": customer_id,
        "keys": keys,
        "message": f"warning[W920]: customer id '{customer_id}' is {where}: each record is stored as an "
                   f"evaluation of its own",
    }
