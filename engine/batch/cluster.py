"""A batch on a Dask cluster (`pingji batch INPUT --scheduler tcp://host:8786`): both sides of it.

    with connect("tcp://10.0.0.5:8786", timeout=10) as cluster:
        run_batch("portfolio.jsonl", store, scheduler=cluster)

This process (the Dask *client*) reads the input, submits chunks of records, takes the outcomes
back in input order and is the only one that writes to the store, exactly as a local batch does
(pingji.batch.local); the workers only rate. At most CHUNKS_PER_THREAD chunks per worker thread are in
flight, so memory does not grow with the input. `distributed` is imported here only, inside the
functions that need it (when a batch is given a scheduler): without the `dask` extra nothing else changes.

What the workers get. A worker may be on a machine without the rulebook files, the facts schema
or the input. So this process loads the rulebooks (YAML parsed, `extends` resolved, checked) and
sends the loaded objects: a `Rulebook` is frozen dataclasses that pickle cleanly (~60 KB for
manufacturing with its corporate parent), carry their facts schema and the file names their trace
shows, and rate in a process that cannot read any file exactly as here (tests/test_dask.py checks
it). With no rulebook named, every rating rulebook of the catalog is loaded (about half a second)
and sent with the catalog's entries, so each customer gets the rulebook it would get here. They go
to the scheduler once, as a task that returns them, on which every chunk depends: each worker gets
them once (from the worker that ran that task), not with every chunk; and unlike scattered data, the
scheduler can run that task again if every worker holding its result dies. A folder's fact files
are read here and sent as bytes with their records; CSV and JSONL records are sent as read.

Once per worker. On each worker process the first chunk of a batch builds the `Rater` from what
was scattered and compiles the named rulebook (the durable-rules ruleset too); later chunks reuse
it. The cache is keyed by the batch and the rulebooks' content and file names, so a rerun of the
batch reuses it, and it keeps the last KEEP_RATERS. `worker_stats()`, run on the workers with
`Client.run`, tells how many times each built it and how many chunks each rated.

The workers must run the same pingji: at connect every worker is asked for its version and a hash
of its engine code, and one that differs (or cannot import pingji) is refused. durable-rules runs one
evaluation at a time per rulebook in a process (pingji.runtime.ruleset holds a lock), so extra threads in a
worker add little: start one single-threaded worker per core,
`dask worker tcp://host:8786 --nworkers 4 --nthreads 1`.

Failures. A malformed address, no `distributed`, a scheduler that does not answer within the
timeout, no worker within it, or a worker running other code: ClusterUnavailable (E910) before
anything is stored. A worker lost during the batch: the scheduler gives its chunks to another worker
(the records are rated once and stored once, in order); when Dask gives up on a chunk (its workers
kept dying, `distributed.scheduler.allowed-failures`) or the scheduler goes away: ClusterLost (E911),
after what was rated before it is stored, and a rerun resumes. If every worker leaves and none joins,
the batch waits for one (Ctrl-C keeps what is stored, as in a local batch).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import hashlib
import logging
import socket
import threading
import uuid
from collections import OrderedDict, deque
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from pingji.batch.rater import LoadedRulebooks, Rater, chunks
from pingji.batch.sources import Raw
from pingji.errors import ClusterLost, ClusterUnavailable
from pingji.rating.run import ENGINE_VERSION, compiled_count, compiled_for
from pingji.runtime.ruleset import ruleset_for
from pingji.store.database import Outcome

__all__ = ["DEFAULT_TIMEOUT", "INSTALL_HINT", "Cluster", "check_address", "connect", "worker_stats"]

DEFAULT_TIMEOUT = 10.0  # seconds to wait for the scheduler to answer, and again for a worker
CHUNKS_PER_THREAD = 4
KEEP_RATERS = 4
KEEP_STATS = 64
SCHEMES = ("tcp", "tls")
INSTALL_HINT = "pip install 'pingji[dask]'"


def check_address(address: str) -> str:
    """`address` if it is a Dask scheduler address, scheme://host:port; else ClusterUnavailable."""
    example = "expected tcp://host:port, e.g. tcp://10.0.0.5:8786"
    try:
        parts = urlsplit(address.strip())
        port = parts.port
    except ValueError:
        parts, port = None, None
    if (parts is None or parts.scheme not in SCHEMES or not parts.hostname or port is None
            or parts.path not in ("", "/")):
        hint = f" (did you mean tcp://{address.strip()}?)" if "://" not in address and ":" in address else ""
        raise ClusterUnavailable(f"'{address}' is not a Dask scheduler address; {example}{hint}")
    return address.strip().rstrip("/")


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise ClusterUnavailable(
            f"running a batch on a Dask cluster needs the distributed package: {INSTALL_HINT}"
        ) from None
    return distributed


