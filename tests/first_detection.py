"""The path a new user takes with real files, from an empty folder to a first detection:
``veille init`` from INSEE's reference files, ``veille conventions draft`` on each
provider file, the edits the analyst makes to the drafts, ``veille check``, ``veille
ingest``. Shared by ``tests/test_conventions_draft.py``, ``tests/test_first_detection.py``
and ``benchmarks/first_detection.py`` so that the figures quoted are the tested path.

Each edit is written here as code that changes the draft's YAML, with why it is made (the
file's PROVENANCE says what its quirks are)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml
from insee_tree import SHARED_DATA

COG = SHARED_DATA / "insee-cog-2025" / "v_commune_2025.csv"
EPCI = SHARED_DATA / "insee-epci-2025" / "epci.json"
POPULATION = SHARED_DATA / "insee-cog-2025" / "POPULATION_MUNICIPALE_COMMUNES_FRANCE.xlsx"
LOIRE = SHARED_DATA / "loire-42-ssmsi-caf-filosofi-rouages"
OFFENCES = LOIRE / "DERIVED_42_delinquance_long.csv"
CAF = LOIRE / "DERIVED_42_caf_long.csv"
ESSONNE = SHARED_DATA / "dares-defm-essonne" / "POP_CHOMAGE_DARES.csv"
MONTPELLIER = (SHARED_DATA / "insee-duicq-montpellier-2008-2011" / "INSEE_MTP_CAF_2009"
               / "INSEE_MTP_CAFcom_2009.csv")
SEM, GRAND_PARIS_SUD, MONTPELLIER_METROPOLE = "244200770", "200059228", "243400017"
AFD = "Usage de stupéfiants (AFD)"


@dataclass(frozen=True)
class Edit:
    """One change the analyst makes to a draft: its convention and glossary entries."""

    why: str
    apply: Callable[[dict, list[dict]], None]


def _ignore_afd(convention: dict, glossary: list[dict]) -> None:
    code = convention["indicator_map"].pop(AFD)
    convention["ignore_indicators"] = [AFD]
    glossary[:] = [e for e in glossary if e["code"] != code]


def _offences_up_is_bad(convention: dict, glossary: list[dict]) -> None:
    codes = set(convention["indicator_map"].values())
    for entry in glossary:
        if entry["code"] in codes:
            entry["polarity"] = "up_is_bad"


def _insee_lag(convention: dict, glossary: list[dict]) -> None:
    convention["lag_days"] = 540


EDITS: dict[str, list[Edit]] = {
    OFFENCES.name: [
        Edit("« Usage de stupéfiants (AFD) » (fixed fines, a part of drug use) is left out, "
             "not followed as a 15th offence", _ignore_afd),
        Edit("offences: polarity up_is_bad (the glossary draft says neutral)",
             _offences_up_is_bad)],
    CAF.name: [],
    ESSONNE.name: [],
    MONTPELLIER.name: [
        Edit("INSEE's infra-communal extracts come about 18 months after the year: "
             "lag_days 540 instead of the drafted 180", _insee_lag)],
}


def init_args(workspace: Path, territory: str, *, population: bool = False) -> list[str]:
    args = ["init", "-w", str(workspace), "-t", territory, "--cog", str(COG),
            "--epci", str(EPCI)]
    return args + (["--population", str(POPULATION)] if population else [])


def draft_args(workspace: Path, file: Path, provider: str) -> list[str]:
    return ["conventions", "draft", "-w", str(workspace), "-p", provider, str(file)]


def draft_path(workspace: Path, output: str) -> Path:
    """The convention file a draft command said it wrote ("convention : <path>")."""
    line = next(x for x in output.splitlines() if "convention : " in x)
    return Path(line.split("convention : ", 1)[1].strip())


def apply_edits(workspace: Path, convention: Path, edits: list[Edit]) -> int:
    """Apply the analyst's edits to a draft and the glossary; returns how many."""
    if not edits:
        return 0
    glossary_file = workspace / "catalog" / "glossary.yaml"
    glossary = yaml.safe_load(glossary_file.read_text(encoding="utf-8"))["indicators"]
    document = yaml.safe_load(convention.read_text(encoding="utf-8"))
    for edit in edits:
        edit.apply(document, glossary)
    convention.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False),
                          encoding="utf-8")
    glossary_file.write_text(yaml.safe_dump({"indicators": glossary}, allow_unicode=True,
                                            sort_keys=False), encoding="utf-8")
    return len(edits)


LOIRE_FILES = ((OFFENCES, "ssmsi"), (CAF, "caf"))


def loire_path(workspace: Path) -> list[list[str]]:
    """The commands typed on the Loire files, in order; the drafts' edits come after the
    ``conventions draft`` commands (``apply_edits``)."""
    return [init_args(workspace, SEM, population=True),
            *[draft_args(workspace, f, p) for f, p in LOIRE_FILES],
            ["check", "-w", str(workspace)],
            ["ingest", "--history", "-w", str(workspace), str(OFFENCES), str(CAF)],
            ["detect", "-w", str(workspace)],
            ["portrait", "--period", "2024", "--territory", SEM, "--no-pdf",
             "-w", str(workspace)]]
