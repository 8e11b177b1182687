"""Who published a feed, and from which country: named in the feed list, else guessed.

"Which press quoted whom" needs an outlet and its country on every article. A feed
list may say both (see ``sources``); without them the outlet is the feed's own title
and the country is read from the site's domain, but only where a domain says it:
``.co.uk`` and ``.ru`` name a country, ``.com`` names none, and a few country codes
are sold to anyone (``.io``, ``.tv``, ``.co``), so they name none either.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

import pycountry

# Country-code domains that search engines treat as generic, because most sites under
# them have nothing to do with the country (Google Search Central's list of
# "generic ccTLDs"), plus the few others sold the same way (.ai, .gg, .ly, .to).
GENERIC_COUNTRY_DOMAINS = frozenset(
    "ad as bz cc cd co dj fm io la me ms nu sc sr su tv tk ws ai gg ly to".split()
)
# Names people write for a country that are not its ISO 3166-1 alpha-2 code.
_COUNTRY_ALIASES = {"UK": "GB", "EL": "GR"}
OUTLET_MAX_CHARS = 200


class OutletError(ValueError):
    """An outlet or country in a feed list that cannot be used; one line."""


def country_code(value: str | None) -> str | None:
    """An ISO 3166-1 alpha-2 code from what a person wrote (``gb``, ``UK``, ``RUS``).

    Raises ``OutletError`` for anything else: a wrong country silently stored
    would put a paper in the wrong press.
    """
    text = (value or "").strip().upper()
    if not text:
        return None
    text = _COUNTRY_ALIASES.get(text, text)
    country = None
    if len(text) == 2 and text.isascii() and text.isalpha():
        country = pycountry.countries.get(alpha_2=text)
    elif len(text) == 3 and text.isascii() and text.isalpha():
        country = pycountry.countries.get(alpha_3=text)
    if country is None:
        shown = " ".join(str(value).split())[:20]
        raise OutletError(
            f"country {shown!r} is not an ISO 3166-1 code (use e.g. GB, RU, US)"
        )
    return country.alpha_2


def outlet_name(value: str | None) -> str | None:
    """An outlet name as one line, or None when blank."""
    text = " ".join(str(value or "").split())
    if not text:
        return None
    if len(text) > OUTLET_MAX_CHARS:
        raise OutletError(f"outlet name longer than {OUTLET_MAX_CHARS} characters")
    if not text.isprintable():
        raise OutletError("outlet name holds control characters")
    return text


def country_of_site(url: str) -> str | None:
    """The country a site's domain names, or None when it names none (``.com``).

    ``feeds.bbci.co.uk`` → GB, ``www.themoscowtimes.com`` → None, ``news.ru`` → RU.
    """
    try:
        host = urlsplit(url.strip()).hostname or ""
    except ValueError:  # an unbalanced [ in a netloc
        return None
    host = host.rstrip(".").lower()
    if "." not in host or _is_address(host):
        return None
    suffix = host.rsplit(".", 1)[1]
    if len(suffix) != 2 or not suffix.isalpha() or suffix in GENERIC_COUNTRY_DOMAINS:
        return None
    if suffix == "uk":
        return "GB"
    country = pycountry.countries.get(alpha_2=suffix.upper())
    return country.alpha_2 if country else None


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
