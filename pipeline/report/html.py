"""The report as one HTML file: headline figures, then each view's charts and tables.

Self-contained on purpose: the charts are inline SVG, the style sheet is inline, there
is no script, and a Content-Security-Policy forbids every request, so the file opened
from a mail attachment or a USB stick shows the same as on the machine that made it
and tells no server that it was read. Every chart is followed by its table, which is
its text alternative and the place to read exact figures; every figure on the page
carries ``data-field`` (and numbers a raw ``data-value``), so a test can read the page
back and compare it with SQL.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from html import escape
from urllib.parse import urlsplit

from newsbeam.pipeline.report.charts import (
    BY_PRESS,
    colours,
    inline_svg,
    period_label,
)
from newsbeam.pipeline.report.queries import UNKNOWN, Figures

TABLE_OPEN_ROWS = 12  # longer tables start folded, their charts say it first
SPEAKERS_OPEN = 5  # speakers whose quotes show at once; the rest are one click away

# view -> (heading, what it shows)
SECTIONS = {
    "attention": (
        "Attention over time",
        "How many stored articles match the story in each period, and what share of "
        "all stored articles of that period they are.",
    ),
    "outlets": (
        "Outlets",
        "Who published the story's articles: each outlet and each country's press, "
        "and each press's attention over time (its story articles as a share of all "
        "its articles).",
    ),
    "co_mentions": (
        "Co-mentioned actors",
        "Who else appears in the story's articles, by the number of articles.",
    ),
    "voices": (
        "Voices",
        "The most quoted speakers in the story's articles, and each one's latest "
        "quotes with where they appeared.",
    ),
    "sides": (
        "Sides",
        "Whose voices the story carries: quotes by the speaker's country, in total, "
        "over time, and by the country of the press that printed them.",
    ),
    "who_speaks_about_whom": (
        "Who speaks about whom",
        "Quotes by each of the most quoted speakers in articles that mention each "
        "actor: who is quoted where an actor is in the news.",
    ),
}

# (field, header, kind): kind is text | int | share | date | period
COLUMNS: dict[str, list[tuple[str, str, str]]] = {
    "attention.by_period": [
        ("period", "Period", "period"),
        ("articles", "Story articles", "int"),
        ("all_articles", "All articles", "int"),
        ("share", "Share", "share"),
    ],
    "outlets.by_outlet": [
        ("outlet", "Outlet", "text"),
        ("press_name", "Country", "text"),
        ("articles", "Story articles", "int"),
        ("share", "Of the story", "share"),
        ("all_articles", "All its articles", "int"),
        ("attention", "Attention", "share"),
    ],
    "outlets.by_press": [
        ("press_name", "Press", "text"),
        ("articles", "Story articles", "int"),
        ("share", "Of the story", "share"),
        ("all_articles", "All its articles", "int"),
        ("attention", "Attention", "share"),
    ],
    "outlets.press_over_time": [
        ("period", "Period", "period"),
        ("press_name", "Press", "text"),
        ("articles", "Story articles", "int"),
        ("all_articles", "All its articles", "int"),
        ("attention", "Attention", "share"),
    ],
    "co_mentions.actors": [
        ("actor_name", "Actor", "text"),
        ("actor_type", "Type", "text"),
        ("actor_country", "Country", "country"),
        ("articles", "Story articles", "int"),
        ("share", "Of story articles", "share"),
        ("mentions", "Mentions", "int"),
    ],
    "voices.speakers": [
        ("speaker_name", "Speaker", "text"),
        ("side_name", "Country", "text"),
        ("quotes", "Quotes", "int"),
        ("articles", "Articles", "int"),
        ("outlets", "Outlets", "int"),
        ("latest", "Latest", "date"),
    ],
    "sides.by_side": [
        ("side_name", "Speaker's country", "text"),
        ("quotes", "Quotes", "int"),
        ("share", "Share", "share"),
    ],
    "sides.over_time": [
        ("period", "Period", "period"),
        ("side_name", "Speaker's country", "text"),
        ("quotes", "Quotes", "int"),
        ("share", "Share of the period's quotes", "share"),
    ],
    "sides.by_press": [
        ("press_name", "Press", "text"),
        ("side_name", "Speaker's country", "text"),
        ("quotes", "Quotes", "int"),
        ("share", "Share of the press's quotes", "share"),
    ],
    "who_speaks_about_whom.pairs": [
        ("speaker_name", "Speaker", "text"),
        ("actor_name", "Actor mentioned", "text"),
        ("quotes", "Quotes", "int"),
        ("articles", "Articles", "int"),
    ],
}

CAPTIONS = {
    "attention.by_period": "Story articles and all stored articles per period",
    "outlets.by_outlet": "Story articles per outlet",
    "outlets.by_press": "Story articles per press country",
    "outlets.press_over_time": "Each press's attention to the story over time",
    "co_mentions.actors": "Actors in the story's articles",
    "voices.speakers": "Most quoted speakers",
    "sides.by_side": "Share of quotes by the speaker's country",
    "sides.over_time": "Share of quotes by the speaker's country, per period",
    "sides.by_press": "Which press quotes which side",
    "who_speaks_about_whom.pairs": "Speakers and the actors in their articles",
}


# --------------------------------------------------------------------- values


def format_share(value: float | None) -> str:
    """A share as a percentage with one decimal, "–" when it has no denominator."""
    return "–" if value is None else f"{value * 100:.1f}%"


def count(n: int, noun: str, plural: str | None = None) -> str:
    """ "1 quote", "2 quotes": the counts in sentences read as sentences."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"


