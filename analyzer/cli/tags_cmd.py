"""``poolscope tags``: who owns a pool tag (lookup, add a tag file, scan driver binaries)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from analyzer.cli.options import output_format_option
from analyzer.render.tables import Column, render_csv, render_json, render_table
from parsers.errors import Diagnostics, InputError


@click.group("tags")
def tags_group() -> None:
    """Who owns a pool tag: look tags up, add, list and remove tag files, scan driver binaries."""


LOOKUP_COLUMNS = (
    Column("tag", "Tag"),
    Column("pattern", "Pattern"),
    Column("binary", "Binary"),
    Column("description", "Description"),
    Column("source", "Source"),
)


def _lookup_rows(tags: list[str], resolver: Any) -> list[dict[str, Any]]:
    rows = []
    for tag in tags:
        candidates = resolver.candidates(tag)
        if not candidates:
            rows.append({"tag": tag, "pattern": None, "binary": None, "description": "no owner known",
                         "source": None})
        for c in candidates:
            where = f"{c.source}:{c.line}" if c.line is not None and not c.source.startswith("input") else c.source
            rows.append({"tag": tag, "pattern": c.pattern, "binary": c.binary,
                         "description": c.description or None, "source": where})
    return rows


def _check_tags(tags: tuple[str, ...]) -> list[str]:
    from parsers.pooltag import pad_tag

    for tag in tags:
        if not tag or len(tag) > 4:
            raise InputError("TAG", f"a pool tag has 1 to 4 characters, not {tag!r}")
    return [pad_tag(t) for t in tags]


@tags_group.command("lookup")
@click.argument("tag_names", nargs=-1, required=True, metavar="TAG...")
@click.option("--tags", "tag_files", multiple=True, type=click.Path(dir_okay=False),
              help="A pooltag.txt / localtag.txt to read before the defaults (repeatable; the first file given wins).")
@click.option("--no-defaults", is_flag=True,
              help="Read only --tags files: not POOLSCOPE_TAGS, the Debugging Tools' pooltag.txt or the user folder.")
@click.option("--from", "inputs", multiple=True, metavar="FILE",
              help="Also use the owner evidence in these inputs (!poolused descriptions, PoolMon Mapped_Driver).")
@output_format_option("table", "json", "csv", default="table")
def lookup_command(tag_names: tuple[str, ...], tag_files: tuple[str, ...], no_defaults: bool,
                   inputs: tuple[str, ...], output_format: str) -> None:
    """Print every candidate owner of each TAG and where the claim comes from.

    Matching follows PoolMon: case-sensitive, exact tags before wildcard entries
    (`?` one character, `*` any suffix), short tags padded with spaces.
    """
    from analyzer.owners import build_resolver

    tags = _check_tags(tag_names)
    snapshots = []
    if inputs:
        from parsers import parse

        result = parse(list(inputs))
        for warning in result.warnings:
            click.echo(f"warning: {warning}", err=True)
        snapshots = result.snapshots
    resolver = build_resolver(tag_files, snapshots, use_defaults=not no_defaults)
    for warning in resolver.warnings:
        click.echo(f"warning: {warning}", err=True)
    if output_format == "json":
        doc = {"tags": [{"tag": t, **resolver.annotate(t)} for t in tags],
               "sources": resolver.sources,
               "warnings": [w.to_dict() for w in resolver.warnings]}
        click.echo(render_json(doc), nl=False)
        return
    rows = _lookup_rows(tags, resolver)
    if output_format == "csv":
        click.echo(render_csv(rows, LOOKUP_COLUMNS), nl=False)
    else:
        click.echo(_table(rows, LOOKUP_COLUMNS), nl=False)


@tags_group.command("add")
@click.argument("path", type=click.Path(dir_okay=False), metavar="FILE")
@click.option("--replace", is_flag=True, help="Replace an added file of the same name instead of refusing.")
def add_command(path: str, replace: bool) -> None:
    """Copy a pooltag.txt / localtag.txt into your poolscope data folder, used from then on.

    Lines that do not read as tag entries are reported here, once, not on every later
    command.  A different file of the same name is refused unless --replace.
    """
    from analyzer.owners import add_user_tag_file

    diag = Diagnostics()
    dest = add_user_tag_file(path, replace=replace, diag=diag)
    for warning in diag.warnings():
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"added {path} as {dest}")


LIST_COLUMNS = (
    Column("name", "Name"),
    Column("entries", "Entries", numeric=True),
    Column("skipped", "Skipped lines", numeric=True),
    Column("path", "Path"),
)


@tags_group.command("list")
@output_format_option("table", "json", "csv", default="table")
def list_command(output_format: str) -> None:
    """List the tag files `tags add` copied, in the order they are read, and where the others come from."""
    from analyzer.owners import ENV_TAGS, list_user_tag_files, user_tags_dir

    files = list_user_tag_files()
    rows = [f.to_dict() for f in files]
    if output_format == "json":
        click.echo(render_json({"folder": str(user_tags_dir()), "files": rows}), nl=False)
        return
    if output_format == "csv":
        click.echo(render_csv(rows, LIST_COLUMNS), nl=False)
        return
    if rows:
        click.echo(_table(rows, LIST_COLUMNS), nl=False)
    else:
        click.echo(f"no tag files added (folder: {user_tags_dir()})")
    click.echo(f"Order of precedence: --tags files, {ENV_TAGS}, the Debugging Tools' pooltag.txt (Windows), "
               "the files above, owners named in the inputs, then poolscope's own short list of common tags.")


@tags_group.command("remove")
@click.argument("name", metavar="NAME")
def remove_command(name: str) -> None:
    """Delete an added tag file by the name `tags list` shows."""
    from analyzer.owners import remove_user_tag_file

    gone = remove_user_tag_file(name)
    click.echo(f"removed {gone}")


def _table(rows: list[Any], columns: tuple[Column, ...]) -> str:
    """A table wide enough for its longest cells: owner descriptions and paths are long."""
    from analyzer.render.tables import record

    widths = [len(c.header) for c in columns]
    for row in rows:
        values = record(row)
        for i, c in enumerate(columns):
            widths[i] = max(widths[i], len(c.text(values.get(c.key))))
    return render_table(rows, columns, width=max(100, sum(widths) + 3 * len(columns)))


def _hex(value: Any) -> str:
    return "-" if value is None else f"0x{value:x}"


SCAN_COLUMNS = (
    Column("file", "File"),
    Column("tag", "Tag"),
    Column("evidence", "Evidence"),
    Column("routines", "Routines", fmt=lambda v: ", ".join(v) if v else "-"),
    Column("sites", "Sites", numeric=True),
    Column("address", "Address", numeric=True, fmt=_hex),
)


@tags_group.command("scan")
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option("--tag", "tag_names", multiple=True, metavar="TAG",
              help="Report the evidence for this tag (repeatable). Without it: every tag passed to a pool routine.")
@click.option("--localtag", type=click.Path(dir_okay=False, writable=True), default=None, metavar="FILE",
              help="Also write the findings as a PoolMon localtag.txt.")
@click.option("--jobs", type=click.IntRange(min=1), default=None, metavar="N",
              help="Worker processes (default: one per core for folders of 16 files or more).")
@output_format_option("table", "json", "csv", default="table")
def scan_command(paths: tuple[str, ...], tag_names: tuple[str, ...], localtag: str | None, jobs: int | None,
                 output_format: str) -> None:
    """Find which driver binaries use a tag: .sys/.dll/.exe files, folders recursively.

    Evidence, strongest first: call-site (the tag is the tag argument of a call to
    ExAllocatePoolWithTag, ExAllocatePool2, ExFreePoolWithTag and the like), immediate (a
    32-bit immediate operand in code), string (the bytes appear anywhere in the file).
    """
    try:
        from analyzer.owners.scan import localtag_text, scan_files
    except ModuleNotFoundError as exc:
        from analyzer.cli import require_extra

        raise require_extra(exc, "tags scan") from None

    tags = _check_tags(tag_names) if tag_names else None
    diag = Diagnostics()
    scans = scan_files(paths, tags, diag=diag, jobs=jobs)
    findings = [f for scan in scans for f in scan.findings]
    for warning in diag.warnings():
        click.echo(f"warning: {warning}", err=True)
    if localtag:
        try:
            Path(localtag).write_text(localtag_text(findings), encoding="utf-8")
        except OSError as exc:
            raise InputError(localtag, f"cannot write: {exc.strerror or exc}") from exc
        click.echo(f"wrote {len(findings)} entries to {localtag}", err=True)
    if output_format == "json":
        doc = {"findings": [f.to_dict() for f in findings], "files": [s.to_dict() for s in scans],
               "warnings": [w.to_dict() for w in diag.warnings()]}
        click.echo(render_json(doc), nl=False)
    elif output_format == "csv":
        rows = [f.to_dict() | {"routines": " ".join(f.routines)} for f in findings]
        click.echo(render_csv(rows, SCAN_COLUMNS), nl=False)
    elif findings:
        click.echo(_table(findings, SCAN_COLUMNS), nl=False)
    else:
        click.echo("no evidence found", err=True)
