"""The report's charts: Vega-Lite specifications, rendered to SVG with vl-convert.

Why Vega-Lite through ``vl-convert-python``: one PyPI wheel carries the Vega and
Vega-Lite JavaScript and the engine that runs them, so a chart becomes an SVG on a
machine with no network and no browser, and the report needs no script at all when it
is opened. The SVG keeps text as text (selectable, searchable, sharp when zoomed) and
Vega labels every mark group (``role-mark``) and axis with ARIA attributes. The
specifications are written as plain dicts, not through Altair: Altair writes the same
JSON but costs about a second to import, half of the time a small report may take.

Colours carry meaning across charts: each side of a story has one colour, and a
country's press takes the colour of its side (UK press and UK voices are both blue), so
"who quotes whom" can be read at a glance. Other countries are grey, unknown lighter.
"""

from __future__ import annotations

import re
from datetime import date

from newsbeam.pipeline.report.queries import OTHER, UNKNOWN, Figures
from newsbeam.pipeline.report.renderer import render_here

# Sides first (blue, red, then distinct hues), then the press countries that are no
# side; "other" and "unknown" are greys so they never look like a side.
SIDE_COLOURS = ("#1f5fa8", "#c0392b", "#2a8a5a", "#8e44ad", "#b7791f", "#0f7c8c")
PRESS_COLOURS = ("#6b8e23", "#d35400", "#5d6d7e", "#a04000", "#117864", "#7d3c98")
OTHER_COLOUR = "#8c8c8c"
UNKNOWN_COLOUR = "#c8c8c8"
ACCENT = "#1f5fa8"
MUTED = "#d9dee5"
WIDTH = 300  # plot width in px: with its labels a chart is ~460 px, a phone shows 80%
TIME_WIDTH = 360  # timelines have short labels: the same room, a wider plot
MAX_TICKS = 7

CONFIG = {
    "font": "Helvetica, Arial, sans-serif",
    "view": {"stroke": None},
    "background": "white",
    "padding": 6,
    "axis": {
        "labelFontSize": 12,
        "titleFontSize": 12,
        "titleFontWeight": "normal",
        "titleColor": "#444",
        "labelColor": "#333",
        "domainColor": "#999",
        "tickColor": "#999",
        "gridColor": "#eceff3",
    },
    "legend": {
        "orient": "top",
        "direction": "horizontal",
        "labelFontSize": 12,
        "titleFontSize": 12,
        "titleFontWeight": "normal",
        "symbolType": "square",
        "labelLimit": 220,
        "columns": 3,
    },
    "axisY": {"labelLimit": 150},
}


# ---------------------------------------------------------------------- colours


def colours(figures: Figures) -> dict[str, str]:
    """Display name -> colour for every side and press country in the report."""
    palette: dict[str, str] = {}
    for index, side in enumerate(figures.story["sides"]):
        palette[side["actor_name"]] = SIDE_COLOURS[index % len(SIDE_COLOURS)]
    palette[figures.names[OTHER]] = OTHER_COLOUR
    palette[figures.names[UNKNOWN]] = UNKNOWN_COLOUR
    spare = iter(PRESS_COLOURS * 4)
    for row in figures.views["outlets"]["by_press"]:
        name = row["press_name"]
        if name not in palette:
            palette[name] = next(spare, OTHER_COLOUR)
    return palette


def _scale(names, palette: dict[str, str]) -> dict:
    domain = list(dict.fromkeys(names))
    return {"domain": domain, "range": [palette.get(n, OTHER_COLOUR) for n in domain]}


# ------------------------------------------------------------------------ time


def period_label(period: date, by: str, with_year: bool) -> str:
    """How a period is written on an axis: "18 Mar", "w/c 18 Mar", "Mar 2024"."""
    if by == "month":
        return period.strftime("%b %Y")
    text = f"{period.day} {period.strftime('%b')}"
    if with_year:
        text += f" {period.year}"
    return f"w/c {text}" if by == "week" else text