def format_date(value: date | datetime | None) -> str:
    if value is None:
        return "–"
    return f"{value.day} {value.strftime('%b %Y')}"


def _cell(value, kind: str, by: str, names: dict[str, str]) -> tuple[str, str | None]:
    """(visible text, raw data-value) of one table cell."""
    if kind == "int":
        return f"{value:,}", str(value)
    if kind == "share":
        return format_share(value), "" if value is None else repr(float(value))
    if kind == "period":
        return period_label(value, by, with_year=True), value.isoformat()
    if kind == "date":
        return format_date(value), value.isoformat() if value else ""
    if kind == "country":
        return (names.get(value, value) if value else "–"), value or ""
    return ("–" if value is None else str(value)), None


def _safe_url(url: str | None) -> str | None:
    if url and urlsplit(url).scheme in ("http", "https"):
        return url
    return None


# ---------------------------------------------------------------------- parts


def table(key: str, rows: list[dict], figures: Figures) -> str:
    columns = COLUMNS[key]
    by = figures.story["by"]
    head = "".join(
        f'<th scope="col" data-field="{f}" class="{_align(k)}">{escape(h)}</th>'
        for f, h, k in columns
    )
    body = []
    for row in rows:
        cells = []
        for field, _header, kind in columns:
            text, raw = _cell(row.get(field), kind, by, figures.names)
            value = f' data-value="{escape(raw)}"' if raw is not None else ""
            cells.append(
                f'<td data-field="{field}"{value} class="{_align(kind)}">'
                f"{escape(text)}</td>"
            )
        body.append("<tr data-row>" + "".join(cells) + "</tr>")
    if not rows:
        body.append(f'<tr><td colspan="{len(columns)}">No rows.</td></tr>')
    html = (
        f'<div class="table-wrap"><table data-table="{key}">'
        f"<caption>{escape(CAPTIONS[key])}</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
    )
    if len(rows) > TABLE_OPEN_ROWS:
        html = f"<details><summary>The data: {len(rows)} rows</summary>{html}</details>"
    return html


def _align(kind: str) -> str:
    return "num" if kind in ("int", "share") else "txt"


def chart(key: str, svgs: dict[str, str], rows: list[dict]) -> str:
    svg = svgs.get(key)
    if svg is None:
        why = "No figures to chart."
        if key in BY_PRESS and rows:
            why = "One press country only: the table says it all."
        return (
            f'<figure class="chart empty" data-chart="{key}"><p>{why}'
            f"</p><figcaption>{escape(CAPTIONS[key])}</figcaption></figure>"
        )
    return (
        f'<figure class="chart" data-chart="{key}">'
        f"{inline_svg(svg, key.replace('.', '-'), CAPTIONS[key])}"
        f"<figcaption>{escape(CAPTIONS[key])} (data in the table)</figcaption></figure>"
    )


def pair(key: str, figures: Figures, svgs: dict[str, str]) -> str:
    view, name = key.split(".")
    rows = figures.views[view][name]
    return (
        f'<div class="pair">{chart(key, svgs, rows)}{table(key, rows, figures)}</div>'
    )


