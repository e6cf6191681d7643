"""Ctrl-C and SIGTERM during a batch (issue 11.6): what is rated is committed, the workers stop, the
exit status says which signal, and running the same command again finishes the batch."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pingji.batch.synthetic import main as synthetic

pytestmark = pytest.mark.slow
PINGJI = [sys.executable, "-m", "pingji.cli"]


def _children(pid: int) -> set[int]:
    out = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text()
        out |= {int(c) for c in text.split()}
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def _stored(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    except sqlite3.OperationalError:
        return 0
    try:
        return int(conn.execute("SELECT count(*) FROM evaluations").fetchone()[0])
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()


@pytest.mark.parametrize(("sig", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_commits_what_is_rated_stops_the_workers_and_a_rerun_resumes(tmp_path: Path, sig: int,
                                                                              status: int) -> None:
    portfolio = tmp_path / "p.jsonl"
    synthetic(["corporate", "-n", "2000", "--seed", "5", "-o", str(portfolio)])
    db = tmp_path / "b.db"
    cmd = [*PINGJI, "batch", str(portfolio), "--db", str(db), "--workers", "2", "--commit-every", "100"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _interrupt(proc, db, sig, status)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    kept = _stored(db)
    assert 0 < kept < 2000
    rerun = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert _stored(db) == 2000
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(DISTINCT batch_key) FROM evaluations").fetchone() == (2000,)
    conn.close()


def _interrupt(proc: subprocess.Popen[str], db: Path, sig: int, status: int) -> None:
    deadline = time.monotonic() + 120
    while _stored(db) < 200 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    assert proc.poll() is None, "the batch finished before it could be interrupted"
    workers = _children(proc.pid)
    assert len(workers) >= 2
    os.kill(proc.pid, sig)  # the parent only, as `kill` or a scheduler would
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == status, err[-2000:]
    assert err.endswith("interrupted; run the same command again to resume\n"), err[-2000:]
    time.sleep(0.5)
    assert [p for p in workers if _alive(p)] == []