def _time_axis(figures: Figures, periods: list[date]) -> tuple[dict, list[str]]:
    """An ordinal x axis of period labels in order, at most ``MAX_TICKS`` shown."""
    by = figures.story["by"]
    with_year = len({p.year for p in periods}) > 1
    labels = [period_label(p, by, with_year) for p in periods]
    step = max(1, -(-len(labels) // MAX_TICKS))
    title = {"day": "Day", "week": "Week (from Monday)", "month": "Month"}[by]
    if periods and not with_year and by != "month":
        title += f", {periods[0].year}"
    axis = {
        "title": title,
        "labelAngle": 0,
        "values": labels[::step],
        "labelOverlap": "greedy",
    }
    return {"field": "label", "type": "ordinal", "sort": labels, "axis": axis}, labels


def _with_labels(rows: list[dict], by: str, with_year: bool) -> list[dict]:
    return [
        {**row, "label": period_label(row["period"], by, with_year)} for row in rows
    ]


# ----------------------------------------------------------------------- specs


def _spec(description: str, body: dict, data: list[dict]) -> dict:
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "description": description,
        "data": {"values": [_jsonable(row) for row in data]},
        "config": CONFIG,
        **body,
    }


def _jsonable(row: dict) -> dict:
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in row.items()}


def _bars(y: str, x: str, x_title: str, color: dict, height_rows: int) -> dict:
    """Horizontal bars, largest first: the shape of every ranking in the report."""
    return {
        "width": WIDTH,
        "height": {"step": 22} if height_rows else 40,
        "mark": {"type": "bar", "cornerRadiusEnd": 2},
        "encoding": {
            "y": {"field": y, "type": "nominal", "sort": None, "title": None},
            "x": {
                "field": x,
                "type": "quantitative",
                "title": x_title,
                "axis": {"tickMinStep": 1, "format": "d"},
            },
            "color": color,
        },
    }


def attention_chart(figures: Figures) -> dict:
    rows = figures.views["attention"]["by_period"]
    periods = [r["period"] for r in rows]
    x, _labels = _time_axis(figures, periods)
    with_year = len({p.year for p in periods}) > 1
    data = _with_labels(rows, figures.story["by"], with_year)
    counts = {
        "width": TIME_WIDTH,
        "height": 170,
        "layer": [
            {
                "mark": {"type": "bar", "color": MUTED},
                "encoding": {
                    "x": x,
                    "y": {
                        "field": "all_articles",
                        "type": "quantitative",
                        "title": "Articles",
                        "axis": {"tickMinStep": 1},
                    },
                },
            },
            {
                "mark": {"type": "bar", "color": ACCENT},
                "encoding": {
                    "x": x,
                    "y": {"field": "articles", "type": "quantitative"},
                },
            },
        ],
    }
    share = {
        "width": TIME_WIDTH,
        "height": 90,
        "mark": {"type": "line", "point": True, "color": ACCENT},
        "encoding": {
            "x": x,
            "y": {
                "field": "share",
                "type": "quantitative",
                "title": "Share",
                "axis": {"format": ".0%", "tickCount": 3},
            },
        },
    }
    return _spec(
        "Story articles per period (blue) against all stored articles (grey), and "
        "the story's share of all articles.",
        {"vconcat": [counts, share], "spacing": 12},
        data,
    )


def outlets_chart(figures: Figures, palette: dict[str, str]) -> dict:
    rows = figures.views["outlets"]["by_outlet"]
    color = {
        "field": "press_name",
        "type": "nominal",
        "title": "Press",
        "scale": _scale([r["press_name"] for r in rows], palette),
    }
    return _spec(
        "Story articles per outlet, coloured by the outlet's country.",
        _bars("outlet", "articles", "Story articles", color, len(rows)),
        rows,
    )


def press_chart(figures: Figures, palette: dict[str, str]) -> dict:
    rows = figures.views["outlets"]["by_press"]
    names = [r["press_name"] for r in rows]
    color = {
        "field": "press_name",
        "type": "nominal",
        "legend": None,
        "scale": _scale(names, palette),
    }
    return _spec(
        "Story articles per press country.",
        _bars("press_name", "articles", "Story articles", color, len(rows)),
        rows,
    )


def press_time_chart(figures: Figures, palette: dict[str, str]) -> dict:
    rows = figures.views["outlets"]["press_over_time"]
    periods = list(dict.fromkeys(r["period"] for r in rows))
    x, _labels = _time_axis(figures, periods)
    with_year = len({p.year for p in periods}) > 1
    names = [r["press_name"] for r in rows]
    body = {
        "width": TIME_WIDTH,
        "height": 170,
        "mark": {"type": "line", "point": True},
        "encoding": {
            "x": x,
            "y": {
                "field": "attention",
                "type": "quantitative",
                "title": "Share of the press's articles",
                "axis": {"format": ".0%"},
            },
            "color": {
                "field": "press_name",
                "type": "nominal",
                "title": "Press",
                "scale": _scale(names, palette),
            },
        },
    }
    return _spec(
        "Each press country's attention to the story: story articles as a share of "
        "all its stored articles, per period.",
        body,
        _with_labels(rows, figures.story["by"], with_year),
    )