def quotes_list(figures: Figures, palette: dict[str, str]) -> str:
    """The latest quotes of each top speaker, as a reader would quote them."""
    speakers = {r["speaker_id"]: r for r in figures.views["voices"]["speakers"]}
    groups: dict[str, list[dict]] = {}
    for row in figures.views["voices"]["latest_quotes"]:
        groups.setdefault(row["speaker_id"], []).append(row)
    parts = []
    for speaker_id, rows in groups.items():
        speaker = speakers[speaker_id]
        colour = palette.get(speaker["side_name"], "#8c8c8c")
        items = []
        for row in rows:
            url = _safe_url(row["url"])
            headline = escape(row["title"] or "(no headline)")
            if url:
                headline = f'<a href="{escape(url)}" data-field="url">{headline}</a>'
            press = "" if row["press"] == UNKNOWN else f" ({escape(row['press_name'])})"
            items.append(
                '<li data-row><blockquote data-field="quote">'
                f"{escape(row['quote'])}</blockquote>"
                f'<p class="source"><span data-field="title">{headline}</span> · '
                f'<span data-field="outlet">{escape(row["outlet"])}</span>{press} · '
                f'<time data-field="published_at" '
                f'datetime="{row["published_at"].isoformat()}">'
                f"{format_date(row['published_at'])}</time></p></li>"
            )
        parts.append(
            f'<article class="speaker" data-speaker="{escape(speaker_id)}">'
            f'<h4><span class="chip" style="background:{colour}"></span>'
            f'<span data-field="speaker_name">{escape(speaker["speaker_name"])}</span>'
            f" <small>{escape(speaker['side_name'])} · "
            f"{count(speaker['quotes'], 'quote')}"
            f"</small></h4><ol>{''.join(items)}</ol></article>"
        )
    if not parts:
        return "<p>No quote in these articles has an identified speaker.</p>"
    shown, folded = parts[:SPEAKERS_OPEN], parts[SPEAKERS_OPEN:]
    more = (
        f"<details><summary>Quotes of {len(folded)} more speakers</summary>"
        f"{''.join(folded)}</details>"
        if folded
        else ""
    )
    return (
        '<div class="quotes" data-table="voices.latest_quotes">'
        f"<h3>Latest quotes</h3>{''.join(shown)}{more}</div>"
    )


# -------------------------------------------------------------------- summary


def _definition(figures: Figures) -> str:
    story = figures.story
    names = [f"<b>{escape(a['actor_name'])}</b>" for a in story["actors"]]
    joiner = " and " if story["match"] == "all" else " or "
    text = "Stored articles that mention " + joiner.join(names)
    if len(names) > 2:
        text = (
            "Stored articles that mention "
            + ("all of " if story["match"] == "all" else "any of ")
            + ", ".join(names)
        )
    if story["keywords"]:
        words = ", ".join(f"“{escape(k)}”" for k in story["keywords"])
        text += (
            f", containing {words}"
            if len(story["keywords"]) == 1
            else (f", containing any of {words}")
        )
    summary = figures.summary
    start = story["from"] or summary["stored_from"]
    end = story["to"] or summary["stored_to"]
    if start and end:
        text += f", published {format_date(start)} to {format_date(end)}"
    elif start or end:
        text += f", published {'from' if start else 'up to'} "
        text += format_date(start or end)
    text += f"; counted by {story['by']}."
    sides = [escape(s["actor_name"]) for s in story["sides"]]
    if sides:
        text += f" Sides compared: {', '.join(sides)}."
    return text


def key_figures(figures: Figures) -> str:
    s = figures.summary
    items: list[tuple[str, str, str, str]] = [
        (
            "story_articles",
            f"{s['story_articles']:,}",
            "story articles",
            f"{format_share(s['share'])} of {s['all_articles']:,} stored",
        ),
        (
            "peak_articles",
            f"{s['peak_articles']:,}",
            "articles in the busiest " + figures.story["by"],
            period_label(s["peak_period"], figures.story["by"], True)
            if s["peak_period"]
            else "–",
        ),
        (
            "outlets",
            f"{s['outlets']:,}",
            "outlets",
            f"{count(s['press_countries'], 'press country', 'press countries')} known",
        ),
        (
            "quotes",
            f"{s['quotes']:,}",
            "quotes",
            f"{count(s['speakers'], 'named speaker')}, "
            f"{s['quotes_unknown_speaker']:,} unattributed",
        ),
    ]
    if s["top_speaker"]:
        items.append(
            (
                "top_speaker_quotes",
                f"{s['top_speaker_quotes']:,}",
                "quotes by the most quoted",
                s["top_speaker"],
            )
        )
    for row in figures.views["sides"]["by_side"]:
        if row["side"] in {side["actor_id"] for side in figures.story["sides"]}:
            items.append(
                (
                    f"side:{row['side']}",
                    format_share(row["share"]),
                    f"{row['side_name']} voices",
                    f"{row['quotes']:,} of {s['quotes']:,} quotes",
                )
            )
    cells = "".join(
        f'<div class="figure" data-figure="{escape(key)}"><dt>{escape(label)}</dt>'
        f'<dd><span class="big">{escape(value)}</span>'
        f'<span class="note">{escape(note)}</span></dd></div>'
        for key, value, label, note in items
    )
    return f'<dl class="figures">{cells}</dl>'