@functools.cache
def engine_identity() -> tuple[str, str]:
    """This process's pingji version and a hash of its engine code: a worker must have the same."""
    h = hashlib.sha256()
    folder = Path(__file__).parent.parent  # the whole pingji package
    for p in sorted(folder.rglob("*.py")) + sorted((folder / "schema").glob("*.json")):
        h.update(p.relative_to(folder).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    return ENGINE_VERSION, h.hexdigest()[:16]


def _worker_identity() -> tuple[str, str]:
    return engine_identity()  # the worker's own (this function is sent by name, not by value)


class Cluster:
    """A connected Dask client, for one or more batches (see connect)."""

    def __init__(self, address: str, client: Any):
        self.address = address
        self.client = client
        nthreads: dict[str, int] = client.nthreads()
        self.workers = len(nthreads)
        self.threads = max(1, sum(nthreads.values()))

    def outcomes(
        self,
        records: Iterator[Raw],
        loaded: LoadedRulebooks,
        kind: str,
        display: str,
        chunk_size: int,
        batch_id: str,
    ) -> Iterator[Outcome]:
        """Outcomes in input order; at most CHUNKS_PER_THREAD chunks per worker thread in flight."""
        distributed = _distributed()
        token = f"{batch_id}-{kind}-{hashlib.sha256(display.encode()).hexdigest()[:8]}-{loaded.key()}"
        run = uuid.uuid4().hex[:8]
        limit = self.threads * CHUNKS_PER_THREAD
        shipped: Any = None
        pending: deque[tuple[Any, str, str]] = deque()
        try:
            for n, chunk in enumerate(chunks(records, chunk_size)):
                if shipped is None:
                    # A task, not scattered data: if every worker holding it dies, the scheduler makes it again.
                    shipped = self.client.submit(
                        _shipment, Shipment(token, kind, display, loaded), key=f"pingji-rulebooks-{run}"
                    )
                future = self.client.submit(_rate_chunk, shipped, chunk, key=f"pingji-rate-{run}-{n}", pure=False)
                pending.append((future, chunk[0].key, chunk[-1].key))
                while len(pending) >= limit:
                    yield from self._result(distributed, *pending.popleft())
            while pending:
                yield from self._result(distributed, *pending.popleft())
        finally:
            with contextlib.suppress(Exception):  # the scheduler may be gone: nothing left to cancel then
                if pending:
                    self.client.cancel([f for f, _, _ in pending])
                if shipped is not None:
                    shipped.release()

    def _result(self, distributed: Any, future: Any, first: str, last: str) -> list[Outcome]:
        what = f"record {first}" if first == last else f"records {first} to {last}"
        resume = "the records stored so far are kept: run the batch again to resume"
        cancelled = (concurrent.futures.CancelledError, getattr(distributed, "CancelledError", OSError))
        try:
            return future.result()  # type: ignore[no-any-return]
        except distributed.KilledWorker:
            raise ClusterLost(f"the Dask workers rating {what} died (Dask gave up on them); {resume}") from None
        except (*cancelled, OSError):  # the scheduler went away: the client cancels every future
            raise ClusterLost(
                f"lost the connection to the Dask scheduler at {self.address} while rating {what}; {resume}"
            ) from None
        except Exception as exc:  # noqa: BLE001 - a chunk failed on a worker (records' own errors never get here)
            raise ClusterLost(
                f"rating {what} failed on the Dask cluster: {type(exc).__name__}: {exc}; {resume}"
            ) from None

    def close(self) -> None:
        with _quiet():
            self.client.close()

    def __enter__(self) -> Cluster:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def connect(address: str, timeout: float = DEFAULT_TIMEOUT) -> Cluster:
    """Connect to the scheduler at `address` and check its workers; ClusterUnavailable if it cannot be used.

    Waits up to `timeout` seconds for the scheduler to answer, and as long again for a first worker.
    """
    address = check_address(address)
    distributed = _distributed()
    _handshake(address, timeout)
    try:
        client = distributed.Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError):
        raise ClusterUnavailable(
            f"cannot reach the Dask scheduler at {address}: no answer within {timeout:g} s"
        ) from None
    try:
        try:
            client.wait_for_workers(1, timeout=timeout)
        except TimeoutError:
            raise ClusterUnavailable(
                f"the Dask scheduler at {address} has no workers (none joined within {timeout:g} s); "
                f"start some with: dask worker {address} --nthreads 1"
            ) from None
        mine = engine_identity()
        answers = client.run(_worker_identity, on_error="return")
        for worker, theirs in sorted(answers.items()):
            if isinstance(theirs, BaseException):
                raise ClusterUnavailable(
                    f"the Dask worker {worker} cannot run pingji ({type(theirs).__name__}: {theirs}); "
                    f"install this pingji on every worker: {INSTALL_HINT}"
                )
            if tuple(theirs) != mine:
                raise ClusterUnavailable(
                    f"the Dask worker {worker} runs pingji {theirs[0]} (engine code {theirs[1]}), this "
                    f"machine pingji {mine[0]} (engine code {mine[1]}); install the same pingji on every worker"
                )
    except BaseException:
        with _quiet():
            client.close()
        raise
    return Cluster(address, client)


