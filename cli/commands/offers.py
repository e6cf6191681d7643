"""What a grade means downstream: the offer for a rated customer (`price`)."""

from __future__ import annotations

import json

import click

import engine
from engine import catalog
from engine.pricing import offer_facts, price as price_offer

from ..options import EVAL_ID, db_option, json_option, lang_option, open_store

COMMANDS: list[click.Command] = []


@click.command()
@click.argument("evaluation_id", metavar="EVAL_ID", type=EVAL_ID)
@click.option("--rulebook", "-r", metavar="ID|PATH", default="pricing", show_default=True,
              help="Policy rulebook: spread, limit, approval authority and re-rating frequency by grade.")
@db_option
@json_option
@lang_option
def price(evaluation_id: str, rulebook: str, db_path: str, as_json: bool, lang: str) -> None:
    """The offer for a rated customer: interest rate, credit limit, approval and re-rating.

    Reads the stored evaluation EVAL_ID and prices it on its effective grade (an expert override
    counts). Each item names the rules that produced it (rulebook file:line). Rate = reference
    rate + spread, exact; the limit is in the units of the customer's facts (corporate: CNY
    thousands), rounded half-up to the unit.

    Example:

        pingji rate facts/examples/machinery-a.yaml

        pingji price E000001
    """
    book = engine.load_decision(catalog.find(rulebook), kind="policy")
    with open_store(db_path) as store:
        record = store.record(evaluation_id)
    offer = price_offer(book, offer_facts(record))
    if as_json:
        out = offer.to_dict()
        out["evaluation_id"] = evaluation_id
        click.echo(json.dumps(out, sort_keys=True, ensure_ascii=False, indent=2, allow_nan=False))
        return
    d, f = offer.decision, offer.facts

    def why(oid: str) -> str:
        out = d.outputs[oid]
        if out.by_default:
            return "no rule fired: the default"
        return "; ".join(f"{r} ({at}): {d.rulebook.rule(r).reason.get(lang)}" for r, at in zip(out.rules, out.at))

    def each(oid: str) -> list[str]:
        return [f"             {c['rule']:<20} {c['value']:>+6}  ({d.rulebook.rule(c['rule']).loc.short()})"
                for c in d.outputs[oid].candidates]

    grade = f"{f['grade']}" + (f" (coarse {f['coarse_grade']})" if f.get("coarse_grade") != f["grade"] else "")
    click.echo(f"offer for {f['id']}, evaluation {evaluation_id} (rulebook {book.id} {book.version}, {book.file})")
    click.echo(f"grade        {grade}{', expert override' if f.get('overridden') else ''}")
    rate = offer.rate()
    spread = d.value("spread_bp")
    click.echo(f"rate         {'-' if rate is None else f'{rate * 100:.2f}%'} = reference {offer.reference_rate() * 100:.2f}% "
               f"+ {spread} bp")
    for line in each("spread_bp"):
        click.echo(line)
    limit = d.value("limit")
    click.echo(f"limit        {'undefined' if limit is None else f'{limit:,}'} — {why('limit')}")
    click.echo(f"approval     {d.value('approval')} — {why('approval')}")
    months = d.value("review_months")
    nxt = offer.next_rating()
    click.echo(f"re-rating    every {months} months{f', next by {nxt}' if nxt else ''} — {why('review_months')}")


COMMANDS.append(price)
