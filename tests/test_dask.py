"""Batches on a Dask cluster (`pingji batch --scheduler`): the same stored results as a local batch,
resumable, each worker compiling the rulebook once, and the errors of a cluster that cannot be used
or is lost during a batch.

The cluster is a real one on this machine: a scheduler and two single-threaded worker processes
(distributed.LocalCluster), started in a folder of their own so that the workers cannot read the
test's rulebook or input: everything they rate with must come from the batch itself.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import distributed  # the test extra installs it (it is the `dask` extra)
import pytest
from click.testing import CliRunner
from test_batch import BOOKS, CSV, CSV_SUMMARY, ROOT

import pingji.store.records
from pingji.batch import cluster as engine_cluster
from pingji.batch.local import outcomes, run_batch
from pingji.batch.rater import LoadedRulebooks
from pingji.batch.sources import Raw
from pingji.batch.synthetic import generate_corporate, write_jsonl
from pingji.cli.main import cli
from pingji.errors import ClusterLost, ClusterUnavailable
from pingji.store.database import Store

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("fresh_engine_caches")]



@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    home = tmp_path_factory.mktemp("cluster")
    here = os.getcwd()
    os.chdir(home)  # the worker processes start here, away from every test's files
    try:
        lc = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", protocol="tcp://"
        )
    finally:
        os.chdir(here)
    with lc:
        yield lc


@pytest.fixture
def client(cluster: Any) -> Iterator[Any]:
    with distributed.Client(cluster.scheduler_address, set_as_default=False) as c:
        yield c


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(BOOKS, tmp_path / "books")
    (tmp_path / "p.csv").write_text(CSV, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PINGJI_DB", raising=False)
    monkeypatch.setattr(pingji.store.records, "now", lambda: "2026-06-30T09:00:00.000Z")
    return tmp_path


def batch(*args: str) -> Any:
    return CliRunner().invoke(cli, ["batch", *args], catch_exceptions=False)


def stored(db: str | Path) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Every evaluation of the store (all but its id and time) with its trace, and every failure."""
    with Store.open(db) as s:
        evaluations = s.conn.execute(
            "SELECT batch_key, customer_id, rulebook_id, facts_hash, total, model_grade, final_grade, result, "
            "(SELECT group_concat(seq || ' ' || rule || ' ' || at || ' ' || matched || asserted, '; ') "
            "FROM trace t WHERE t.evaluation_id = e.id) FROM evaluations e ORDER BY e.id"
        ).fetchall()
        failures = s.conn.execute(
            "SELECT record_key, line, customer_id, code, reason FROM batch_failures ORDER BY rowid"
        ).fetchall()
    return evaluations, failures


def test_csv_batch_on_a_cluster_stores_what_a_local_batch_stores(ws, cluster, client):
    assert set(client.run(os.path.exists, "books/mini.yaml").values()) == {False}  # the workers cannot read it
    local = batch("p.csv", "-r", "books/mini.yaml", "-w", "1", "--db", "local.db")
    r = batch("p.csv", "-r", "books/mini.yaml", "--scheduler", cluster.scheduler_address, "--db", "dask.db")
    assert (r.exit_code, r.stderr) == (1, "rating p.csv\n")  # 1: three records failed, as locally
    with Store.open("dask.db") as s:
        batch_id = s.conn.execute("SELECT id FROM batches").fetchone()[0]
    expected = CSV_SUMMARY.format(id=batch_id, resumed="", this="3 rated, 3 failed, 0 already stored")
    assert r.stdout == expected.replace(
        "1 worker\n", f"2 Dask workers at {cluster.scheduler_address}\n"
    )
    assert local.stdout == expected
    evaluations, failures = stored("dask.db")
    assert (evaluations, failures) == stored("local.db")  # results, traces and failure reasons alike
    assert [e[:2] + e[5:7] for e in evaluations] == [  # (key, customer, model grade, final grade)
        ("2", "c1", "A", "A"),
        ("3", "c2", "B", "B"),
        ("7", "c4", "C", "C"),
    ]
    assert [f[:4] for f in failures] == [("4", 4, "c3", "E501"), ("8", 8, None, "E902"), ("9", 9, "c6", "E501")]


def test_rerunning_a_batch_on_a_cluster_stores_nothing_twice(ws, cluster):
    first = batch("p.csv", "-r", "books/mini.yaml", "--scheduler", cluster.scheduler_address, "--json")
    again = batch("p.csv", "-r", "books/mini.yaml", "--scheduler", cluster.scheduler_address, "--json")
    d1, d2 = json.loads(first.stdout), json.loads(again.stdout)
    assert (d1["this_run"], d1["resumed"], d1["scheduler"], d1["workers"]) == (
        {"rated": 3, "failed": 3, "skipped": 0}, False, cluster.scheduler_address, 2
    )
    assert (d2["this_run"], d2["resumed"]) == ({"rated": 0, "failed": 0, "skipped": 6}, True)
    with Store.open("pingji.db") as s:
        assert (s.count(), s.count("batch_failures"), s.count("batches")) == (3, 3, 1)


