"""The words the quote rules read: speech verbs, role and organisation nouns, pronouns.

Kept in one module so that the direct and indirect rules agree on what counts as a
cue and who can be a source; every list is a closed class of the grammar of
attribution (reporting verbs, titles, pronouns), not a list of cases.
"""

from __future__ import annotations

import re
from pathlib import Path

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
        "pledge", "threaten", "mention", "inform", "disclose", "assure",
        "reiterate", "contend", "speculate", "notify", "hint", "imply", "recount",
        "hope", "think", "expect", "lament", "reaffirm", "reassert", "underline",
        "underscore", "elaborate", "advise", "instruct", "invite", "call",
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
    {
        "ask",
        "urge",
        "tell",
        "warn",
        "call",
        "plead",
        "promise",
        "vow",
        "threaten",
        "pledge",
        "advise",
        "instruct",
        "invite",
    }
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
        "councilor", "priest", "bishop", "sheriff", "physician", "host", "aide",
        "adviser", "advisor", "appraiser", "provost", "dean", "cfo", "cto",
        "nurse", "engineer", "pilot", "survivor", "victim", "farmer", "worker",
        "superintendent",
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
# Where and how words were said: a phrase of one of these prepositions on one of
# these nouns, at the end of a reported clause, frames the report ("in an
# interview with El Diario", "during an event", "on Twitter"); "amid ..." always
# does.
SPEECH_EVENTS = frozenset(
    {
        "interview", "statement", "conference", "briefing", "speech", "address",
        "event", "hearing", "meeting", "tweet", "post", "letter", "email", "call",
        "appearance", "broadcast", "programme", "program", "show", "podcast",
        "rally", "ceremony", "session", "debate", "radio", "television", "tv",
        "twitter", "facebook", "instagram", "release", "summit", "visit", "video",
    }
)  # fmt: skip
FRAMING_PREPOSITIONS = frozenset(
    {"in", "at", "during", "on", "via", "through", "after", "before"}
)
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
# Nouns that cue a report when a that-clause gives their content and their phrase
# names who made it (PARC's noun cues): "a Justice Department claim that ...",
# "defense attorneys' arguments that ...".
CUE_NOUNS = frozenset(
    {
        "claim", "argument", "assertion", "allegation", "warning", "statement",
        "announcement", "admission", "insistence", "promise", "pledge", "denial",
        "accusation", "suggestion", "prediction", "belief", "view",
    }
)  # fmt: skip
# Documents and messages that speak for their owner: "Cornyn's statement added",
# "a report by the Global Change Research Program said", "his office said".
DOCUMENT_NOUNS = frozenset(
    {
        "statement", "letter", "report", "study", "email", "memo", "document",
        "survey", "analysis", "order", "filing", "release", "tweet", "post",
        "message", "note", "complaint", "lawsuit", "ruling", "decision",
        "warning", "communique", "notice", "review", "assessment", "transcript",
        "website", "blog", "editorial", "book", "paper", "office",
    }
)  # fmt: skip
STATEMENT_NOUNS = DOCUMENT_NOUNS | {"spokesman", "spokeswoman", "spokesperson"}
# Verbs whose subject is the author of the document they take as object: "the
# Pentagon released a report", "the family issued a statement".
ISSUING_VERBS = frozenset(
    {
        "issue", "release", "publish", "send", "write", "file", "post", "sign",
        "submit", "deliver", "draft", "circulate", "tweet", "email",
    }
)  # fmt: skip
# Prepositions that tie a role or a document to its owner: "a spokesman for Disney",
# "a report by the program", "the head of the agency", "an official at the embassy".
OWNER_PREPOSITIONS = frozenset(
    {"for", "of", "at", "from", "by", "with", "in", "within", "inside"}
)
# Titles that stand for a role noun: "Dr. Ashish ..." is "the doctor", "Sen. Susan
# Collins" is "the senator", "Rep. Adam Schiff" is "the congressman".
TITLE_ROLES = {
    f"{title}{dot}": roles
    for title, roles in {
        "dr": ("doctor",),
        "prof": ("professor",),
        "sen": ("senator",),
        "rep": ("representative", "congressman", "congresswoman", "lawmaker"),
        "gov": ("governor",),
        "gen": ("general",),
        "pres": ("president",),
        "amb": ("ambassador",),
        "insp": ("inspector",),
        "det": ("detective",),
        "supt": ("superintendent",),
    }.items()
    for dot in ("", ".")
}
# Words that stand before a name without being part of it: role nouns, titles,
# honorifics and the words that qualify them ("former Deputy Prime Minister").
TITLE_WORDS = (
    ROLE_NOUNS
    | {title.rstrip(".") for title in TITLE_ROLES}
    | {"mr", "mrs", "ms", "miss", "mx", "sir", "dame", "lord", "lady", "former"}
    | {"acting", "deputy", "vice", "prime", "foreign", "interior", "defence"}
    | {"defense", "state", "attorney", "press", "white", "house", "u.s", "us"}
)
OWNER_LABELS = frozenset({"PERSON", "ORG", "GPE", "NORP", "FAC"})
# Heads that make a quoted phrase a name or a mention, not a quote.
NAMING_WORDS = frozenset(
    {
        "word", "term", "phrase", "call", "name", "dub", "know", "title", "label",
        "brand", "nickname", "slogan", "headline", "stamp", "motto", "song",
        "film", "book", "album", "novel", "show", "series", "print", "refer",
    }
)  # fmt: skip
PERSON_PRONOUNS = frozenset({"he", "she", "him", "her"})
# Words that tell a person's gender: pronouns, titles, gendered role nouns.
GENDERED_WORDS = {
    **dict.fromkeys(
        ("he", "him", "his", "himself", "mr", "sir", "lord", "king", "prince",
         "spokesman", "chairman", "congressman", "businessman", "father", "son",
         "brother", "husband", "uncle"),
        "m",
    ),
    **dict.fromkeys(
        ("she", "her", "hers", "herself", "mrs", "ms", "miss", "lady", "dame",
         "queen", "princess", "spokeswoman", "chairwoman", "congresswoman",
         "businesswoman", "mother", "daughter", "sister", "wife", "aunt"),
        "f",
    ),
}  # fmt: skip


