"""``newsbeam report``: a story's coverage as an HTML page, a JSON document or CSVs.

A thin layer: parse the arguments into a ``Request``, build the figures from DuckDB,
write them in the asked format. A mistake in the request is one line on stderr and
exit code 2, as everywhere in newsbeam.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path

from newsbeam.pipeline.report.renderer import ChartRenderer
from newsbeam.pipeline.report.stories import (
    ReportError,
    Story,
    find_story_file,
    load_stories,
    pick_story,
    split_list,
)

EXIT_USAGE = 2
EXIT_FAILED = 1


class _Parser(argparse.ArgumentParser):
    """Argument mistakes as one line, like every other error of the command."""

    def error(self, message: str):
        raise ReportError(f"{message} (see 'newsbeam report --help')")


def parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="newsbeam report",
        description="How the stored news covered a story: attention over time, "
        "outlets, co-mentioned actors, voices, sides, who speaks about whom.",
        epilog="Example: newsbeam report output --story uk-russia --by week",
    )
    p.add_argument(
        "output", metavar="DIR", help="The --output directory of newsbeam ingest."
    )
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--story", metavar="NAME", help="A story's name in the stories file."
    )
    which.add_argument(
        "--actors",
        metavar="ID,ID",
        help="Actor ids, comma-separated: articles must mention all of them.",
    )
    p.add_argument(
        "--stories",
        metavar="FILE",
        help="The stories file (TOML); default: ./stories.toml, else "
        "./examples/stories.toml.",
    )
    p.add_argument(
        "--any",
        action="store_true",
        help="Articles mentioning any of the actors, not all of them.",
    )
    p.add_argument(
        "--keywords",
        metavar="WORD,WORD",
        help="Comma-separated words; articles must contain at least one (whole "
        "words, any case). Replaces the story's own keywords.",
    )
    p.add_argument(
        "--from", dest="start", metavar="DATE", help="First day, YYYY-MM-DD (UTC)."
    )
    p.add_argument(
        "--to", dest="end", metavar="DATE", help="Last day, YYYY-MM-DD (UTC), included."
    )
    p.add_argument(
        "--by",
        choices=["day", "week", "month"],
        default="day",
        help="Period of the timelines (weeks start on Monday).",
    )
    p.add_argument(
        "--top",
        type=int,
        metavar="N",
        default=15,
        help="Rows of each ranking (outlets, actors, speakers); default 15.",
    )
    p.add_argument("--format", choices=["html", "json", "csv"], default="html")
    p.add_argument(
        "--out",
        metavar="PATH",
        help="Where to write: a file for html and json (json default: stdout), a "
        "folder for csv; default NAME-report.html / NAME-report/.",
    )
    return p


def _date(value: str | None, flag: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise ReportError(
            f"{flag} must be a date like 2024-03-18, not {value!r}"
        ) from (error)


def story_from_args(args: argparse.Namespace) -> Story:
    """The story the command line asks for, with its overrides applied."""
    if args.story:
        path = find_story_file(args.stories)
        story = pick_story(load_stories(path), args.story, path)
    else:
        actors = split_list(args.actors)
        if not actors:
            raise ReportError("--actors needs at least one actor id")
        joiner = "-or-" if args.any else "-and-"
        story = Story(name=joiner.join(actors), actors=actors)
    changes = {}
    if args.any:
        changes["match"] = "any"
    if args.keywords is not None:
        changes["keywords"] = split_list(args.keywords)
    if changes:
        story = Story(**{**story.__dict__, **changes})
    return story


def report(argv: list[str]) -> int:
    try:
        args = parser().parse_args(argv)
    except ReportError as error:
        return _fail(str(error))
    # Forked first, before DuckDB and Arrow start threads: see renderer.py.
    renderer = ChartRenderer() if args.format == "html" else None
    try:
        return _report(args, renderer)
    finally:
        if renderer is not None:
            renderer.close(stop=True)  # a no-op once it has rendered


def _report(args, renderer) -> int:
    import duckdb
    from newsbeam.pipeline.query import connect
    from newsbeam.pipeline.report.queries import Request, build

    try:
        request = Request(
            story=story_from_args(args),
            start=_date(args.start, "--from"),
            end=_date(args.end, "--to"),
            by=args.by,
            top=args.top,
        )
        con = connect(args.output)
        try:
            figures = build(con, request)
        finally:
            con.close()
        written = write(figures, args.format, args.out, args.output, renderer)
    except (ReportError, FileNotFoundError) as error:
        return _fail(str(error))
    except duckdb.Error as error:
        return _fail(f"query failed: {' '.join(str(error).split())}", EXIT_FAILED)
    except OSError as error:
        return _fail(f"cannot write the report: {error}", EXIT_FAILED)
    if written:
        s = figures.summary
        print(
            f"newsbeam report: {written} ({s['story_articles']} story articles, "
            f"{s['quotes']} quotes)"
        )
    return 0


def _fail(message: str, code: int = EXIT_USAGE) -> int:
    print(f"newsbeam: error: {message}", file=sys.stderr)
    return code


# ---------------------------------------------------------------------- writers


def document(figures) -> dict:
    """The JSON document: the story, ``articles``, the summary, one key per view."""
    return {
        "story": figures.story,
        "articles": figures.articles,
        "summary": figures.summary,
        **figures.views,
    }


def to_json(figures) -> str:
    from newsbeam.pipeline.report.queries import plain

    return json.dumps(document(figures), default=plain, ensure_ascii=False, indent=1)


def to_csvs(figures) -> dict[str, str]:
    """One CSV per table of each view: ``VIEW.TABLE.csv`` -> its text."""
    from newsbeam.pipeline.report.queries import VIEWS, plain

    files = {}
    for view, tables in VIEWS.items():
        for name in tables:
            rows = figures.views[view][name]
            buffer = io.StringIO()
            columns = list(rows[0]) if rows else _empty_columns(view, name)
            writer = csv.writer(buffer, lineterminator="\n")
            writer.writerow(columns)
            writer.writerows([[plain(row.get(c)) for c in columns] for row in rows])
            files[f"{view}.{name}.csv"] = buffer.getvalue()
    return files


def _empty_columns(view: str, name: str) -> list[str]:
    from newsbeam.pipeline.report.html import COLUMNS

    return [field for field, _header, _kind in COLUMNS.get(f"{view}.{name}", [])]


def to_html(figures, source: str, renderer=None) -> str:
    from importlib.metadata import version

    from newsbeam.pipeline.report.charts import chart_specs, render
    from newsbeam.pipeline.report.html import page

    svgs = render(chart_specs(figures), renderer)
    return page(figures, svgs, source, datetime.now(UTC), version("newsbeam"))


def write(figures, fmt: str, out: str | None, source: str, renderer=None) -> str | None:
    """Write the report; returns what to tell the user (None when on stdout)."""
    name = figures.story["name"]
    if fmt == "json":
        text = to_json(figures) + "\n"
        if not out or out == "-":
            sys.stdout.write(text)
            return None
        _write_atomically(Path(out), text)
        return f"wrote {out}"
    if fmt == "csv":
        folder = Path(out or f"{name}-report")
        folder.mkdir(parents=True, exist_ok=True)
        files = to_csvs(figures)
        for filename, text in files.items():
            _write_atomically(folder / filename, text)
        return f"wrote {len(files)} CSV files to {folder}/"
    path = Path(out or f"{name}-report.html")
    _write_atomically(path, to_html(figures, source, renderer))
    return f"wrote {path}"


def _write_atomically(path: Path, text: str) -> None:
    """A reader never sees half a report: write beside it, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # as open() would: mkstemp makes it 0600
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
