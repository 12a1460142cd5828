"""`veille conventions draft` on four real provider files nobody in the project wrote, in
workspaces made by `veille init` from INSEE's reference files: the Loire recorded offences
(long, every year, unpublished cells flagged in a status column), the Loire CAF file (wide),
the Essonne job seekers (long, two label columns, quarters, a département-wide file in a
workspace covering part of it) and a Montpellier INSEE extract (Latin-1, title lines, two
header rows, the year in the file name). What each draft must have found is what the
file's PROVENANCE describes. The edits each draft needed are applied as code
(``first_detection.EDITS``); then `veille check` accepts the catalog and `veille ingest`
accepts the file, with as many observations as pandas counts in it."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from first_detection import (
    AFD,
    CAF,
    EDITS,
    ESSONNE,
    GRAND_PARIS_SUD,
    LOIRE,
    MONTPELLIER,
    MONTPELLIER_METROPOLE,
    OFFENCES,
    SEM,
    apply_edits,
    draft_args,
    draft_path,
    init_args,
)
from loire_rollup import members
from sqlalchemy import create_engine, func, select
from typer.testing import CliRunner

from cli.common import console
from cli.main import app
from connectors.draft.make import draft_convention
from connectors.draft.sniff import DraftError
from veille.catalog import load_catalog
from veille.clock import FixedClock
from veille.store.schema import deliveries, observations

runner = CliRunner()
CLOCK = FixedClock(dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC))


@pytest.fixture(autouse=True)
def wide_console() -> None:
    console.width = 200


def run(workspace: Path, args: list[str], code: int = 0) -> str:
    env = {"VEILLE_DATABASE_URL": f"sqlite:///{workspace / 'veille.db'}"}
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == code, result.output
    return result.output


@pytest.fixture(scope="module")
def workspaces(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("drafts")
    made = {}
    for name, territory in (("sem", SEM), ("gps", GRAND_PARIS_SUD),
                            ("mtp", MONTPELLIER_METROPOLE)):
        made[name] = root / name
        run(made[name], init_args(made[name], territory))
    return made


def draft(workspace: Path, file: Path, provider: str) -> tuple[dict, Path, str]:
    out = run(workspace, draft_args(workspace, file, provider))
    path = draft_path(workspace, out)
    return yaml.safe_load(path.read_text(encoding="utf-8")), path, out


def edit_check_ingest(workspace: Path, file: Path, path: Path, *, history: bool) -> int:
    """Apply the draft's edits, check, ingest; the observations recorded for it."""
    apply_edits(workspace, path, EDITS[file.name])
    run(workspace, ["check", "-w", str(workspace)])
    run(workspace, ["ingest", *(["--history"] if history else []), "-w", str(workspace),
                    str(file)])
    convention = yaml.safe_load(path.read_text(encoding="utf-8"))["id"]
    engine = create_engine(f"sqlite:///{workspace / 'veille.db'}")
    with engine.connect() as conn:
        count = conn.execute(
            select(func.count()).select_from(observations.join(deliveries))
            .where(deliveries.c.convention_id == convention)
            .where(deliveries.c.status == "accepted")
            .where(observations.c.origin == "delivered")).scalar_one()
    engine.dispose()
    return int(count)


def test_loire_offences_long_every_year_with_a_status_column(workspaces) -> None:
    ws = workspaces["sem"]
    conv, path, out = draft(ws, OFFENCES, "ssmsi")
    assert conv["layout"] == "long" and conv["periodicity"] == "annual"
    assert conv["file"]["encoding"] == "utf-8" and conv["file"]["separator"] == ";"
    assert conv["territory"] == {"column": "code_commune"} and conv["geography"] == "commune"
    assert conv["period"] == {"column": "annee"} and conv["first_period"] == "2016"
    assert conv["status"] == {"column": "est_diffuse", "secret": ["ndiff"]}
    assert conv["indicator_column"] == "indicateur" and conv["value_column"] == "nombre"
    frame = pd.read_csv(OFFENCES, sep=";", dtype=str, keep_default_na=False)
    assert sorted(conv["indicator_map"]) == sorted(frame["indicateur"].unique())
    assert len(conv["indicator_map"]) == 15  # PROVENANCE: 15 indicators
    # the preview shows the first rows the mapping records, with the commune's name
    assert "Aperçu : " in out and "42218 Saint-Étienne" not in out.split("Aperçu")[0]
    assert "ligne(s) ignorée(s)" in out  # the département's other communes are skipped
    recorded = edit_check_ingest(ws, OFFENCES, path, history=True)
    held = frame["code_commune"].isin(members(ws, SEM)) & (frame["indicateur"] != AFD)
    assert recorded == int(held.sum()) == 53 * 10 * 14