def test_a_folder_on_a_cluster_rulebook_chosen_per_customer(ws, cluster, client):
    folder = ws / "examples"
    folder.mkdir()
    for name in ("machinery-a.yaml", "foundry-overdue-d.yaml", "software-a.yaml", "engineer-mortgage-a.yaml"):
        shutil.copy(ROOT / "facts" / "examples" / name, folder / name)
    (folder / "broken.yaml").write_text("id: [x\n", encoding="utf-8")
    assert set(client.run(os.path.exists, "examples").values()) == {False}  # the files go with the records
    r = batch("examples", "--scheduler", cluster.scheduler_address, "--db", "dask.db")
    local = batch("examples", "-w", "1", "--db", "local.db")
    assert r.exit_code == local.exit_code == 1
    assert r.stdout.splitlines()[1:] == local.stdout.splitlines()[1:]
    assert r.stdout.splitlines()[-1] == (
        "  examples/broken.yaml:2:1: error[E003]: invalid YAML: did not find expected ',' or ']'"
    )
    assert stored("dask.db") == stored("local.db")
    assert [(e[0], e[2], e[6]) for e in stored("dask.db")[0]] == [
        ("engineer-mortgage-a.yaml", "individual", "A"),
        ("foundry-overdue-d.yaml", "manufacturing", "D"),
        ("machinery-a.yaml", "manufacturing", "M2"),
        ("software-a.yaml", "it_services", "A"),
    ]


def _portfolio(path: Path, n: int) -> list[str]:
    customers = list(generate_corporate(n, 11))
    with open(path, "w", encoding="utf-8") as fh:
        write_jsonl(iter(customers), fh)
    return [c["id"] for c in customers]


def test_run_batch_on_a_cluster_agrees_with_one_process_and_compiles_once_per_worker(ws, cluster, client):
    ids = _portfolio(ws / "p.jsonl", 160)
    # A rulebook no worker has compiled yet (another content hash than any earlier test's).
    book = ws / "books" / "corp.yaml"
    book.write_text((ROOT / "rulebooks" / "corporate.yaml").read_text(encoding="utf-8") + f"# {uuid.uuid4()}\n")
    seen: list[int] = []
    with Store.open("dask.db") as s:
        run = run_batch("p.jsonl", s, rulebook="books/corp.yaml", commit_every=40, progress=seen.append,
                        scheduler=cluster.scheduler_address)
    with Store.open("local.db") as s:
        local = run_batch("p.jsonl", s, rulebook="books/corp.yaml", workers=1)
    assert (run.rated, run.failed, run.workers, run.scheduler) == (160, 0, 2, cluster.scheduler_address)
    assert sum(seen) == 160  # the progress bar advances record by record
    evaluations = stored("dask.db")[0]
    assert evaluations == stored("local.db")[0] and local.rated == 160
    assert [e[1] for e in evaluations] == ids  # in input order

    # 160 records in chunks of 20 (40 per transaction over two worker threads): 8 chunks, each worker
    # building its Rater and compiling the rulebook once, whatever number of chunks it rated.
    stats = [s[k] for s in client.run(engine_cluster.worker_stats).values() for k in s if k.startswith(run.batch_id)]
    assert sum(s["chunks"] for s in stats) == 8
    assert max(s["chunks"] for s in stats) >= 2
    assert all((s["built"], s["compiled"]) == (1, 1) for s in stats), stats


def test_records_on_a_cluster_are_streamed_not_read_ahead(cluster):
    consumed = 0

    def records() -> Iterator[Raw]:
        nonlocal consumed
        for i in range(1, 100_001):
            consumed += 1
            yield Raw(str(i), i, json.dumps({"id": f"c{i}", "fin": {"current_assets": i}}))

    loaded = LoadedRulebooks.load(str(BOOKS / "mini.yaml"))
    with engine_cluster.connect(cluster.scheduler_address) as c:
        assert (c.workers, c.threads) == (2, 2)
        out = outcomes(records(), (None, "jsonl", "p.jsonl"), 0, 5, c, loaded, "Btest")
        first = [next(out) for _ in range(20)]
        assert [o.customer_id for o in first] == [f"c{i}" for i in range(1, 21)]
        assert consumed <= 2 * 4 * 5 + 5 + 20  # at most four chunks per worker thread in flight
        out.close()


