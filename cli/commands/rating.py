"""Rating one customer (`rate`); a portfolio is `batch` (pingji.cli.commands.batching)."""

from __future__ import annotations

import datetime as _dt
import json
from typing import Any

import click

import pingji
from pingji.cli import render
from pingji.cli.options import (
    DATE,
    db_option,
    json_option,
    lang_option,
    rulebook_option,
    rulebooks_option,
)
from pingji.rating import catalog
from pingji.rating.model import Rulebook
from pingji.store.database import Store
from pingji.store.records import prepare


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


