"""What a grade means downstream: the offer for a rated customer (`price`)."""

from __future__ import annotations

import json
from typing import Any

import click

import pingji
from pingji.cli.options import EVAL_ID, db_option, json_option, lang_option, open_store, rulebooks_option
from pingji.decisions.pricing import LIMIT, REVIEW, SPREAD, UNIT, Offer, offer_facts
from pingji.decisions.pricing import price as price_offer
from pingji.rating import catalog

COMMANDS: list[click.Command] = []


@click.command()
@click.argument("evaluation_id", metavar="EVAL_ID", type=EVAL_ID)
@click.option("--rulebook", "-r", metavar="ID|PATH", default="pricing", show_default=True,
              help="Policy rulebook: spread, limit, approval authority and re-rating frequency by grade.")
@rulebooks_option
@db_option
@json_option
@lang_option
def price(evaluation_id: str, rulebook: str, rulebooks: tuple[str, ...], db_path: str, as_json: bool,
          lang: str) -> None:
    """The offer for a rated customer: interest rate, credit limit, approval and re-rating.

    Reads the stored evaluation EVAL_ID and prices it on its effective grade (an expert override
    counts): the decision, the annual rate (reference rate + spread, rounded half-up to 0.01%),
    the credit limit (CNY thousands, rounded half-up to the whole thousand), the approval
    authority for the amount requested, and the re-rating frequency with the next re-rating date
    counted from the evaluation date. Each item names the rules that produced it, with their
    rulebook file:line and reason.

    Example:

        pingji rate facts/examples/machinery-a.yaml

        pingji price E000001
    """
    book = pingji.load_decision(catalog.find(rulebook, user=rulebooks), kind="policy")
    with open_store(db_path, readonly=True) as store:
        record = store.record(evaluation_id)
        scales = store.scales()
    offer = price_offer(book, offer_facts(record, scales))
    if as_json:
        out = offer.to_dict()
        out["evaluation_id"] = evaluation_id
        click.echo(json.dumps(out, sort_keys=True, ensure_ascii=False, indent=2, allow_nan=False))
        return
    for line in offer_lines(offer, evaluation_id, lang):
        click.echo(line)


def _amount(v: Any) -> str:
    return "undefined" if v is None else f"{v:,}"


def offer_lines(offer: Offer, evaluation_id: str, lang: str) -> list[str]:
    """The offer as text: one line per item, each with the rules that decided it."""
    d, f, book = offer.decision, offer.facts, offer.book
    pad = " " * 13

    def why(oid: str) -> str:
        out = d.outputs[oid]
        if out.by_default:
            return "no rule fired: the default"
        if out.value is None:
            return out.note
        return "; ".join(f"{r} ({at}): {book.rule(r).reason.get(lang)}" for r, at in zip(out.rules, out.at))

    grade = f"{f['grade']}" + (f" (coarse {f['coarse_grade']})" if f.get("coarse_grade") != f["grade"] else "")
    rated = f", rated {f['evaluated_at']}" if f.get("evaluated_at") else ""
    version = f" {book.version}" if book.version else ""
    lines = [f"offer for {f['id']}, evaluation {evaluation_id} (rulebook {book.id}{version}, {book.file})",
             f"grade        {grade}{', expert override' if f.get('overridden') else ''}{rated}"
             f"{' by ' + f['rulebook'] if f.get('rulebook') else ''}"]
    shown = {SPREAD, LIMIT, "approval", REVIEW}
    if "decision" in d.outputs:
        shown.add("decision")
        lines.append(f"decision     {d.value('decision')} — {why('decision')}")
    if offer.declined:  # no rate and no limit are offered to a declined customer
        lines.append("terms        none: the customer is declined")
    if SPREAD in d.outputs and not offer.declined:
        rate, ref, spread = offer.rate(), offer.reference_rate(), d.value(SPREAD)
        if rate is not None and ref is not None:
            lines.append(f"rate         {rate * 100:.2f}% = reference {ref * 100:.2f}% + {spread} bp")
        else:
            lines.append(f"spread       {'undefined' if spread is None else f'{spread} bp'}")
        for c in d.outputs[SPREAD].candidates:
            r = book.rule(c["rule"])
            value = "undefined" if not isinstance(c["value"], (int, float)) else f"{c['value']:+}"
            lines.append(f"{pad}{c['rule']:<20} {value:>6}  ({r.loc.short()}): {r.reason.get(lang)}")
        if d.outputs[SPREAD].by_default:
            lines.append(f"{pad}{why(SPREAD)}")
    if LIMIT in d.outputs and not offer.declined:
        limit, asked = d.value(LIMIT), f.get("request_amount")
        short = f", less than the {_amount(asked)} requested" if None not in (limit, asked) and limit < asked else ""
        lines.append(f"limit        {_amount(limit)} ({UNIT}){short} — {why(LIMIT)}")
    if "approval" in d.outputs:
        asked = f" for {_amount(f['request_amount'])} requested" if f.get("request_amount") is not None else ""
        lines.append(f"approval     {d.value('approval')}{asked} — {why('approval')}")
    if REVIEW in d.outputs:
        months, nxt = d.value(REVIEW), offer.next_rating()
        every = "undefined" if months is None else f"every {months} months"
        lines.append(f"re-rating    {every}{f', next by {nxt}' if nxt else ''} — {why(REVIEW)}")
    for oid, out in d.outputs.items():  # a policy rulebook's own outputs
        if oid not in shown:
            value = ", ".join(out.value) if isinstance(out.value, list) else _amount(out.value) \
                if not isinstance(out.value, str) else out.value
            lines.append(f"{oid:<12} {value} — {why(oid)}")
    return lines


COMMANDS.append(price)