def _handshake(address: str, timeout: float) -> None:
    """Ask whatever answers at `address` who it is, each step bounded by `timeout`: a Client would
    wait for ever on a port that accepts connections but does not speak Dask (an HTTP server, say)."""
    from distributed.comm import connect as open_comm  # optional extra: imported where it is used

    async def identity() -> Any:
        comm = await asyncio.wait_for(open_comm(address, timeout=timeout), timeout)
        try:
            await asyncio.wait_for(comm.write({"op": "identity", "reply": True}), timeout)
            return await asyncio.wait_for(comm.read(), timeout)
        finally:
            comm.abort()

    where = urlsplit(address)
    try:
        socket.create_connection((where.hostname or "", where.port or 0), timeout=timeout).close()
    except OSError:
        raise ClusterUnavailable(
            f"cannot reach the Dask scheduler at {address}: no answer within {timeout:g} s"
        ) from None
    try:
        answer = asyncio.run(identity())
    except (OSError, TimeoutError, asyncio.TimeoutError, EOFError, ValueError, TypeError):
        raise ClusterUnavailable(
            f"{address} answers, but not as a Dask scheduler (no Dask handshake within {timeout:g} s); "
            f"is it the scheduler's address (usually port 8786)?"
        ) from None
    kind = answer.get("type") if isinstance(answer, dict) else None
    if kind != "Scheduler":
        raise ClusterUnavailable(f"{address} is a Dask {kind or 'peer'}, not a scheduler")


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Drop what distributed logs meanwhile: a client closing after it lost its scheduler logs the
    traceback of its cancelled reconnection, on top of the ClusterLost that already says so."""

    def drop(record: logging.LogRecord) -> bool:
        return False

    names = list(logging.root.manager.loggerDict)
    loggers = [logging.getLogger(n) for n in names if n == "distributed" or n.startswith("distributed.")]
    for logger in loggers:
        logger.addFilter(drop)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(drop)


# -- on the workers ------------------------------------------------------------------------------------
class Shipment:
    """What every worker gets once per batch: the rulebooks loaded, and how to name the input in messages."""

    def __init__(self, token: str, kind: str, display: str, loaded: LoadedRulebooks):
        self.token, self.kind, self.display, self.loaded = token, kind, display, loaded


_raters: OrderedDict[str, Rater] = OrderedDict()
_stats: dict[str, dict[str, int]] = {}
_lock = threading.Lock()


def _shipment(shipment: Shipment) -> Shipment:
    return shipment


def _rater(shipment: Shipment) -> Rater:
    """This process's Rater for the batch: built, and its rulebook compiled, by the first chunk only."""
    with _lock:  # a worker with several threads: one builds, the others wait for it
        rater = _raters.get(shipment.token)
        if rater is None:
            rater = Rater(None, shipment.kind, shipment.display, loaded=shipment.loaded)
            if rater.fixed is not None:  # compile now (a catalog's rulebooks compile as customers need them)
                ruleset_for(compiled_for(rater.fixed))
            _raters[shipment.token] = rater
            _stats.setdefault(shipment.token, _new_stats())["built"] += 1
            while len(_raters) > KEEP_RATERS:
                _raters.popitem(last=False)
            while len(_stats) > KEEP_STATS:
                del _stats[next(iter(_stats))]
        _raters.move_to_end(shipment.token)
    return rater


def _new_stats() -> dict[str, int]:
    return {"built": 0, "compiled": 0, "chunks": 0}


def _rate_chunk(shipment: Shipment, chunk: list[Raw]) -> list[Outcome]:
    before = compiled_count()
    rater = _rater(shipment)
    out = [rater.rate(r) for r in chunk]
    with _lock:
        stats = _stats.setdefault(shipment.token, _new_stats())
        stats["chunks"] += 1
        stats["compiled"] += compiled_count() - before  # (another batch's chunk in another thread may add to it)
    return out


def worker_stats() -> dict[str, dict[str, int]]:
    """Per batch rated in this process (by its token, which starts with the batch id): how many times
    its Rater was built, how many rulebooks were compiled for it (the engine compiles a rulebook
    version once per process), and how many chunks it rated. Ask every worker with
    `client.run(pingji.batch.cluster.worker_stats)`."""
    with _lock:
        return {k: dict(v) for k, v in _stats.items()}