@pytest.fixture
def dying_worker(client: Any, tmp_path: Path) -> Iterator[Any]:
    """Register a worker plugin that kills a worker process as it starts a chunk; yields a function to arm it."""
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers cannot import this module
    names: list[str] = []

    def arm(on_chunk: int, marker: Path | None = None) -> None:
        name = f"die-{uuid.uuid4().hex[:6]}"
        client.register_plugin(DieOnChunk(on_chunk, str(marker) if marker else None), name=name)
        names.append(name)

    yield arm
    for name in names:
        client.unregister_worker_plugin(name)
    cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


class DieOnChunk(distributed.WorkerPlugin):
    """Kill the worker process when it starts its n-th chunk of a batch; only once per `marker` file."""

    def __init__(self, n: int, marker: str | None):
        self.n, self.marker, self.started = n, marker, 0

    def transition(self, key: Any, start: str, finish: str, **kwargs: Any) -> None:
        if finish == "executing" and str(key).startswith("pingji-rate-"):
            self.started += 1
            if self.started == self.n:
                if self.marker is not None:
                    if os.path.exists(self.marker):
                        return
                    open(self.marker, "w").close()
                os._exit(1)


def test_a_worker_lost_mid_batch_is_replaced_and_no_record_is_lost_or_doubled(ws, cluster, client, dying_worker):
    ids = _portfolio(ws / "p.jsonl", 120)
    dying_worker(3, ws / "died-once")
    with Store.open("dask.db") as s:
        run = run_batch("p.jsonl", s, rulebook="corporate", commit_every=20, scheduler=cluster.scheduler_address)
    assert (ws / "died-once").exists()  # a worker died as it started its third chunk
    assert (run.rated, run.failed) == (120, 0)
    evaluations = stored("dask.db")[0]
    assert [(e[0], e[1]) for e in evaluations] == [(str(i), c) for i, c in enumerate(ids, 1)]  # each once, in order


def test_a_cluster_lost_mid_batch_keeps_what_was_stored_and_a_rerun_resumes(ws, tmp_path_factory):
    import dask

    _portfolio(ws / "p.jsonl", 100)
    home = tmp_path_factory.mktemp("fragile")
    here = os.getcwd()
    os.chdir(home)
    try:  # a cluster whose scheduler gives up on a chunk the first time its worker dies
        with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
            lc = distributed.LocalCluster(
                n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0", protocol="tcp://"
            )
    finally:
        os.chdir(here)
    with lc, distributed.Client(lc.scheduler_address, set_as_default=False) as client:
        import cloudpickle

        cloudpickle.register_pickle_by_value(sys.modules[__name__])
        try:
            client.register_plugin(DieOnChunk(3, str(ws / "died-once")), name="die")
        finally:
            cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
        # Chunks of 10 records: the worker dies as it starts its third chunk; Dask gives up on the chunks
        # that were assigned to it (the one it was starting and any queued there, not necessarily the
        # earliest), and the batch stops at the first of them in input order, after storing the chunks
        # before it.
        with Store.open("dask.db") as s, pytest.raises(ClusterLost) as lost:
            run_batch("p.jsonl", s, rulebook="books/mini.yaml", commit_every=10, scheduler=lc.scheduler_address)
        with Store.open("dask.db") as s:
            keys = [k for (k,) in s.conn.execute("SELECT record_key FROM batch_failures ORDER BY rowid")]
        done = len(keys)
        assert done % 10 == 0 and done < 100 and keys == [str(i) for i in range(1, done + 1)]
        assert str(lost.value) == (
            f"error[E911]: the Dask workers rating records {done + 1} to {done + 10} died (Dask gave up on them); "
            "the records stored so far are kept: run the batch again to resume"
        )
        client.unregister_worker_plugin("die")
        r = batch("p.jsonl", "-r", "books/mini.yaml", "--scheduler", lc.scheduler_address, "--db", "dask.db")
    assert r.stdout.splitlines()[1] == f"this run: 0 rated, {100 - done} failed, {done} already stored"
    with Store.open("dask.db") as s:
        keys = [k for (k,) in s.conn.execute("SELECT record_key FROM batch_failures ORDER BY rowid")]
    assert keys == [str(i) for i in range(1, 101)]


# -- a cluster that cannot be used: one line, exit 2, nothing stored -------------------------------------
def test_an_unreachable_scheduler(ws):
    r = batch("p.csv", "--scheduler", "tcp://127.0.0.1:1", "--scheduler-timeout", "0.5")
    assert (r.exit_code, r.stdout, r.stderr) == (
        2, "", "error[E910]: cannot reach the Dask scheduler at tcp://127.0.0.1:1: no answer within 0.5 s\n"
    )
    assert not (ws / "pingji.db").exists()


