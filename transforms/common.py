"""Small things every stage shares: stable ids, dead-letter rows, UTC clocks."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from schemas import DeadLetter

DEAD_LETTERS = "dead_letters"  # tag of every stage's failure output
PAYLOAD_LIMIT = 2000  # characters of the failing input kept for inspection


def stable_id(*parts: str, length: int = 16) -> str:
    """A short hex digest of the parts; the same parts give the same id in every run."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()[:length]


def utc_now() -> datetime:
    return datetime.now(UTC)


def one_line(text: str, limit: int = 500) -> str:
    """Collapse whitespace so an error reads as one line, and bound its length."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def dead_letter(
    stage: str,
    source: str,
    error: str,
    detail: str = "",
    payload: str | bytes = "",
    occurred_at: datetime | None = None,
) -> DeadLetter:
    """A dead-letter row: the stage, where the input came from, and why it failed."""
    if isinstance(payload, bytes):
        payload = payload[: PAYLOAD_LIMIT * 4].decode("utf-8", "replace")
    return DeadLetter(
        stage=stage,
        source=source,
        error=error,
        detail=one_line(detail),
        payload=payload[:PAYLOAD_LIMIT],
        occurred_at=occurred_at or utc_now(),
    )
