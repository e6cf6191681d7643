"""Reviewing stored evaluations: `trace`, `report`, `override`, `history`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from pingji.analysis.chains import UnknownFactor, factor_chain
from pingji.cli import render
from pingji.cli.options import EVAL_ID, Failure, db_option, json_option, lang_option, open_store
from pingji.report.policy import policy_for
from pingji.report.rating import render_html, render_markdown


@click.command()
@click.argument("evaluation", metavar="EVAL_ID", type=EVAL_ID)
@click.option(
    "--factor", "-f", metavar="FACTOR", help="Only the rules that led to this factor's points, and on."
)
@db_option
@json_option
def trace(evaluation: str, factor: str | None, db_path: str, as_json: bool) -> None:
    """The rules that fired for a stored evaluation, in order.

    Each row: the rule, its rulebook file:line, the values it matched and what it asserted.

    Example:

        pingji trace E000001 --factor current_ratio
    """
    with open_store(db_path, readonly=True) as store:
        record = store.record(evaluation)
    try:
        rows = factor_chain(record, factor) if factor else record["trace"]
    except UnknownFactor as exc:
        raise Failure(exc.message) from None
    if as_json:
        click.echo(
            json.dumps(
                {
                    "evaluation_id": record["evaluation_id"],
                    "customer_id": record["customer"]["id"],
                    "factor": factor,
                    "trace": rows,
                },
                sort_keys=True,
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    click.echo(render.trace(record, rows, factor))


@click.command()
@click.argument("evaluation", metavar="EVAL_ID", type=EVAL_ID)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["md", "html", "json"]),
    default="md",
    show_default=True,
    help="Markdown, one self-contained HTML page, or the stored record as JSON.",
)
@lang_option
@click.option(
    "--output",
    "-o",
    metavar="FILE",
    type=click.Path(dir_okay=False, writable=True),
    help="Write to FILE instead of stdout.",
)
@db_option
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
def report(evaluation: str, fmt: str, lang: str, output: str | None, db_path: str, as_json: bool) -> None:
    """The justification report of a stored evaluation.

    Customer basics, operations, financial indicators, repayment capacity, factor-by-factor
    scores, overrides, expert overrides, the grade and its meaning, recommended measures, the
    rulebook version and hash, and the trace.

    Example:

        pingji report E000001 --format html --lang en -o report.html
    """
    if as_json and fmt not in ("md", "json"):  # md is the default: --json alone means JSON
        raise click.UsageError(f"--json writes the stored record as JSON; it cannot be combined with --format {fmt}")
    with open_store(db_path, readonly=True) as store:
        record = store.record(evaluation)
    if as_json:
        fmt = "json"
    if fmt == "json":
        text = json.dumps(record, sort_keys=True, ensure_ascii=False, indent=2) + "\n"
    else:
        policy = policy_for(record)  # the `report:` section of the rulebook version that rated it
        write = render_html if fmt == "html" else render_markdown
        text = write(record, lang, policy)
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise Failure(f"cannot write {output}: {exc.strerror}") from None
    click.echo(f"wrote {output} ({fmt}, {lang}) for {evaluation}")


@click.command()
@click.argument("evaluation", metavar="EVAL_ID", type=EVAL_ID)
@click.option(
    "--grade", "-g", required=True, metavar="GRADE", help="The new grade (a grade of the rulebook's scale)."
)
@click.option("--reason", required=True, metavar="TEXT", help="Why; kept with the override.")
@click.option("--reviewer", required=True, metavar="NAME", help="Who overrides.")
@click.option(
    "--approved-by",
    metavar="NAME",
    help="A second person approving an override beyond the allowance (1 notch by default).",
)
@db_option
@json_option
def override(
    evaluation: str,
    grade: str,
    reason: str,
    reviewer: str,
    approved_by: str | None,
    db_path: str,
    as_json: bool,
) -> None:
    """Override the grade of a stored evaluation (an expert decision, with a reason).

    The override is a new record: the evaluation is never changed. Moving the grade more notches
    from the rulebook's grade than the allowance needs --approved-by, a person other than the
    reviewer.

    Example:

        pingji override E000001 --grade M3 --reviewer zhang --reason "order book halved since March"
    """
    for name, text in (("--reason", reason), ("--reviewer", reviewer), ("--approved-by", approved_by)):
        if text is not None and not text.strip():
            raise click.BadParameter("must not be empty", param_hint=f"'{name}'")
    with open_store(db_path) as store:
        row = store.add_override(evaluation, grade, reviewer=reviewer, reason=reason, approved_by=approved_by)
    if row["superseded_by"]:
        click.echo(f"warning: {row['evaluation_id']} is not the latest evaluation of customer {row['customer_id']} "
                   f"({row['superseded_by']} is): the override is stored, but the customer's current grade "
                   f"is the later evaluation's", err=True)
    if as_json:
        click.echo(json.dumps(row, sort_keys=True, ensure_ascii=False, indent=2))
        return
    click.echo(render.override(row))


@click.command()
@click.argument("customer_id")
@db_option
@json_option
def history(customer_id: str, db_path: str, as_json: bool) -> None:
    """Every evaluation and expert override of a customer, oldest first.

    Example:

        pingji history C-C-0001
    """
    with open_store(db_path, readonly=True) as store:
        rows = store.history(customer_id)
    if as_json:
        click.echo(
            json.dumps(
                {"customer_id": customer_id, "evaluations": rows},
                sort_keys=True,
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    click.echo(render.history(customer_id, rows))
