"""The quarantine report sent back to a provider: what is wrong, where, and what was expected.

Two files sit next to the quarantined delivery: ``<file>.rapport.txt`` for a person to read
(French and English headings, problems grouped by kind) and ``<file>.errors.csv`` with one
row per problem, for a provider who wants to sort and filter them in a spreadsheet.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from connectors.mapping import Parsed
from veille import csv_safe

LISTED_IN_TEXT = 500

KIND_LABELS = {
    "format": ("Format de fichier", "File format"),
    "unreadable": ("Fichier illisible", "Unreadable file"),
    "short_row": ("Ligne incomplète (fichier coupé ?)", "Incomplete row (file cut short?)"),
    "encoding": ("Encodage des caractères", "Character encoding"),
    "missing_sheet": ("Onglet absent", "Missing sheet"),
    "empty": ("Fichier sans données", "No data rows"),
    "too_large": ("Fichier au-delà des limites de lecture", "File beyond the read limits"),
    "formula": ("Formule sans valeur enregistrée", "Formula without a saved value"),
    "missing_column": ("Colonne absente ou renommée", "Missing or renamed column"),
    "duplicate_column": ("Colonne en double dans l'en-tête", "Column repeated in the header"),
    "unknown_territory": ("Code territoire inconnu", "Unknown territory code"),
    "former_code": ("Ancien code de commune fusionnée", "Former code of a merged commune"),
    "ambiguous_territory": ("Nom de territoire ambigu", "Ambiguous territory name"),
    "territory_level": ("Territoire hors du niveau convenu", "Territory outside the agreed level"),
    "unknown_indicator": ("Indicateur inconnu", "Unknown indicator"),
    "period": ("Période hors convention", "Period outside the convention"),
    "not_a_number": ("Valeur non numérique", "Non-numeric value"),
    "out_of_range": ("Valeur hors bornes", "Value out of range"),
    "not_integer": ("Effectif non entier", "Count not a whole number"),
    "numerator_above_denominator": ("Numérateur supérieur au dénominateur",
                                    "Numerator above denominator"),
    "duplicate": ("Ligne en double", "Duplicate row"),
    "interrupted": ("Lecture interrompue à répétition", "Reading interrupted again and again"),
    "internal": ("Erreur interne", "Internal error"),
}


def report_paths(path: Path) -> tuple[Path, Path]:
    """Where the text report and the CSV of errors go for a quarantined file."""
    return path.with_name(path.name + ".rapport.txt"), path.with_name(path.name + ".errors.csv")


def write_report(parsed: Parsed, path: Path, delivery_id: int | None = None) -> Path:
    """Write both report files next to ``path`` (the quarantined file); return the text one.
    ``delivery_id`` names the delivery in the advice on how to re-process it."""
    text_path, csv_path = report_paths(Path(path))
    with csv_path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv_safe.writer(handle, delimiter=";")
        writer.writerow(["fichier/file", "onglet/sheet", "ligne/line", "colonne/column",
                         "valeur/value", "attendu/expected", "type/kind"])
        for p in parsed.problems:
            writer.writerow([p.file, p.sheet or "", "" if p.line is None else p.line,
                             p.column or "", "" if p.value is None else p.value, p.expected,
                             p.kind])
    text_path.write_text(_text(parsed, Path(path).name, csv_path.name, delivery_id),
                         encoding="utf-8")
    return text_path


def _text(parsed: Parsed, name: str, csv_name: str, delivery_id: int | None) -> str:
    problems = parsed.problems
    lines = [
        "Rapport de contrôle de livraison / Delivery validation report",
        "=" * 62,
        f"Fichier / File : {name}",
        f"Convention : {parsed.convention_id}",
        f"Lignes lues / Rows read : {parsed.rows_read}",
        f"Problèmes / Problems : {len(problems)}",
        "",
    ]
    if parsed.former_codes:
        lines += [f"Anciens codes de communes fusionnées lus comme la commune d'aujourd'hui / "
                  f"Former codes of merged communes read as today's commune : "
                  f"{sum(parsed.former_codes.values())} ligne(s) / row(s)"]
        lines += [f"  {key} : {n}" for key, n in sorted(parsed.former_codes.items())]
        lines.append("")
    if parsed.notes:
        lines += ["Remarques / Notes", "-" * 17]
        lines += [f"  - {note}" for note in parsed.notes] + [""]
    if not problems:
        lines.append("Aucun problème / No problems: the delivery was accepted.")
        return "\n".join(lines) + "\n"
    lines += [
        "La livraison est mise en quarantaine : aucune ligne n'a été enregistrée. Corrigez les "
        "points ci-dessous et renvoyez le fichier complet.",
        "The delivery is quarantined: no row was recorded. Fix the points below and send the "
        "whole file again.",
        "",
        _retry_advice(delivery_id),
        "",
        "Résumé / Summary",
        "-" * 16,
    ]
    counts = Counter(p.kind for p in problems)
    for kind, count in counts.most_common():
        fr, en = KIND_LABELS.get(kind, (kind, kind))
        lines.append(f"  {count:>7}  {fr} / {en}")
    lines += ["", "Détail / Details", "-" * 16]
    for kind in counts:
        fr, en = KIND_LABELS.get(kind, (kind, kind))
        lines += ["", f"{fr} / {en}"]
        lines += [f"  - {p}" for p in problems if p.kind == kind][:LISTED_IN_TEXT]
        if counts[kind] > LISTED_IN_TEXT:
            lines.append(f"  ... {counts[kind] - LISTED_IN_TEXT} de plus / more: voir / see "
                         f"{csv_name}")
    lines += ["", f"Liste complète / Full list: {csv_name}"]
    return "\n".join(lines) + "\n"


def _retry_advice(delivery_id: int | None) -> str:
    """For the analyst: when the convention, not the file, was wrong, the same bytes sent
    again are a duplicate; the delivery is re-processed from its archive instead."""
    command = f"veille deliveries retry {delivery_id}" if delivery_id else (
        "veille deliveries retry <livraison>")
    return ("Si le fichier est juste et que c'est la convention qui doit changer : corrigez-la, "
            f"puis relancez « {command} » (ou le bouton « Relancer » du site) ; renvoyer le "
            "même fichier ne change rien, il serait reconnu comme doublon. / If the file is "
            "right and the convention must change: fix it, then run "
            f"'{command}' (or the site's 'Relancer' button); sending the same file again "
            "changes nothing (it is recognised as a duplicate).")
