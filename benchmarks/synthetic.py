"""Synthetic newsbeam outputs at any scale, made without NLP.

Real rows (``schemas`` row types) written by the real writer (``sinks.write_file``,
grouped by ``schemas.layout.file_key``), so the files are those an ingest would
leave: the same folders, names, sort order and row groups. Only the analysis is
skipped: actors are drawn from a long-tailed (Zipf) distribution, as in news where
a few countries and leaders take most mentions and most actors appear once.

``write_output(DIR, mentions=1_000_000, days=365)`` makes about a million mention
rows over a year; ``runs_per_day`` spreads each day over several ingests, as an
hourly schedule would (before compaction). The same seed gives the same rows.

Used by ``bench_query.py`` and reusable by any benchmark that needs data at scale.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from newsbeam.pipeline import directory
from newsbeam.schemas import DATASETS, Article, Mention, Quote
from newsbeam.schemas.layout import DEFAULT_LAYOUT
from newsbeam.transforms.common import stable_id
from newsbeam.transforms.sinks import group_by_file, write_file

SEED = 20240318
FIRST_DAY = date(2024, 1, 1)
TYPES = ("person", "organisation", "place", "group", "other")
HEAVY = (  # the head of the distribution: actors every query names
    ("united-kingdom", "United Kingdom", "place"),
    ("russia", "Russia", "place"),
    ("united-states", "United States", "place"),
    ("sergei-lavrov", "Sergei Lavrov", "person"),
    ("david-cameron", "David Cameron", "person"),
)
HEAVY_COUNTRY = {
    "united-kingdom": "united-kingdom",
    "russia": "russia",
    "united-states": "united-states",
    "sergei-lavrov": "russia",
    "david-cameron": "united-kingdom",
}
# The long tail's countries (None: not known), and the outlets articles come from:
# 40, in six press countries and a few wires with none, as a report would see them.
COUNTRIES = ("united-kingdom", "russia", "united-states", "france", "germany", None)
OUTLETS = (
    *[(f"UK Outlet {i}", "GB") for i in range(12)],
    *[(f"Russian Outlet {i}", "RU") for i in range(6)],
    *[(f"US Outlet {i}", "US") for i in range(10)],
    *[(f"French Outlet {i}", "FR") for i in range(4)],
    *[(f"German Outlet {i}", "DE") for i in range(4)],
    *[(f"Wire {i}", None) for i in range(4)],
)


@dataclass(frozen=True)
class Synthetic:
    """What was generated: counts and the actors queries can name."""

    articles: int
    mentions: int
    quotes: int
    days: int
    actors: int
    first_day: date
    last_day: date


def actor_pool(size: int) -> list[tuple[str, str, str]]:
    """``(actor_id, actor_name, actor_type)``: the heavy few, then the long tail."""
    rng = random.Random(SEED)
    pool = list(HEAVY)
    for n in range(size - len(pool)):
        pool.append((f"actor-{n:06d}", f"Actor {n}", rng.choice(TYPES)))
    return pool


def zipf_weights(size: int, exponent: float = 1.1) -> list[float]:
    return [1.0 / (rank**exponent) for rank in range(1, size + 1)]


def generate(
    mentions: int = 1_000_000,
    days: int = 365,
    actors: int = 50_000,
    mentions_per_article: int = 25,
    quotes_per_article: int = 3,
    first_day: date = FIRST_DAY,
    seed: int = SEED,
):
    """Rows by dataset and day: ``{day: {"articles": [...], "mentions": [...],
    "quotes": [...]}}``, generated one day at a time (a generator: bounded memory)."""
    rng = random.Random(seed)
    pool = actor_pool(actors)
    weights = zipf_weights(len(pool))
    cumulative = []
    total = 0.0
    for weight in weights:
        total += weight
        cumulative.append(total)
    articles_total = max(1, mentions // mentions_per_article)
    per_day = [articles_total // days + (1 if d < articles_total % days else 0)
               for d in range(days)]  # fmt: skip
    counter = 0
    for offset, count in enumerate(per_day):
        day = first_day + timedelta(days=offset)
        rows = {"articles": [], "mentions": [], "quotes": []}
        for _ in range(count):
            counter += 1
            article_id = stable_id("synthetic", str(seed), str(counter))
            moment = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(
                seconds=rng.randrange(86_400)
            )
            text = f"Synthetic article {counter}.\n\n" + "Words " * 200
            rows["articles"].append(_article(article_id, moment, text, counter))
            chosen = rng.choices(pool, cum_weights=cumulative, k=mentions_per_article)
            for n, (actor_id, name, kind) in enumerate(chosen):
                start = 30 + n * 8
                rows["mentions"].append(
                    Mention(
                        mention_id=stable_id(article_id, "m", str(n)),
                        article_id=article_id,
                        actor_id=actor_id,
                        actor_name=name,
                        actor_type=kind,
                        actor_country=country_of(actor_id),
                        label="PERSON" if kind == "person" else "GPE",
                        text=name,
                        start_char=start,
                        end_char=start + 5,
                        published_at=moment,
                    )
                )
            speakers = [a for a in chosen if a[2] == "person"] or [None]
            for n in range(quotes_per_article):
                speaker = speakers[n % len(speakers)] if rng.random() < 0.8 else None
                start = 40 + n * 40
                rows["quotes"].append(
                    Quote(
                        quote_id=stable_id(article_id, "q", str(n)),
                        article_id=article_id,
                        speaker_id=speaker[0] if speaker else None,
                        speaker_name=speaker[1] if speaker else None,
                        speaker_text=speaker[1] if speaker else "a spokesman",
                        speaker_role=None,
                        speaker_country=country_of(speaker[0]) if speaker else None,
                        quote="Words words words words.",
                        segments=((start, start + 25),),
                        kind="direct",
                        cue="say",
                        start_char=start,
                        end_char=start + 25,
                        speaker_start_char=None,
                        speaker_end_char=None,
                        rule="synthetic",
                        confidence=0.9,
                        published_at=moment,
                    )
                )
        yield day, rows


def country_of(actor_id: str) -> str | None:
    """The actor's country: the heavy few's own, the tail's by its number."""
    if actor_id in HEAVY_COUNTRY:
        return HEAVY_COUNTRY[actor_id]
    return COUNTRIES[int(actor_id.rsplit("-", 1)[1]) % len(COUNTRIES)]


