"""Actors: who a mention is about, as a stable id shared by every dataset.

The package holds one room per responsibility:

* ``names``: actor ids (``slugify``), lookup keys, person-name words, hypocorisms;
* ``registry``: the actors known before any article is read (countries,
  institutions, parties, people, user aliases);
* ``organisations``: organisation names: normal forms, acronyms, country qualifiers,
  clubs and national teams;
* ``spans``: where an article's names are (cleaning, splitting, label repair);
* ``people``: the people of one article and their name variants;
* ``mentions``: one article's named-entity mentions, each resolved to an actor;
* ``across``: the rules and Beam steps that unify ids across articles and runs;
* ``dataset``: the ``actors`` dataset, one merged record per actor.

Everything other modules use is importable from here.
"""

from newsbeam.transforms.actors.across import (
    ResolveAcrossArticles,
    ResolveWithStoredActors,
    apply_to_mention,
    apply_to_quote,
    cross_article_rewrites,
    resolve_across_articles,
    resolve_with_stored,
    rewrite_table,
    short_form_rewrites,
    stored_people_table,
    stored_short_forms,
)
from newsbeam.transforms.actors.dataset import (
    SummariseActors,
    merge_actor,
    summarise_actor,
)
from newsbeam.transforms.actors.names import (
    ACTOR_TYPES,
    DATA_DIR,
    alias_key,
    ascii_fold,
    fold_name_word,
    name_rules,
    name_words,
    person_key,
    slugify,
)
from newsbeam.transforms.actors.registry import Actor, ActorRegistry, default_registry

__all__ = [
    "ACTOR_TYPES",
    "DATA_DIR",
    "Actor",
    "ActorRegistry",
    "ResolveAcrossArticles",
    "ResolveWithStoredActors",
    "SummariseActors",
    "alias_key",
    "apply_to_mention",
    "apply_to_quote",
    "ascii_fold",
    "cross_article_rewrites",
    "default_registry",
    "fold_name_word",
    "merge_actor",
    "name_rules",
    "name_words",
    "person_key",
    "resolve_across_articles",
    "resolve_with_stored",
    "short_form_rewrites",
    "stored_short_forms",
    "rewrite_table",
    "slugify",
    "stored_people_table",
    "summarise_actor",
]