def co_mentions_chart(figures: Figures) -> dict:
    rows = figures.views["co_mentions"]["actors"]
    color = {
        "field": "actor_type",
        "type": "nominal",
        "title": "Type",
        "scale": {"scheme": "tableau10"},
    }
    return _spec(
        "Actors mentioned in the story's articles, by number of articles.",
        _bars(
            "actor_name", "articles", "Story articles mentioning them", color, len(rows)
        ),
        rows,
    )


def voices_chart(figures: Figures, palette: dict[str, str]) -> dict:
    rows = figures.views["voices"]["speakers"]
    color = {
        "field": "side_name",
        "type": "nominal",
        "title": "Speaker's country",
        "scale": _scale([r["side_name"] for r in rows], palette),
    }
    return _spec(
        "The most quoted speakers, coloured by their country's side.",
        _bars("speaker_name", "quotes", "Quotes", color, len(rows)),
        rows,
    )


def sides_chart(figures: Figures, palette: dict[str, str]) -> dict:
    rows = figures.views["sides"]["by_side"]
    names = [r["side_name"] for r in rows]
    body = {
        "width": WIDTH,
        "height": {"step": 26},
        "layer": [
            {"mark": {"type": "bar", "cornerRadiusEnd": 2}},
            {
                "mark": {"type": "text", "align": "left", "dx": 4, "fontSize": 12},
                "encoding": {
                    "text": {"field": "share", "format": ".0%"},
                    "color": {"value": "#333"},
                },
            },
        ],
        "encoding": {
            "y": {"field": "side_name", "type": "nominal", "sort": None, "title": None},
            "x": {
                "field": "share",
                "type": "quantitative",
                "title": "Share of quotes",
                "axis": {"format": ".0%"},
                "scale": {"domain": [0, 1]},
            },
            "color": {
                "field": "side_name",
                "type": "nominal",
                "legend": None,
                "scale": _scale(names, palette),
            },
        },
    }
    return _spec("Share of the story's quotes by the speaker's country.", body, rows)


def _stacked(rows, x: dict, y: dict, names, palette, horizontal: bool) -> dict:
    share = {
        "field": "quotes",
        "type": "quantitative",
        "stack": "normalize",
        "title": "Share of quotes",
        "axis": {"format": ".0%"},
    }
    encoding = {
        "color": {
            "field": "side_name",
            "type": "nominal",
            "title": "Speaker's country",
            "scale": _scale(names, palette),
            "sort": names,
        },
        "order": {"field": "order", "type": "quantitative"},
    }
    if horizontal:
        encoding.update(x=share, y=y)
    else:
        encoding.update(x=x, y=share)
    return {"mark": "bar", "encoding": encoding}


def sides_time_chart(figures: Figures, palette: dict[str, str]) -> dict:
    rows = figures.views["sides"]["over_time"]
    periods = list(dict.fromkeys(r["period"] for r in rows))
    x, _labels = _time_axis(figures, periods)
    with_year = len({p.year for p in periods}) > 1
    names = list(dict.fromkeys(r["side_name"] for r in rows))
    data = [
        {**row, "order": names.index(row["side_name"])}
        for row in _with_labels(rows, figures.story["by"], with_year)
    ]
    body = {
        "width": TIME_WIDTH,
        "height": 170,
        **_stacked(data, x, None, names, palette, horizontal=False),
    }
    return _spec("Share of quotes by the speaker's country, per period.", body, data)


def sides_press_chart(figures: Figures, palette: dict[str, str]) -> dict:
    rows = figures.views["sides"]["by_press"]
    names = list(dict.fromkeys(r["side_name"] for r in rows))
    data = [{**row, "order": names.index(row["side_name"])} for row in rows]
    y = {"field": "press_name", "type": "nominal", "sort": None, "title": "Press"}
    body = {
        "width": WIDTH,
        "height": {"step": 26},
        **_stacked(data, None, y, names, palette, horizontal=True),
    }
    return _spec(
        "Which press quotes which side: shares of each press's quotes.", body, data
    )


