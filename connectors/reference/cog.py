"""INSEE's Code officiel géographique: the communes of the year, their arrondissements
municipaux (ARM) and the former codes of merged communes (COMD, COMA)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from connectors.reference.tables import ReferenceFileError, read_rows, require

_COMMUNE_CODE = re.compile(r"^(\d{5}|2[AB]\d{3})$")


@dataclass(frozen=True)
class CogEntry:
    code: str
    type: str  # COM, ARM, COMD, COMA
    name: str
    departement: str
    region: str
    parent: str  # ARM: its commune; COMD/COMA: today's commune


@dataclass
class Cog:
    """Today's communes and arrondissements by code, and former codes -> today's commune."""

    communes: dict[str, CogEntry] = field(default_factory=dict)
    arrondissements: dict[str, CogEntry] = field(default_factory=dict)
    former: dict[str, CogEntry] = field(default_factory=dict)

    def today(self, code: str) -> str | None:
        """Today's commune (or arrondissement) for a code, current or former."""
        if code in self.communes or code in self.arrondissements:
            return code
        entry = self.former.get(code)
        return entry.parent if entry is not None and entry.parent in self.communes else None


def read_cog(path: Path) -> Cog:
    """The COG commune file (``v_commune_YYYY.csv``): every row checked, errors by line."""
    rows = read_rows(path, "--cog")
    kind, code, dep, reg, name, parent = require(rows, [
        ("type de commune", ["TYPECOM"]), ("code commune", ["COM", "CODGEO"]),
        ("département", ["DEP"]), ("région", ["REG"]),
        ("libellé", ["LIBELLE", "NCCENR", "NCC"]), ("commune parente", ["COMPARENT"])])
    cog = Cog()
    for i, row in enumerate(rows.rows):
        if len(row) < len(rows.header):
            raise ReferenceFileError(path, f"ligne incomplète ({len(row)} champs pour "
                                     f"{len(rows.header)} colonnes) / incomplete row",
                                     rows.line(i))
        entry = CogEntry(row[code].strip(), row[kind].strip().upper(), row[name].strip(),
                         row[dep].strip(), row[reg].strip(), row[parent].strip())
        if not _COMMUNE_CODE.match(entry.code):
            raise ReferenceFileError(path, f"code commune « {entry.code} » invalide (5 "
                                     "caractères attendus) / invalid commune code",
                                     rows.line(i))
        if entry.type == "COM":
            cog.communes[entry.code] = entry
        elif entry.type == "ARM":
            cog.arrondissements[entry.code] = entry
        elif entry.type in {"COMD", "COMA"}:
            if entry.code != entry.parent:
                cog.former.setdefault(entry.code, entry)
        else:
            raise ReferenceFileError(path, f"type de commune « {entry.type} » inconnu (COM, "
                                     "ARM, COMD ou COMA attendu) / unknown TYPECOM",
                                     rows.line(i))
    if not cog.communes:
        raise ReferenceFileError(path, "aucune commune (TYPECOM = COM) : est-ce bien le "
                                 "fichier des communes du COG ? / no commune rows")
    for entry in cog.arrondissements.values():
        if entry.parent not in cog.communes:
            raise ReferenceFileError(path, f"l'arrondissement {entry.code} a pour commune "
                                     f"parente « {entry.parent} », absente du fichier")
    for current in [c for c in cog.former if c in cog.communes]:
        del cog.former[current]  # a code still in use today is never a former code
    return cog
