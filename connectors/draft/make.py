"""A draft convention for a sample delivery, checked against it: the YAML is loaded by the
catalog's own model and the file is mapped by ``parse_delivery`` (a dry run), so what the
preview shows is what ingesting the file would record."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from connectors.draft.render import Lines
from connectors.draft.roles import (
    PeriodRole,
    StatusRole,
    TerritoryRole,
    decimal_mark,
    number_columns,
    period_role,
    sample,
    status_role,
    territory_role,
)
from connectors.draft.shape import Candidate, Shape, shape, slug
from connectors.draft.sniff import DraftError, sniff
from connectors.mapping import Parsed, parse_delivery
from connectors.read import ReadError, read_table
from connectors.validate import period_label
from veille.catalog import Catalog
from veille.clock import Clock
from veille.config import ReadLimits
from veille.model import Convention, FileSpec, Indicator, PeriodMapping, Provider, error_text
from veille.periods import Periodicity

LAG_DAYS = {"annual": 180, "quarterly": 90, "monthly": 45}


@dataclass
class Draft:
    """The convention's YAML, the glossary (and provider) entries it needs, the dry run."""

    convention: Convention
    text: str
    indicators: list[dict[str, Any]]
    provider: dict[str, Any] | None
    parsed: Parsed


def draft_convention(path: Path, catalog: Catalog, provider: str, *, clock: Clock,
                     limits: ReadLimits | None = None) -> Draft:
    """Read ``path``, propose its convention, and dry-run it on the whole file."""
    name = path.name
    if not re.fullmatch(r"[a-z][a-z0-9_-]{1,63}", provider):
        raise DraftError(f"--provider « {provider} » : un identifiant en minuscules, chiffres, "
                         "- ou _ (2 à 64 caractères), par exemple caf ou ssmsi")
    try:
        sniffed = sniff(path, limits)
        spec = dict(sniffed.spec)
        table = read_table(path, FileSpec.model_validate(spec), name, limits)
    except ReadError as exc:
        raise DraftError(f"{name} : fichier illisible ({exc})") from exc
    except DraftError as exc:
        raise DraftError(f"{name} : {exc}") from exc
    frame = sample(table.frame)
    spec["decimal"] = decimal_mark(frame, spec.get("separator"))
    territory = territory_role(frame, catalog)
    if territory is None:
        raise DraftError(f"{name} : aucune colonne ne contient des codes ou des noms de "
                         f"territoires de l'espace de travail (colonnes : "
                         f"{', '.join(table.columns[:12])})")
    period = period_role(frame, name, {territory.column})
    if period is None:
        raise DraftError(f"{name} : aucune colonne de période (année, 2024-T1, 2024-03) et "
                         "pas d'année dans le nom du fichier")
    skip = {territory.column} | ({period.column} if period.column else set())
    status = status_role(frame, skip)
    if status is not None:
        skip.add(status.column)
    numbers = number_columns(frame, spec["decimal"], skip)
    if not numbers:
        raise DraftError(f"{name} : aucune colonne de nombres hors territoire et période")
    labels = dict(zip(sniffed.header, sniffed.labels, strict=False)) if sniffed.labels else {}
    keys = [territory.column] + ([period.column] if period.column else [])
    found = shape(frame, keys, skip, numbers, labels, spec["decimal"], provider, name)
    spec["secret_markers"] = found.markers or [""]
    seen = bool(found.markers)
    text = _convention(name, provider, spec, territory, period, status, found,
                       len(table.frame), seen, clock.now().date().isoformat())
    try:
        convention = Convention.model_validate(yaml.safe_load(text))
    except ValidationError as exc:  # the draft itself is wrong: a bug to report, named
        raise DraftError(f"{name} : brouillon refusé par le modèle des conventions : "
                         f"{'; '.join(error_text(e) for e in exc.errors())}") from exc
    indicators = [_glossary_entry(c, period.periodicity, provider) for c in found.candidates
                  if c.code not in catalog.indicators]
    known = {**catalog.indicators,
             **{e["code"]: Indicator.model_validate(e) for e in indicators}}
    entry = None if provider in catalog.providers else {
        "id": provider, "name": provider.upper()}
    providers = catalog.providers if entry is None else {
        **catalog.providers, provider: Provider.model_validate(entry)}
    trial = dataclasses.replace(catalog, indicators=known, providers=providers,
                                conventions={**catalog.conventions, convention.id: convention})
    parsed = parse_delivery(path, convention, trial, clock=clock, filename=name,
                            limits=limits)
    return Draft(convention, text, indicators, entry, parsed)


def _glossary_entry(c: Candidate, periodicity: str, provider: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"code": c.code, "label": c.label[:200],
             "definition": f"{c.label} (brouillon : définition à écrire)", "theme": c.theme,
             "unit": c.unit, "kind": c.kind, "polarity": "neutral",
             "periodicity": periodicity, "provider": provider}
    if c.minimum is not None and c.minimum < 0:
        entry["minimum"] = None
    return entry


