"""The glossary and providers entries a draft needs, added to the workspace's files as
text, so that the analyst's comments and order stay as they were."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from connectors.draft.render import entry_lines
from connectors.reference.merge import write_atomic

GLOSSARY_NOTES = {"label": "à vérifier", "definition": "à écrire",
                  "theme": "à vérifier : precarite, emploi, securite, education, "
                           "accessibilite ou sante",
                  "kind": "deviné d'après l'en-tête et les valeurs : count, rate ou amount",
                  "polarity": "à choisir : up_is_bad, up_is_good ou neutral",
                  "unit": "à vérifier"}
PROVIDER_NOTES = {"name": "à compléter : nom du fournisseur"}


def add_entries(path: Path, key: str, entries: list[dict[str, Any]], notes: dict[str, str],
                heading: str) -> bool:
    """Append ``entries`` to the list under ``key`` of the YAML file at ``path`` (created if
    absent). Returns False when the file had to be rewritten whole (its comments lost)
    because its list could not be extended as text."""
    if not entries:
        return True
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    document = yaml.safe_load(text) if text.strip() else None
    before = list((document or {}).get(key) or [])
    comment = f"  # {heading}\n"
    new = _extended(text, key, before, entries, notes, comment)
    kept = new is not None and _holds(new, key, len(before) + len(entries))
    if new is None or not kept:
        document = dict(document or {})
        document[key] = before + entries
        new = yaml.safe_dump(document, allow_unicode=True, sort_keys=False)
    write_atomic(path, new)
    return kept


def _extended(text: str, key: str, before: list, entries: list[dict[str, Any]],
              notes: dict[str, str], comment: str) -> str | None:
    head = re.compile(rf"^{re.escape(key)}:[ \t]*(\[\])?[ \t]*(#.*)?$", re.M)
    found = head.search(text)
    if found is None:
        return (text.rstrip("\n") + "\n" if text.strip() else "") + (
            f"{key}:\n{comment}{entry_lines(entries, notes, 2)}")
    if not before:
        block = f"{key}:\n{comment}{entry_lines(entries, notes, 2)}"
        return text[:found.start()] + block.rstrip("\n") + text[found.end():] + (
            "" if text[found.end():].endswith("\n") else "\n")
    rest = text[found.end():]
    if re.search(r"^[^\s#-][^:]*:", rest, re.M):
        return None  # another top-level key follows the list: not extended as text
    item = re.search(r"^([ \t]*)- ", rest, re.M)
    indent = len(item.group(1)) if item else 2
    return text.rstrip("\n") + "\n" + comment.replace("  #", " " * indent + "#") + \
        entry_lines(entries, notes, indent)


def _holds(text: str, key: str, count: int) -> bool:
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError:
        return False
    return isinstance(document, dict) and len(document.get(key) or []) == count


def save_draft(catalog_root: Path, output: Path, text: str, indicators: list[dict[str, Any]],
               provider: dict[str, Any] | None) -> list[str]:
    """Write the convention to ``output`` and the entries it needs to the catalog's
    glossary and providers files; returns what was written, one line each."""
    output.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(output, text)
    done = [f"convention : {output}"]
    if indicators:
        kept = add_entries(catalog_root / "glossary.yaml", "indicators", indicators,
                           GLOSSARY_NOTES, f"Brouillon ({output.name}) : à relire")
        done.append(f"glossaire : {len(indicators)} indicateur(s) ajouté(s) à "
                    f"{catalog_root / 'glossary.yaml'}"
                    + ("" if kept else " (fichier réécrit : commentaires non conservés)"))
    if provider is not None:
        add_entries(catalog_root / "providers.yaml", "providers", [provider], PROVIDER_NOTES,
                    f"Brouillon ({output.name})")
        done.append(f"fournisseur « {provider['id']} » ajouté à "
                    f"{catalog_root / 'providers.yaml'}")
    return done