def _article(article_id: str, moment: datetime, text: str, n: int) -> Article:
    outlet, outlet_country = OUTLETS[n % len(OUTLETS)]
    return Article(
        article_id=article_id,
        feed_url=f"https://synthetic.test/{n % len(OUTLETS)}/feed.xml",
        source=outlet,
        outlet=outlet,
        outlet_country=outlet_country,
        url=f"https://synthetic.test/{n}",
        guid=None,
        title=f"Synthetic article {n}",
        published_at=moment,
        date_source="published",
        fetched_at=moment,
        language="en",
        text=text,
        word_count=len(text.split()),
        text_source="feed",
    )


def write_output(
    output: str | Path,
    mentions: int = 1_000_000,
    days: int = 365,
    layout: str = DEFAULT_LAYOUT,
    runs_per_day: int = 1,
    **options,
) -> Synthetic:
    """Write a synthetic output in ``layout``, each day split over ``runs_per_day``
    ingests (by article), the way scheduled runs leave it before compaction."""
    output = str(output)
    directory.record_layout(output, layout)
    counts = {"articles": 0, "mentions": 0, "quotes": 0}
    first = last = None
    for day, rows in generate(mentions=mentions, days=days, **options):
        first = first or day
        last = day
        runs = _split_by_run(rows, runs_per_day)
        for run in runs:
            for name in ("mentions", "quotes", "articles"):  # articles commit last
                spec = DATASETS[name]
                for (partition, _shard), batch in group_by_file(
                    spec, run[name], layout
                ).items():
                    write_file(output, spec, partition, batch)
                counts[name] += len(run[name])
    return Synthetic(
        articles=counts["articles"],
        mentions=counts["mentions"],
        quotes=counts["quotes"],
        days=days,
        actors=options.get("actors", 50_000),
        first_day=first,
        last_day=last,
    )


def _split_by_run(rows: dict, runs: int) -> list[dict]:
    """One day's rows as ``runs`` ingests, each holding whole articles."""
    if runs <= 1:
        return [rows]
    run_of = {a.article_id: n % runs for n, a in enumerate(rows["articles"])}
    split = [{name: [] for name in rows} for _ in range(runs)]
    for name, batch in rows.items():
        for row in batch:
            split[run_of[row.article_id]][name].append(row)
    return split
