"""`pingji verify`: is the store what pingji wrote? (issue 11.2)."""

from __future__ import annotations

import json

import click

from pingji.cli.options import Failure, Progress, db_option, json_option, open_store
from pingji.store.integrity import verify_store
from pingji.store.replay import replay as replay_store


def _n(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


@click.command()
@db_option
@click.option("--replay", is_flag=True,
              help="Also rate every stored evaluation again from its stored facts and rulebook sources, and "
                   "compare it with what is stored.")
@click.option("--workers", "-w", type=click.IntRange(min=1), default=1, show_default=True, metavar="N",
              help="Processes for --replay.")
@json_option
def verify(db_path: str, replay: bool, workers: int, as_json: bool) -> None:
    """Check that the store holds what pingji wrote: walk its hash chain and its overrides.

    Every row pingji appends (rulebook versions, batches, evaluations with their factor scores and
    trace, expert overrides) is chained in a ledger by SHA-256. verify re-hashes each row, follows the
    chain, checks that the append-only triggers are all there and that every override had the
    approval its rulebook requires. It lists what differs, first broken link first, and exits 1
    (E833); pingji also refuses to write to a store whose triggers or head are broken (E832). Nothing
    is written. Keep the printed head hash somewhere else: it pins everything stored before it.

    --replay rates every evaluation again (in parallel with --workers, with progress on stderr)
    and reports any whose grades, scores, result, factor scores or trace come out different.

    Example:

        pingji verify --db book.db --replay --workers 2
    """
    with open_store(db_path, readonly=True) as store:
        report = verify_store(store)
        total = report.counts["evaluations"]
    if replay:
        with Progress(total, f"replaying {total} evaluations") as bar:
            report.problems += replay_store(db_path, workers=workers, progress=bar.update)
    head = report.head
    if as_json:
        click.echo(json.dumps({"intact": report.intact, "problems": [{"where": p.where, "what": p.what}
                                                                      for p in report.problems],
                               "head": head, "counts": report.counts}, sort_keys=True, ensure_ascii=False, indent=2))
    else:
        c = report.counts
        click.echo(f"{db_path}: {_n(c['evaluations'], 'evaluation')}, {_n(c['overrides'], 'expert override')}, "
                   f"{_n(c['batches'], 'batch', 'batches')}, {_n(c['rulebook_versions'], 'rulebook version')}; "
                   f"ledger of {_n(c['ledger'], 'entry', 'entries')}")
        for p in report.problems:
            click.echo(f"  {p}")
        if report.intact:
            replayed = f"; {report.counts['evaluations']} evaluations replayed, all identical" if replay else ""
            click.echo(f"intact: head entry {head.get('seq', 0)}, chain sha256 {head.get('chain', '')}{replayed}")
    if not report.intact:
        n = len(report.problems)
        raise Failure(f"error[E833]: the store was changed outside pingji: {n} problem{'s' if n != 1 else ''} "
                      f"(the first: {report.problems[0]})")