def _lede(view: str, figures: Figures) -> str:
    """One sentence per view that states its finding before the chart does."""
    v, s = figures.views, figures.summary
    if view == "attention" and s["peak_period"]:
        label = period_label(s["peak_period"], figures.story["by"], True)
        return (
            f"{s['story_articles']:,} of {s['all_articles']:,} stored articles "
            f"({format_share(s['share'])}); the busiest {figures.story['by']} "
            f"was {label} with {s['peak_articles']:,}."
        )
    if view == "outlets" and v["outlets"]["by_outlet"]:
        top = v["outlets"]["by_outlet"][0]
        text = (
            f"{count(s['outlets'], 'outlet')}; {top['outlet']} carried the most "
            f"({top['articles']:,})."
        )
        if all(r["press"] == UNKNOWN for r in v["outlets"]["by_press"]):
            text += (
                " No outlet country is recorded for these articles: a feed "
                "list can name each outlet's country."
            )
        return text
    if view == "co_mentions" and v["co_mentions"]["actors"]:
        names = [
            f"{r['actor_name']} ({r['articles']})"
            for r in v["co_mentions"]["actors"][:3]
        ]
        return "Most often alongside the story's actors: " + ", ".join(names) + "."
    if view == "voices" and s["quotes"]:
        return (
            f"{count(s['quotes'], 'quote')}, {count(s['speakers'], 'named speaker')}; "
            f"{count(s['quotes_unknown_speaker'], 'quote has', 'quotes have')} no "
            "identified speaker."
        )
    if view == "sides" and s["quotes"]:
        parts = [
            f"{r['side_name']} {format_share(r['share'])}"
            for r in v["sides"]["by_side"]
        ]
        return "Share of quotes by the speaker's country: " + ", ".join(parts) + "."
    return ""


# ----------------------------------------------------------------------- page


def page(
    figures: Figures,
    svgs: dict[str, str],
    source: str,
    generated: datetime,
    version: str,
) -> str:
    """The whole report as one HTML document."""
    palette = colours(figures)
    title = figures.story["title"]
    sections = []
    parts: dict[str, Callable[[], str]] = {
        "attention": lambda: pair("attention.by_period", figures, svgs),
        "outlets": lambda: "".join(
            pair(k, figures, svgs)
            for k in (
                "outlets.by_outlet",
                "outlets.by_press",
                "outlets.press_over_time",
            )
        ),
        "co_mentions": lambda: pair("co_mentions.actors", figures, svgs),
        "voices": lambda: (
            pair("voices.speakers", figures, svgs) + quotes_list(figures, palette)
        ),
        "sides": lambda: "".join(
            pair(k, figures, svgs)
            for k in ("sides.by_side", "sides.over_time", "sides.by_press")
        ),
        "who_speaks_about_whom": lambda: pair(
            "who_speaks_about_whom.pairs", figures, svgs
        ),
    }
    if figures.articles:
        for number, (view, (heading, about)) in enumerate(SECTIONS.items(), 1):
            lede = _lede(view, figures)
            sections.append(
                f'<section id="{view}" data-view="{view}">'
                f"<h2>{number}. {escape(heading)}</h2>"
                f'<p class="about">{escape(about)}</p>'
                + (f'<p class="lede">{escape(lede)}</p>' if lede else "")
                + parts[view]()
                + "</section>"
            )
        contents = "".join(
            f'<li><a href="#{view}">{escape(heading)}</a></li>'
            for view, (heading, _about) in SECTIONS.items()
        )
        nav = f'<nav aria-label="Contents"><ol>{contents}</ol></nav>'
    else:
        nav = ""
        sections.append(
            '<p class="notice">No stored article matches this story in this range. '
            "Check the actors, keywords and dates, or ingest more feeds.</p>"
        )
    return TEMPLATE.format(
        title=escape(title),
        definition=_definition(figures),
        figures=key_figures(figures),
        nav=nav,
        sections="".join(sections),
        source=escape(source),
        generated=escape(generated.strftime("%Y-%m-%d %H:%M UTC")),
        version=escape(version),
        style=STYLE,
    )


