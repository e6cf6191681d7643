"""Rulebooks and workspaces: `check`, `rulebooks`, `schema`, `init`."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import click

import pingji
from pingji.builtin import facts_dir, rulebooks_dir, schema_dir
from pingji.cli.options import Failure, json_option, rulebooks_option
from pingji.diagnostics import sort_key
from pingji.errors import RulebookError
from pingji.lang.schemacheck import display_name
from pingji.lang.source import Document, load_yaml
from pingji.rating import catalog


@click.command()
@click.argument("paths", nargs=-1, type=click.Path())
@json_option
@click.option("--no-examples", is_flag=True, help="Do not run the rulebooks' examples.")
@rulebooks_option
def check(paths: tuple[str, ...], as_json: bool, no_examples: bool, rulebooks: tuple[str, ...]) -> None:
    """Check rulebooks and run their examples; print every problem; exit 1 on any error.

    With no PATH, checks every built-in rulebook, and your own with --rulebooks (or
    PINGJI_RULEBOOKS; a rulebook of yours replaces the built-in one of its id). A PATH may be a folder of rulebooks: its YAML
    files that are not rulebooks (no `rulebook:` key, e.g. facts) are skipped with a note on
    stderr. The diagnostics are the command's output (stdout); nothing to check is an error.

    Example:

        pingji check rulebooks/manufacturing.yaml
    """
    files: list[Path] = []
    parsed: dict[Path, Document] = {}  # each file parsed once (issue 12.8)
    for p in paths or [str(e.path) for e in catalog.catalog(user=rulebooks)]:
        path = Path(p)
        if not path.is_dir():
            files.append(path)
            continue
        found = sorted([*path.glob("*.yaml"), *path.glob("*.yml")])
        for f in found:
            if _is_rulebook(f, parsed):
                files.append(f)
            else:
                click.echo(f"note: {f}: not a rulebook (no 'rulebook:' key); skipped", err=True)
        if not found:
            click.echo(f"note: {path}: no YAML files", err=True)
    if not files:
        raise Failure(f"error: nothing to check: no rulebooks in {', '.join(paths)}")
    diags = []
    for f in files:
        diags.extend(pingji.check(f, run_examples=not no_examples, document=parsed.get(f)))
    diags.sort(key=sort_key)
    errors = sum(1 for d in diags if d.is_error)
    warnings = len(diags) - errors
    if as_json:
        click.echo(json.dumps([d.to_dict() for d in diags], ensure_ascii=False, indent=2))
    else:
        for d in diags:
            click.echo(str(d))
        click.echo(
            f"{len(files)} rulebook{'s' if len(files) != 1 else ''} checked: {errors} error"
            f"{'s' if errors != 1 else ''}, {warnings} warning{'s' if warnings != 1 else ''}"
        )
    if errors:
        sys.exit(1)


def _is_rulebook(path: Path, parsed: dict[Path, Document]) -> bool:
    """A YAML file in a folder is checked when it says it is a rulebook; one that cannot be read is
    checked too, so that its error shows. What is parsed is kept in `parsed`, to check."""
    try:
        doc = parsed[path] = load_yaml(path, display_name=display_name(path))
    except RulebookError:
        return True
    return isinstance(doc.data, dict) and "rulebook" in doc.data


@click.command("rulebooks")
@rulebooks_option
@json_option
def rulebooks_cmd(rulebooks: tuple[str, ...], as_json: bool) -> None:
    """List the built-in rulebooks: rating rulebooks and what they apply to, then the
    classification, provisioning, policy and monitoring rulebooks used after the grade.

    With --rulebooks (or PINGJI_RULEBOOKS), your own rulebooks are listed with them, each
    followed by its file; one of yours replaces a built-in rulebook of the same id.

    Example:

        pingji rulebooks --rulebooks facts/templates
    """
    entries = catalog.catalog(user=rulebooks)
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "id": e.id,
                        "kind": e.kind,
                        "file": str(e.path),
                        "title": e.title,
                        "customer_type": e.customer_type,
                        "industry": list(e.industries),
                        "extends": e.extends,
                        "user": e.user,
                    }
                    for e in entries
                ],
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    entries.sort(key=lambda e: (e.kind != "rating", e.kind, e.id))
    click.echo(f"{'id':<18} {'kind':<15} {'customer':<14} {'industry':<12} {'extends':<12} title")
    for e in entries:
        click.echo(
            f"{e.id:<18} {e.kind:<15} {e.customer_type or '-':<14} {','.join(e.industries) or '-':<12} "
            f"{e.extends or '-':<12} {e.title.get('en', '')} / {e.title.get('zh', '')}"
            + (f"  [yours: {e.path}]" if e.user else "")
        )


def schema_names() -> list[str]:
    """`rulebook`, `decision` and the name of every installed facts schema (corporate, loan, ...)."""
    names = sorted(p.name[: -len(".schema.json")] for p in facts_dir().glob("*.schema.json"))
    return ["rulebook", "decision", "facts"] + [n for n in names if n not in ("rulebook", "decision", "facts")]


@click.command()
@click.argument("which", type=click.Choice(schema_names()))
def schema(which: str) -> None:
    """Print a JSON Schema: a rulebook format, or a facts schema (for editors).

    `rulebook` is the rating rulebook format; `decision` the format of classification,
    provisioning, policy and monitoring rulebooks. `facts` is the corporate customer schema; name
    `individual`, `small_business` or another installed facts schema (e.g. `loan`) for the others.

    Example:

        pingji schema rulebook > rulebook.schema.json
    """
    if which == "facts":
        which = "corporate"
    path = (
        schema_dir() / f"{which}.schema.json" if which in ("rulebook", "decision") else facts_dir() / f"{which}.schema.json"
    )
    if not path.is_file():
        raise Failure(f"schema '{which}' is not installed ({path})")
    click.echo(path.read_text(encoding="utf-8"), nl=False)


@click.command()
@click.argument("directory", metavar="DIR", type=click.Path(file_okay=False))
def init(directory: str) -> None:
    """Create a workspace: copies of the built-in rulebooks, fact schemas and example facts.

    DIR must be empty or not exist. Edit the copies, check them, and rate with them
    (--rulebook rulebooks/ID.yaml).

    Example:

        pingji init my-rulebooks
    """
    root = Path(directory)
    if root.exists() and any(root.iterdir()):
        raise Failure(f"{directory}: not empty; init only fills an empty or new folder")
    try:
        (root / "rulebooks").mkdir(parents=True, exist_ok=True)
        (root / "facts" / "examples").mkdir(parents=True, exist_ok=True)
        (root / "schemas").mkdir(exist_ok=True)
        for name in ("rulebook", "decision"):
            shutil.copyfile(schema_dir() / f"{name}.schema.json", root / "schemas" / f"{name}.schema.json")
        books = sorted(rulebooks_dir().glob("*.yaml"))
        for p in books:  # editors find the schema next to the workspace's rulebooks
            text = p.read_text(encoding="utf-8")
            for name in ("rulebook", "decision"):
                text = text.replace(f"$schema=../engine/schema/{name}.schema.json", f"$schema=../schemas/{name}.schema.json", 1)
            (root / "rulebooks" / p.name).write_text(text, encoding="utf-8")
        for p in sorted(rulebooks_dir().glob("*.md")):
            shutil.copyfile(p, root / "rulebooks" / p.name)
        schemas = sorted(facts_dir().glob("*.schema.json"))
        for p in schemas:
            shutil.copyfile(p, root / "facts" / p.name)
        examples = []
        for folder in sorted(q for q in facts_dir().iterdir() if q.is_dir() and not q.name.startswith("_")):
            files = sorted(q for q in folder.iterdir() if q.suffix in (".yaml", ".yml", ".json", ".jsonl", ".csv"))
            if files:
                (root / "facts" / folder.name).mkdir(parents=True, exist_ok=True)
            for q in files:
                shutil.copyfile(q, root / "facts" / folder.name / q.name)
            if folder.name == "examples":
                examples = files
    except OSError as exc:
        raise Failure(f"{directory}: cannot create the workspace: {exc.strerror or exc}") from None
    click.echo(
        f"created {directory}: {len(books)} rulebooks, {len(schemas)} fact schemas, "
        f"{len(examples)} example customers"
    )
    click.echo("next:")
    click.echo(f"  cd {directory}")
    click.echo("  pingji check rulebooks")
    click.echo("  pingji rate facts/examples/machinery-a.yaml --rulebook rulebooks/manufacturing.yaml")