def _given_names() -> dict[str, str]:
    """Given name -> "m" or "f", from ``data/given_names.tsv`` (its header says how
    it was made); read once, at import."""
    path = Path(__file__).resolve().parents[1] / "data" / "given_names.tsv"
    names = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, gender = line.split("\t")
            names[name] = gender
    return names


GIVEN_NAMES = _given_names()
THING_PRONOUNS = frozenset({"it", "they", "them"})
FIRST_PERSON = frozenset({"i", "we", "you", "me", "us"})
RELATIVE_PRONOUNS = frozenset({"who", "which", "that", "whom"})
NAMED_LABELS = ("PERSON", "ORG", "NORP", "GPE", "FAC")
# Entities that name a time or an amount: never a source, whatever the parse says.
NON_SPEAKER_LABELS = frozenset(
    {"DATE", "TIME", "PERCENT", "MONEY", "QUANTITY", "ORDINAL", "CARDINAL"}
)
SPEAKER_DEPS = frozenset({"nsubj", "nsubjpass"})

# Quote mark families: opener -> closers. Straight marks are resolved by context.
QUOTE_MARKS = '"“”«»„‹›'  # double marks: single ones double as apostrophes
# Words that join quoted pieces without saying anything: 'that "A" and "B"'.
JOINING_WORDS = frozenset({"that", "and", "or", "but", "nor"})
SHORT_QUOTE_WORDS = 3  # a quoted phrase this short needs a cue to count
MAX_CUE_TOKENS = 30  # how far a cue may sit from the quote mark
WORD_RE = re.compile(r"\w+(?:[-'’]\w+)*")
NO_SPAN = (-1, -1)
