"""Named-entity mentions of one article, each resolved to an actor.

The rules live in ``transforms.actors.mentions``; this module keeps the interface the
analysis stage and the evaluation import.
"""

from newsbeam.transforms.actors.mentions import (
    KEPT_LABELS,
    EntityMention,
    actor_at,
    extract_mentions,
)

__all__ = ["KEPT_LABELS", "EntityMention", "actor_at", "extract_mentions"]