def test_issue12_a_port_that_answers_but_is_no_dask_scheduler_is_refused_within_the_timeout(ws):
    """An HTTP server (or anything that accepts connections and stays silent) on the port: before, the
    batch waited for ever; now the Dask handshake is bounded by --scheduler-timeout."""
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    port = server.getsockname()[1]
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept_and_say_nothing() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    threading.Thread(target=accept_and_say_nothing, daemon=True).start()
    result: list[Any] = []
    runner = threading.Thread(target=lambda: result.append(
        batch("p.csv", "--scheduler", f"tcp://127.0.0.1:{port}", "--scheduler-timeout", "1")), daemon=True)
    runner.start()
    runner.join(120)
    stop.set()
    for s in held:
        s.close()
    server.close()
    assert result, "the batch still waits on a port that does not speak Dask"
    r = result[0]
    assert (r.exit_code, r.stdout, r.stderr) == (
        2, "", f"error[E910]: tcp://127.0.0.1:{port} answers, but not as a Dask scheduler (no Dask handshake "
               f"within 1 s); is it the scheduler's address (usually port 8786)?\n")
    assert not (ws / "pingji.db").exists()


def test_a_scheduler_without_workers(ws):
    with distributed.LocalCluster(n_workers=0, processes=False, dashboard_address=":0", protocol="tcp://") as lc:
        r = batch("p.csv", "--scheduler", lc.scheduler_address, "--scheduler-timeout", "0.5")
    address = lc.scheduler_address
    assert (r.exit_code, r.stderr) == (
        2,
        f"error[E910]: the Dask scheduler at {address} has no workers (none joined within 0.5 s); "
        f"start some with: dask worker {address} --nthreads 1\n",
    )
    assert not (ws / "pingji.db").exists()


def test_a_worker_running_other_pingji_code_is_refused(ws, cluster, client, monkeypatch):
    version, code = engine_cluster.engine_identity()
    monkeypatch.setattr(engine_cluster, "engine_identity", lambda: ("0.0.9", "0123456789abcdef"))  # this side only
    r = batch("p.csv", "--scheduler", cluster.scheduler_address)
    worker = sorted(client.scheduler_info()["workers"])[0]
    assert (r.exit_code, r.stdout, r.stderr) == (
        2,
        "",
        f"error[E910]: the Dask worker {worker} runs pingji {version} (engine code {code}), this machine "
        "pingji 0.0.9 (engine code 0123456789abcdef); install the same pingji on every worker\n",
    )
    assert not (ws / "pingji.db").exists()


def test_without_distributed_installed(ws, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` raises ImportError
    r = batch("p.csv", "--scheduler", "tcp://127.0.0.1:8786")
    assert (r.exit_code, r.stdout, r.stderr) == (
        2,
        "",
        "error[E910]: running a batch on a Dask cluster needs the distributed package: pip install 'pingji[dask]'\n",
    )
    with pytest.raises(ClusterUnavailable, match=r"pip install 'pingji\[dask\]'"):
        with Store.open(ws / "lib.db") as s:  # the rulebook that knows p.csv's columns (else E921 comes first)
            run_batch("p.csv", s, rulebook="books/mini.yaml", scheduler="tcp://127.0.0.1:8786")


@pytest.mark.parametrize(
    ("address", "message"),
    [
        pytest.param("foo", "'foo' is not a Dask scheduler address; expected tcp://host:port, e.g. "
                     "tcp://10.0.0.5:8786", id="no-scheme"),
        pytest.param("10.0.0.5:8786", "'10.0.0.5:8786' is not a Dask scheduler address; expected tcp://host:port, "
                     "e.g. tcp://10.0.0.5:8786 (did you mean tcp://10.0.0.5:8786?)", id="no-scheme-port"),
        pytest.param("http://10.0.0.5:8787", "'http://10.0.0.5:8787' is not a Dask scheduler address; expected "
                     "tcp://host:port, e.g. tcp://10.0.0.5:8786", id="dashboard-url"),
        pytest.param("tcp://10.0.0.5:99999", "'tcp://10.0.0.5:99999' is not a Dask scheduler address; expected "
                     "tcp://host:port, e.g. tcp://10.0.0.5:8786", id="bad-port"),
    ],
)
def test_a_malformed_scheduler_address(ws, address, message):
    r = batch("p.csv", "--scheduler", address)
    assert (r.exit_code, r.stdout) == (2, "")
    assert r.stderr.splitlines()[-1] == f"Error: Invalid value for '--scheduler': {message}"


def test_workers_and_scheduler_exclude_each_other(ws):
    r = batch("p.csv", "--scheduler", "tcp://127.0.0.1:8786", "--workers", "2")
    assert r.exit_code == 2
    assert r.stderr.splitlines()[-1] == (
        "Error: --workers sets processes on this machine; with --scheduler the Dask cluster's workers "
        "rate the records: leave out --workers"
    )


def test_the_command_line_does_not_import_distributed_unless_asked():
    code = "import sys, pingji.cli.main; print(sorted(m for m in ('dask', 'distributed') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout == "[]\n"