def who_chart(figures: Figures) -> dict:
    rows = figures.views["who_speaks_about_whom"]["pairs"]
    speakers = list(dict.fromkeys(r["speaker_name"] for r in rows))
    actors = list(dict.fromkeys(r["actor_name"] for r in rows))
    body = {
        "width": {"step": 30},
        "height": {"step": 24},
        "encoding": {
            "x": {
                "field": "actor_name",
                "type": "nominal",
                "sort": actors,
                "title": "Mentioned in the same article",
                "axis": {"labelAngle": -45, "orient": "top", "labelLimit": 130},
            },
            "y": {
                "field": "speaker_name",
                "type": "nominal",
                "sort": speakers,
                "title": None,
            },
        },
        "layer": [
            {
                "mark": "rect",
                "encoding": {
                    "color": {
                        "field": "quotes",
                        "type": "quantitative",
                        "title": "Quotes",
                        "scale": {"scheme": "blues"},
                        "legend": {"direction": "horizontal"},
                    }
                },
            },
            {
                "mark": {"type": "text", "fontSize": 11},
                "encoding": {
                    "text": {"field": "quotes", "type": "quantitative"},
                    "color": {
                        "condition": {"test": "datum.quotes >= 10", "value": "white"},
                        "value": "#222",
                    },
                },
            },
        ],
    }
    return _spec(
        "Quotes by each speaker (rows) in articles that mention each actor (columns).",
        body,
        rows,
    )


def chart_specs(figures: Figures) -> dict[str, dict]:
    """Every chart of a report by its key (``view.table``); empty tables have none."""
    palette = colours(figures)
    views = figures.views
    makers = {
        "attention.by_period": lambda: attention_chart(figures),
        "outlets.by_outlet": lambda: outlets_chart(figures, palette),
        "outlets.by_press": lambda: press_chart(figures, palette),
        "outlets.press_over_time": lambda: press_time_chart(figures, palette),
        "co_mentions.actors": lambda: co_mentions_chart(figures),
        "voices.speakers": lambda: voices_chart(figures, palette),
        "sides.by_side": lambda: sides_chart(figures, palette),
        "sides.over_time": lambda: sides_time_chart(figures, palette),
        "sides.by_press": lambda: sides_press_chart(figures, palette),
        "who_speaks_about_whom.pairs": lambda: who_chart(figures),
    }
    specs = {}
    for key, make in makers.items():
        view, table = key.split(".")
        rows = views[view][table]
        if figures.articles and _has_figures(rows) and not _repeats(key, rows):
            specs[key] = make()
    return specs


# A breakdown by press with one press only would repeat another chart: the attention
# timeline, the share of each side, the bar of all story articles.
BY_PRESS = ("outlets.by_press", "outlets.press_over_time", "sides.by_press")


def _repeats(key: str, rows: list[dict]) -> bool:
    return key in BY_PRESS and len({row["press"] for row in rows}) < 2


def _has_figures(rows: list[dict]) -> bool:
    """A chart of only zeros draws nothing: the table says it better."""
    numbers = ("articles", "quotes")
    return any(row.get(n) for row in rows for n in numbers)


# ---------------------------------------------------------------------- render


def render(specs: dict[str, dict], renderer=None) -> dict[str, str]:
    """Each spec as an SVG string, rendered offline (no data URL may be fetched):
    by ``renderer`` (a ``renderer.ChartRenderer``) when given, else here."""
    if renderer is not None:
        return renderer.render(specs)
    return render_here(specs)


_ID = re.compile(r'\bid="([^"]+)"')


def inline_svg(svg: str, prefix: str, label: str) -> str:
    """An SVG made fit to sit in a page beside others and to shrink on a phone.

    Vega numbers its clip paths and gradients from 1 in every SVG, so two charts on
    one page would share ids and clip each other's marks: each gets a prefix. The
    fixed width and height go, so CSS can scale the chart by its viewBox.
    """
    for old in sorted(set(_ID.findall(svg)), key=len, reverse=True):
        new = f"{prefix}-{old}"
        svg = svg.replace(f'id="{old}"', f'id="{new}"')
        svg = svg.replace(f"url(#{old})", f"url(#{new})")
        svg = svg.replace(f'href="#{old}"', f'href="#{new}"')
    match = re.match(r'<svg([^>]*?) width="([\d.]+)" height="([\d.]+)"', svg)
    if match:
        width = match.group(2)
        svg = svg.replace(
            match.group(0),
            f'<svg{match.group(1)} role="img" aria-label="{_attr(label)}" '
            f'style="max-width:{width}px"',
            1,
        )
    return svg


def _attr(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