def test_loire_caf_wide_needs_no_edit(workspaces) -> None:
    ws = workspaces["sem"]
    conv, path, _ = draft(ws, CAF, "caf")
    frame = pd.read_csv(CAF, sep=";", dtype=str)
    value_columns = [c for c in frame.columns if c not in ("code_commune", "annee")]
    assert conv["layout"] == "wide" and list(conv["columns"]) == value_columns
    assert conv["period"] == {"column": "annee"} and conv["first_period"] == "2020"
    assert EDITS[CAF.name] == []
    recorded = edit_check_ingest(ws, CAF, path, history=True)
    assert recorded == int(frame["code_commune"].isin(members(ws, SEM)).sum()) * 7


def test_essonne_job_seekers_two_label_columns_quarters(workspaces) -> None:
    ws = workspaces["gps"]
    conv, path, out = draft(ws, ESSONNE, "dares")
    assert conv["layout"] == "long" and conv["periodicity"] == "quarterly"
    assert conv["first_period"] == "2015-Q4"  # PROVENANCE: 2015-T4 ... 2024-T4
    assert conv["indicator_columns"] == ["Sexe", "Tranche d'âge"]
    assert conv["value_column"] == "Nombre de demandeurs d'emploi"
    assert conv["territory"]["column"] == "Code commune"
    assert len(conv["indicator_map"]) == 6  # PROVENANCE: 6 breakdowns
    assert "ligne(s) ignorée(s)" in out and "hors de l'espace de travail" in out
    assert EDITS[ESSONNE.name] == []
    recorded = edit_check_ingest(ws, ESSONNE, path, history=True)
    frame = pd.read_csv(ESSONNE, sep=";", dtype=str, encoding="utf-8-sig")
    held = frame["Code commune"].isin(_communes(ws))
    assert held.any() and not held.all()  # Grand Paris Sud holds part of the Essonne
    assert recorded == int(held.sum())


def test_montpellier_insee_extract_title_lines_two_header_rows(workspaces) -> None:
    ws = workspaces["mtp"]
    conv, path, _ = draft(ws, MONTPELLIER, "insee")
    spec = conv["file"]
    assert spec["encoding"] in ("latin-1", "cp1252") and spec["separator"] == ","
    assert spec["skip_rows"] == 6 and spec["header_rows"] == 2  # 5 title lines + a blank
    assert conv["period"]["from_filename"] and conv["first_period"] == "2009"
    assert conv["layout"] == "wide" and {"A", "PERCOU", "ARSA"} <= set(conv["columns"])
    assert not {"REG", "uu", "dc", "nom", "note"} & set(conv["columns"])
    glossary = yaml.safe_load((ws / "catalog" / "glossary.yaml").read_text(encoding="utf-8"))
    labels = {e["code"]: e for e in glossary["indicators"]}
    first = labels[conv["columns"]["A"]["indicator"]]
    assert first["label"].startswith("Nombre d") and first["kind"] == "count"
    recorded = edit_check_ingest(ws, MONTPELLIER, path, history=False)
    frame = pd.read_csv(MONTPELLIER, encoding="latin-1", skiprows=6, header=0, dtype=str
                        ).iloc[1:]
    held = frame["dc"].isin(_communes(ws))
    assert held.any() and not held.all()  # the agglomeration spans more than the metropole
    published = frame.loc[held, list(conv["columns"])].replace("", pd.NA).notna().sum().sum()
    assert recorded == int(held.sum()) * len(conv["columns"]) >= published


def test_a_draft_is_not_overwritten_and_a_file_without_territories_is_named(
        workspaces, tmp_path: Path) -> None:
    ws = workspaces["sem"]
    target = ["-o", str(tmp_path / "caf.yaml")]
    run(ws, [*draft_args(ws, CAF, "caf"), *target])
    out = run(ws, [*draft_args(ws, CAF, "caf"), *target], code=2)
    assert "existe déjà" in out and "--force" in out
    run(ws, [*draft_args(ws, CAF, "caf"), *target, "--force"])
    other = tmp_path / "ailleurs.csv"
    other.write_text("code;annee;n\n99999;2020;3\n98888;2021;4\n", encoding="utf-8")
    out = run(ws, draft_args(ws, other, "caf"), code=2)
    assert "ailleurs.csv" in out and "aucune colonne" in out


def test_a_draft_whose_dry_run_fails_is_written_with_its_problems(workspaces,
                                                                  tmp_path: Path) -> None:
    """The CAF file with a year not closed yet: the draft is written, the dry run's
    problem is listed (the period, its line), the exit code says so."""
    ws = workspaces["sem"]
    lines = CAF.read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace(";2020;", ";2099;")
    early = tmp_path / "caf_avance.csv"
    early.write_text("\n".join(lines) + "\n", encoding="utf-8")
    target = tmp_path / "avance.yaml"
    out = run(ws, [*draft_args(ws, early, "caf"), "-o", str(target)], code=1)
    assert target.exists() and "problème(s)" in out
    assert "line 2" in out and "2099" in out


