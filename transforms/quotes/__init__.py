"""Who said what: direct and indirect quotes with their speakers, from a parsed Doc.

The extractor runs on every article, so it never parses again: it reads the one
parse the pipeline made. Quoted stretches are found on the characters
(``marks``), cues and subjects on the dependency parse (``cues``, ``direct``,
``indirect``), speakers are resolved to a named mention (``speakers``, and
``pronouns`` for he, she, it and they), and the pieces are put together as one
finding per attribution (``assemble``).
"""

from newsbeam.transforms.quotes.assemble import QuoteFinding, extract_quotes

__all__ = ["QuoteFinding", "extract_quotes"]