STYLE = """
:root { --ink: #1d232b; --muted: #5b6572; --rule: #e3e7ec; --accent: #1f5fa8; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff;
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial,
  sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 20px 24px 48px; }
header .kicker { margin: 0; color: var(--muted); font-size: 14px;
  text-transform: uppercase; letter-spacing: .06em; }
h1 { font-size: 32px; line-height: 1.2; margin: 4px 0 8px; }
h2 { font-size: 24px; margin: 40px 0 4px; padding-top: 16px;
  border-top: 2px solid var(--ink); }
h3 { font-size: 18px; margin: 24px 0 8px; }
h4 { font-size: 16px; margin: 0 0 6px; }
h4 small { color: var(--muted); font-weight: normal; }
.definition, .about { color: var(--muted); max-width: 60em; }
.about { margin: 0 0 4px; }
.lede { font-size: 18px; margin: 4px 0 16px; max-width: 60em; }
nav ol { display: flex; flex-wrap: wrap; gap: 4px 20px; padding: 0;
  margin: 16px 0 0; list-style: none; counter-reset: v; font-size: 15px; }
nav li { counter-increment: v; }
nav li::before { content: counter(v) ". "; color: var(--muted); }
a { color: var(--accent); }
.figures { display: grid; gap: 12px; margin: 20px 0 0; padding: 0;
  grid-template-columns: repeat(auto-fill, minmax(140px, 1fr)); }
.figure { border: 1px solid var(--rule); border-radius: 6px; padding: 10px 12px; }
.figure dt { color: var(--muted); font-size: 14px; }
.figure dd { margin: 0; }
.figure .big { display: block; font-size: 30px; font-weight: 650;
  font-variant-numeric: tabular-nums; }
.figure .note { display: block; color: var(--muted); font-size: 13px; }
.pair { display: grid; gap: 16px 32px; align-items: start; margin: 16px 0 8px;
  grid-template-columns: repeat(auto-fit, minmax(min(100%, 470px), 1fr)); }
figure { margin: 0; min-width: 0; }
figure svg { display: block; width: 100%; height: auto; }
figcaption { color: var(--muted); font-size: 13px; margin-top: 4px; }
.empty p { color: var(--muted); }
.table-wrap { overflow-x: auto; min-width: 0; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
caption { text-align: left; font-weight: 600; padding-bottom: 6px; }
th, td { padding: 4px 8px; border-bottom: 1px solid var(--rule); vertical-align: top; }
th { font-weight: 600; background: #f6f8fa; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
th.num { white-space: normal; }
td.txt { min-width: 6em; }
.txt { text-align: left; }
details summary { cursor: pointer; color: var(--accent); margin: 4px 0; }
.quotes { margin-top: 8px; }
.speaker { border-top: 1px solid var(--rule); padding: 12px 0; }
.speaker ol { margin: 0; padding-left: 20px; }
.speaker li { margin-bottom: 10px; }
blockquote { margin: 0; font-size: 16px; }
blockquote::before { content: "“"; } blockquote::after { content: "”"; }
.source { margin: 2px 0 0; color: var(--muted); font-size: 14px; }
.chip { display: inline-block; width: 12px; height: 12px; border-radius: 2px;
  margin-right: 8px; vertical-align: -1px; }
.notice { font-size: 18px; padding: 16px; background: #fff6e0; border-radius: 6px; }
footer { margin-top: 48px; color: var(--muted); font-size: 13px;
  border-top: 1px solid var(--rule); padding-top: 12px; }
@media (max-width: 600px) {
  main { padding: 12px 12px 32px; }
  h1 { font-size: 26px; }
  h2 { font-size: 21px; }
  .lede { font-size: 16px; }
  .figures { grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 8px; }
  .figure .big { font-size: 24px; }
  table { font-size: 13px; }
  th, td { padding: 3px 5px; }
}
"""

TEMPLATE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; \
style-src 'unsafe-inline'; img-src data:">
<meta name="generator" content="newsbeam {version}">
<title>{title}: coverage report</title>
<style>{style}</style>
</head>
<body>
<main>
<header>
<p class="kicker">newsbeam coverage report</p>
<h1>{title}</h1>
<p class="definition">{definition}</p>
{figures}
{nav}
</header>
{sections}
<footer>Made by newsbeam {version} on {generated} from <code>{source}</code>. Every \
figure is a DuckDB query over that output; each chart's table holds its data.</footer>
</main>
</body>
</html>
"""