def test_a_spreadsheet_a_json_document_and_names_instead_of_codes(
        workspaces, tmp_path: Path) -> None:
    """The Montpellier extract as INSEE also sent it (Excel 97), the CAF file as a JSON
    document whose records sit under data.rows, and the extract with its commune names
    only: the same findings, each checked by the mapping on the file."""
    mtp = load_catalog(workspaces["mtp"] / "catalog")
    sheet = draft_convention(MONTPELLIER.with_suffix(".xls"), mtp, "insee", clock=CLOCK)
    assert sheet.convention.file.format == "xls" and sheet.convention.file.skip_rows == 6
    assert sheet.convention.file.header_rows == 2 and {"A", "PERCOU"} <= set(
        sheet.convention.columns)
    assert sheet.parsed.ok and len(sheet.parsed.observations) > 0
    frame = pd.read_csv(CAF, sep=";", dtype=str)
    document = tmp_path / "caf_2020_2024.json"
    document.write_text(json.dumps({"meta": {"source": CAF.name},
                                    "data": {"rows": frame.to_dict("records")}}),
                        encoding="utf-8")
    sem = load_catalog(workspaces["sem"] / "catalog")
    made = draft_convention(document, sem, "caf", clock=CLOCK)
    assert made.convention.file.format == "json" and made.convention.file.records == "data.rows"
    assert made.convention.period.column == "annee"  # a column wins over the file name
    assert made.parsed.ok
    held = frame["code_commune"].isin(members(workspaces["sem"], SEM))
    assert len(made.parsed.observations) == int(held.sum()) * 7
    names = pd.read_csv(MONTPELLIER, encoding="latin-1", skiprows=6, dtype=str).iloc[1:]
    by_name = tmp_path / "caf_noms_2009.csv"
    names[["nom", "A", "PERCOU"]].to_csv(by_name, sep=";", index=False, encoding="latin-1")
    made = draft_convention(by_name, mtp, "insee", clock=CLOCK)
    assert made.convention.territory.match == "name"
    assert made.convention.territory.column == "nom"
    # INSEE cut the longest name; the draft maps it to the one commune it begins
    assert made.convention.territory.codes == {"Saint-Clément-de-Rivièr": "34247"}
    assert made.parsed.ok and set(made.parsed.observations["territory"]) <= _communes(
        workspaces["mtp"])


def test_kinds_guessed_on_files_not_looked_at_while_choosing_the_words(workspaces) -> None:
    """The count/rate/amount words were chosen on the four files above; on two others
    (INSEE Filosofi for the Loire, DGFiP incomes for Montpellier: decimal commas, ';'),
    medians and quartiles are amounts in euros, shares and poverty rates are rates, numbers
    of households are counts, and each draft maps its file."""
    filosofi = draft_convention(LOIRE / "DERIVED_42_filosofi_2023.csv",
                                load_catalog(workspaces["sem"] / "catalog"), "insee",
                                clock=CLOCK)
    incomes = draft_convention(MONTPELLIER.parents[1] / "INSEE_MTP_RevenusFisc_2011"
                               / "INSEE_MTP_RevenusFiscCom_2009.csv",
                               load_catalog(workspaces["mtp"] / "catalog"), "insee",
                               clock=CLOCK)
    assert incomes.convention.file.decimal == "," and incomes.convention.file.separator == ";"
    kinds = {}
    for made in (filosofi, incomes):
        assert made.parsed.ok
        codes = {m.indicator: column for column, m in made.convention.columns.items()}
        kinds.update({codes[e["code"]]: (e["kind"], e["unit"]) for e in made.indicators})
    assert kinds["mediane_niveau_vie_euros"] == kinds["RFUCQ2"] == ("amount", "€")
    assert kinds["taux_pauvrete_pct"] == kinds["PtSa"] == ("rate", "%")
    assert kinds["NbMen"][0] == kinds["NbMenNI"][0] == "count"


def test_sniffing_reads_a_bounded_sample(workspaces, tmp_path: Path) -> None:
    """A one-line file of millions of fields, or a quote left open over megabytes, is
    named in a fraction of a second instead of being sniffed whole."""
    catalog = load_catalog(workspaces["sem"] / "catalog")
    wide = tmp_path / "wide.csv"
    wide.write_text("a;" * 3_000_000, encoding="utf-8")
    quote = tmp_path / "quote.csv"
    quote.write_text('"' + "x" * 5_000_000 + "\n" + "1;2\n" * 1000, encoding="utf-8")
    for path, said in ((wide, "max_columns"), (quote, "ligne 1")):
        started = time.perf_counter()
        with pytest.raises(DraftError) as caught:
            draft_convention(path, catalog, "caf", clock=CLOCK)
        assert time.perf_counter() - started < 5
        assert path.name in str(caught.value) and said in str(caught.value)


def _communes(workspace: Path) -> set[str]:
    tree = pd.read_csv(workspace / "catalog" / "territories.csv", sep=";", dtype=str)
    return set(tree.loc[tree["kind"] == "commune", "code"])
