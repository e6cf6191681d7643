"""The pingji command line: thin over the `engine` library.

Every command turns engine errors into a one-line (or one-per-problem) message and an exit code:
1 for failures (bad rulebook, bad facts, failed checks), 2 for usage errors. No tracebacks.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

import engine
from engine import catalog
from engine.diagnostics import sort_key
from engine.errors import PingjiError


class Failure(click.ClickException):
    """A failure the user caused or must fix; printed as is, exit code 1."""

    exit_code = 1

    def show(self, file: Any = None) -> None:
        click.echo(self.format_message(), err=True)


def fail(exc: PingjiError) -> Failure:
    return Failure(str(exc))


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(engine.__version__, prog_name="pingji")
def cli() -> None:
    """pingji (评级): rate bank customers with YAML rulebooks run on a rules engine.

    Every grade comes with a trace of the rules that fired, down to the rulebook line.

    Example:

        pingji rate facts/examples/machinery-a.yaml
    """


def _load(rulebook: str | None, facts: dict[str, Any]) -> engine.model.Rulebook:  # type: ignore[name-defined]
    path = catalog.find(rulebook) if rulebook else catalog.select(facts)
    return engine.load_rulebook(path)


@cli.command()
@click.argument("facts", type=click.Path(dir_okay=False))
@click.option("--rulebook", "-r", metavar="ID|PATH", help="Rulebook id or file; default: chosen from the customer's "
              "type and industry.")
@click.option("--json", "as_json", is_flag=True, help="Print the full evaluation as JSON (with the trace).")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True, help="Language of titles.")
def rate(facts: str, rulebook: str | None, as_json: bool, lang: str) -> None:
    """Rate one customer from a YAML or JSON facts file.

    Prints the grade, total score, factor points, overrides and reason codes.

    Example:

        pingji rate facts/examples/machinery-a.yaml --rulebook manufacturing
    """
    try:
        doc = engine.read_facts(facts)
        rb = _load(rulebook, doc.data)
        ev = engine.evaluate(rb, doc.data, locate=doc.locate, label=doc.file)
    except PingjiError as exc:
        raise fail(exc) from None
    if as_json:
        click.echo(ev.to_json())
        return
    click.echo(render_summary(ev, lang))


def render_summary(ev: Any, lang: str = "en") -> str:
    rb = ev.rulebook
    lines = [
        f"customer   {ev.customer_id}",
        f"rulebook   {rb.id} {rb.version} ({rb.file}, sha256 {rb.content_hash[:12]})",
        f"total      {ev.total:.2f}",
        f"model      {ev.model_grade}",
        f"grade      {ev.final_grade}" + (f" (coarse {ev.coarse_grade})" if ev.coarse_grade else "")
        + (f", PD {ev.pd:.2%}" if ev.pd is not None else ""),
        "",
        f"{'factor':<28} {'group':<12} {'weight':>6} {'points':>7}  basis",
    ]
    for fr in ev.factors:
        title = fr.factor.title.get(lang)
        lines.append(f"{title[:28]:<28} {fr.factor.group[:12]:<12} {fr.factor.weight:>6g} {fr.points:>7.2f}  {fr.basis}")
    lines.append("")
    if ev.overrides:
        lines.append("overrides")
        for a in ev.overrides:
            mark = "applied" if a.get("applied") else "outweighed"
            reason = a["reason"].get(lang) or a["reason"].get("en")
            lines.append(f"  {a['id']}: {a['action']} {a['value']} ({mark}) - {reason}  [{a['at']}]")
    else:
        lines.append("overrides  none")
    codes = ev.reason_codes(4)
    if codes:
        lines.append("reason codes (points lost against the maximum)")
        for i, rc in enumerate(codes, 1):
            lines.append(f"  {i}. {rc['factor']}: -{rc['points_lost']:.2f} ({rc['basis']})")
    return "\n".join(lines)


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print diagnostics as JSON.")
@click.option("--no-examples", is_flag=True, help="Do not run the rulebooks' examples.")
def check(paths: tuple[str, ...], as_json: bool, no_examples: bool) -> None:
    """Check rulebooks and run their examples; print every problem; exit 1 on any error.

    With no PATH, checks every built-in rulebook.

    Example:

        pingji check rulebooks/manufacturing.yaml
    """
    files: list[Path] = []
    for p in paths or [str(e.path) for e in catalog.catalog()]:
        path = Path(p)
        files.extend(sorted(path.glob("*.yaml")) if path.is_dir() else [path])
    diags = []
    for f in files:
        diags.extend(engine.check(f, run_examples=not no_examples))
    diags.sort(key=sort_key)
    errors = sum(1 for d in diags if d.is_error)
    warnings = len(diags) - errors
    if as_json:
        click.echo(json.dumps([d.to_dict() for d in diags], ensure_ascii=False, indent=2))
    else:
        for d in diags:
            click.echo(str(d))
        click.echo(f"{len(files)} rulebook{'s' if len(files) != 1 else ''} checked: {errors} error"
                   f"{'s' if errors != 1 else ''}, {warnings} warning{'s' if warnings != 1 else ''}")
    if errors:
        sys.exit(1)


@cli.command("rulebooks")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def rulebooks_cmd(as_json: bool) -> None:
    """List the built-in rulebooks and what they apply to.

    Example:

        pingji rulebooks
    """
    entries = catalog.catalog()
    if as_json:
        click.echo(json.dumps([{"id": e.id, "file": str(e.path), "title": e.title, "customer_type": e.customer_type,
                                "industry": list(e.industries), "extends": e.extends} for e in entries],
                              ensure_ascii=False, indent=2))
        return
    click.echo(f"{'id':<18} {'customer':<14} {'industry':<12} {'extends':<12} title")
    for e in entries:
        click.echo(f"{e.id:<18} {e.customer_type or '-':<14} {','.join(e.industries) or '-':<12} "
                   f"{e.extends or '-':<12} {e.title.get('en', '')} / {e.title.get('zh', '')}")


@cli.command()
@click.argument("which", type=click.Choice(["rulebook", "corporate", "individual"]))
def schema(which: str) -> None:
    """Print a JSON Schema: the rulebook format, or a facts schema (for editors).

    Example:

        pingji schema rulebook > rulebook.schema.json
    """
    from engine.builtin import facts_dir, schema_dir

    path = schema_dir() / "rulebook.schema.json" if which == "rulebook" else facts_dir() / f"{which}.schema.json"
    if not path.is_file():
        raise Failure(f"schema '{which}' is not installed ({path})")
    click.echo(path.read_text(encoding="utf-8"), nl=False)


def main() -> None:
    try:
        cli(prog_name="pingji")
    except KeyboardInterrupt:  # pragma: no cover
        click.echo("interrupted", err=True)
        sys.exit(130)