def _first_period(labels: list[str], periodicity: str, pattern: str) -> str | None:
    found = []
    for text in labels:
        match = re.search(pattern, text)
        label, _ = period_label(text, match.groupdict() if match else {},
                                Periodicity(periodicity))
        if label is not None:
            found.append(label)
    return min(found) if found else None


def _convention(name: str, provider: str, spec: dict, territory: TerritoryRole,
                period: PeriodRole, status: StatusRole | None, found: Shape, rows: int,
                seen: bool, today: str) -> str:
    """The convention as commented YAML (the YAML is what is checked, then written)."""
    stem = re.sub(r"(?<!\d)(?:19|20)\d{2}(?!\d)", "", Path(name).stem)
    conv_id = f"{slug(provider)}-{slug(stem)}".replace("_", "-")[:64].strip("-")
    escaped = re.escape(name)
    if period.pattern:
        escaped = re.sub(r"(?<!\d)(?:19|20)\d{2}(?!\d)", r"\\d{4}", escaped)
    pattern = period.pattern or PeriodMapping.model_fields["pattern"].default
    first = _first_period(period.labels, period.periodicity, pattern)
    out = Lines()
    out.comment(f"Brouillon de convention écrit par « veille conventions draft » le "
                f"{today}\nd'après {name} ({rows} lignes de données). "
                "Relisez les lignes marquées « à vérifier »,\ncomplétez le glossaire "
                "(glossary.yaml), puis lancez « veille check ».")
    out.put("id", conv_id)
    out.put("provider", provider, "un id de providers.yaml")
    out.put("label", f"{Path(name).stem} ({provider})", "à vérifier : nom de la convention")
    out.put("periodicity", period.periodicity,
            f"périodes lues : {_span(period.labels)}")
    out.put("lag_days", LAG_DAYS[period.periodicity],
            "à vérifier : délai de livraison après la fin d'une période")
    out.put("geography", territory.geography,
            f"{territory.matched} valeur(s) sur {territory.distinct} reconnue(s) dans l'arbre "
            "ou hors de l'espace de travail")
    if first:
        out.put("first_period", first)
    out.put("filename_pattern", f"{escaped}$", "les fichiers que cette convention lit")
    out.put("file")
    notes = {"skip_rows": "lignes de titre au-dessus de l'en-tête",
             "header_rows": "lignes d'en-tête", "header_row": "celle qui nomme les colonnes",
             "secret_markers": "vus parmi les valeurs (cellules non publiées)" if seen else
             "aucun vu : une cellule vide serait non publiée",
             "decimal": "séparateur décimal vu dans les nombres"}
    for key, value in spec.items():
        out.put(key, value, notes.get(key, ""), indent=2)
    out.put("layout", found.layout, "large : une colonne par indicateur" if found.layout ==
            "wide" else "long : une ligne par indicateur")
    out.put("territory")
    out.put("column", territory.column, indent=2)
    if territory.zfill:
        out.put("zfill", territory.zfill, "codes complétés à gauche par des zéros", indent=2)
    if territory.match == "name":
        out.put("match", "name", "territoires reconnus par leur nom", indent=2)
    if territory.codes:
        out.put("codes", None, "à vérifier : noms tronqués, rapportés au seul nom qu'ils "
                "commencent", indent=2)
        for value, code in territory.codes.items():
            out.put(value, code, indent=4)
    out.put("period")
    if period.column:
        out.put("column", period.column, indent=2)
    else:
        out.put("from_filename", True, f"année lue dans le nom du fichier : "
                f"{period.labels[0]}", indent=2)
        out.put("pattern", period.pattern, indent=2)
    if status is not None:
        out.put("status")
        out.put("column", status.column, indent=2)
        out.put("secret", status.secret, "valeurs qui signalent une cellule non publiée",
                indent=2)
    _indicators(out, found)
    return out.text()


def _indicators(out: Lines, found: Shape) -> None:
    def note(c: Candidate) -> str:
        shown = (f"{c.values} valeur(s) de {c.minimum:g} à {c.maximum:g}" if c.values
                 else "aucune valeur publiée")
        return f"{c.kind} ({c.unit}) ? {shown}, {c.secret} non publiée(s)"

    if found.layout == "wide":
        out.comment("Une entrée par colonne de nombres : retirez celles à ne pas suivre.")
        out.put("columns")
        for c in found.candidates:
            out.put(c.key, {"indicator": c.code}, note(c), indent=2)
        return
    if len(found.indicator_columns) == 1:
        out.put("indicator_column", found.indicator_columns[0])
    else:
        out.put("indicator_columns", found.indicator_columns)
    out.put("value_column", found.value_column)
    if found.other_values:
        out.comment("autres colonnes de nombres, non lues : " + ", ".join(found.other_values))
    out.comment("Un libellé par indicateur : retirez ceux à ne pas suivre (ou listez-les "
                "dans ignore_indicators).")
    out.put("indicator_map")
    for c in found.candidates:
        out.put(c.key, c.code, note(c), indent=2)


def _span(labels: list[str]) -> str:
    if len(labels) <= 3:
        return ", ".join(labels)
    return f"{labels[0]} … {labels[-1]} ({len(labels)})"
