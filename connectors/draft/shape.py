"""The layout of a sample table (wide: one column per indicator; long: one row per
indicator, named by one or more label columns) and one candidate indicator per column or
label, with a code, a guessed kind (count, rate, amount), a unit and a theme."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from connectors.draft.roles import NumberColumn, distinct, is_label_of
from connectors.names import plain
from connectors.values import parse_numbers
from veille.model import FileSpec

MAX_LABELS = 500
MAX_LABEL_COLUMNS = 8
_COUNT_START = ("nombre", "nb ", "effectif", "foyers", "personnes", "menages")
_RATE = ("taux", "pourcentage", "ratio", "proportion", "%", "pour mille", "pour 1000", "‰",
         "pct", "part ")
# words that make a column an amount; "revenu de solidarité active" is a benefit whose
# recipients are counted, not an income
_AMOUNT = re.compile(r"\b(revenus?(?! (de )?solidarite)|median(e)?|moyen(ne)?|montants?|euros?"
                     r"|salaires?|niveau de vie|quartiles?|deciles?|loyers?|prix)\b|€")
_THEMES = {
    "securite": ("violence", "vol", "cambriol", "stupefiant", "delinquan", "destruction",
                 "degradation", "escroquer", "infraction", "delit"),
    "emploi": ("emploi", "chomage", "demandeur", "defm", "actif", "salarie"),
    "education": ("scolai", "eleve", "ecole", "college", "lycee", "diplome"),
    "sante": ("sante", "medecin", "soins", "hopital"),
}


@dataclass
class Candidate:
    """One indicator the draft proposes: where it is in the file and what it looks like."""

    key: str
    label: str
    code: str
    kind: str
    unit: str
    theme: str
    values: int
    secret: int
    minimum: float | None
    maximum: float | None


@dataclass
class Shape:
    layout: str
    indicator_columns: list[str] = field(default_factory=list)
    value_column: str | None = None
    other_values: list[str] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)
    markers: list[str] = field(default_factory=list)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", plain(text)).strip("_")


def code_for(prefix: str, text: str, taken: set[str]) -> str:
    """A glossary code (a-z, 0-9, _; at most 64) from the provider and the header, unique."""
    base = f"{prefix}_{slug(text)}".strip("_")[:60].rstrip("_")
    if not re.match(r"^[a-z]", base):
        base = f"i_{base}"[:60]
    code, n = base, 2
    while code in taken or len(code) < 2:
        code, n = f"{base}_{n}", n + 1
    taken.add(code)
    return code


def guess_kind(texts: tuple[str, str], integers: bool, maximum: float | None
               ) -> tuple[str, str]:
    """(kind, unit) from the words of the header and label, then from the values."""
    words = plain(" ".join(texts))
    if any(plain(t).startswith(_COUNT_START) for t in texts) and integers:
        return "count", "nombre"
    if any(w in words for w in _RATE) or words.startswith("part"):
        per_mille = "mille" in words or "‰" in words or (maximum or 0) > 100
        if (maximum or 0) > 1000:
            return "amount", "valeur"
        return "rate", "‰" if per_mille else "%"
    if _AMOUNT.search(words):
        return "amount", "€" if any(w in words for w in ("euro", "€", "revenu", "niveau",
                                                          "salaire", "loyer", "prix")) else \
            "valeur"
    return ("count", "nombre") if integers else ("amount", "valeur")


def guess_theme(text: str) -> str:
    words = plain(text)
    for theme, stems in _THEMES.items():
        if any(s in words for s in stems):
            return theme
    return "precarite"


def shape(frame: pd.DataFrame, keys: list[str], skip: set[str], numbers: list[NumberColumn],
          labels: dict[str, str], decimal: str, provider: str, context: str) -> Shape:
    """Wide when (territory, period) already identifies a row, else long, with the fewest
    label columns that make (territory, period, label) unique."""
    dims = []
    for column in frame.columns:
        if column in skip or column in {n.name for n in numbers}:
            continue
        count = len(distinct(frame[column]))
        if 2 <= count <= MAX_LABELS and not is_label_of(frame, column, keys[:1]):
            dims.append((count, column))
    dims = sorted(dims)[:MAX_LABEL_COLUMNS]  # bounds the search of a key below
    taken: set[str] = set()
    if not dims or not frame.duplicated(keys).any():
        candidates = [_candidate(n.name, labels.get(n.name) or n.name.replace("_", " "),
                                 provider, n, context, taken) for n in numbers]
        return Shape("wide", candidates=candidates,
                     markers=sorted({m for n in numbers for m in n.markers}))
    chosen = next((list(c) for size in (1, 2, 3)
                   for c in itertools.combinations([d for _, d in dims], size)
                   if not frame.duplicated(keys + list(c)).any()),
                  [d for _, d in dims[:3]])
    main = max(numbers, key=lambda n: n.numbers)
    label = frame[chosen[0]].str.strip()
    for column in chosen[1:]:
        label = label + "|" + frame[column].str.strip()
    spec = FileSpec(decimal=decimal, secret_markers=main.markers)
    parsed = parse_numbers(frame[main.name], spec)
    candidates = []
    for text in pd.unique(label)[:MAX_LABELS]:
        rows = (label == text).to_numpy()
        values = parsed.values[rows & np.isfinite(parsed.values)]
        name = text if len(chosen) == 1 else f"{main.name} {text.replace('|', ' ')}"
        stats = NumberColumn(main.name, len(values), int((parsed.secret & rows).sum()),
                             bool(np.all(values == np.round(values))),
                             float(values.min()) if len(values) else 0.0,
                             float(values.max()) if len(values) else 0.0, main.markers)
        candidates.append(_candidate(text, text, provider, stats, context, taken, name))
    return Shape("long", chosen, main.name, [n.name for n in numbers if n is not main],
                 candidates, main.markers)


def _candidate(key: str, label: str, provider: str, n: NumberColumn, context: str,
               taken: set[str], name: str | None = None) -> Candidate:
    words = f"{key} {label}"
    kind, unit = guess_kind((key, label), n.integers, n.maximum if n.numbers else None)
    code = code_for(re.sub(r"[^a-z0-9]+", "_", provider.lower()), name or key, taken)
    return Candidate(key, label[:1].upper() + label[1:], code, kind, unit,
                     guess_theme(f"{words} {context}"), n.numbers, n.secret,
                     n.minimum if n.numbers else None, n.maximum if n.numbers else None)
