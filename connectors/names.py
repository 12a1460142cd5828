"""Names as people and providers write them, reduced to one key: a header or a commune name
matches whatever its accents, case, spacing, hyphens, "Saint"/"St" or leading article."""

from __future__ import annotations

import re
import unicodedata

_ARTICLES = ("le", "la", "les", "l")
_SAINT = {"st": "saint", "ste": "sainte", "sts": "saints", "stes": "saintes"}


def plain(text: str) -> str:
    """Trimmed, case-folded, without accents, spaces collapsed (for headers)."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"\s+", " ", bare.replace("\ufeff", "")).strip().casefold()


def place_key(name: str) -> str:
    """A place name's key: 'St-Étienne', 'SAINT ETIENNE' and 'Saint-Étienne' are one;
    'Le Crès', 'Crès (Le)' and 'LE CRES' are one."""
    text = plain(name)
    text = re.sub(r"\((l'|le|la|les)\)", r" ", text)
    words = [w for w in re.split(r"[\s\-'’`.,/()]+", text) if w]
    words = [_SAINT.get(w, w) for w in words]
    while len(words) > 1 and words[0] in _ARTICLES:
        words = words[1:]
    return " ".join(words)
