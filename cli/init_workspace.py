"""`veille init`: a workspace for real territories from INSEE's reference files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from cli.common import DEFAULT_WORKSPACE, WorkspaceOpt, console, progress


def init(
    territory: Annotated[list[str], typer.Option(
        "--territory", "-t",
        help="EPCI SIREN (244200770), département (42) or commune code (42218); repeat the "
             "option for several.")],
    cog: Annotated[Path, typer.Option(
        dir_okay=False, help="INSEE COG commune file (v_commune_2025.csv).")],
    epci: Annotated[Path, typer.Option(
        dir_okay=False, help="EPCI and their member communes (epci.json of "
             "decoupage-administratif, or INSEE's table with CODGEO, EPCI, LIBEPCI).")],
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    population: Annotated[Path | None, typer.Option(
        dir_okay=False, help="Municipal populations by year (INSEE series: codgeo, "
             "p13_pop ... p21_pop), so that exposure is the population of each year.")] = None,
    iris: Annotated[Path | None, typer.Option(
        dir_okay=False, help="IRIS list (CODE_IRIS, LIB_IRIS[, DEPCOM]).")] = None,
    qpv: Annotated[Path | None, typer.Option(
        dir_okay=False, help="Priority neighbourhoods (CSV or GeoJSON: code_qp, nom_qp, and "
             "code_commune or nom_commune).")] = None,
    quartiers: Annotated[Path | None, typer.Option(
        dir_okay=False, help="The observatory's quartiers (code, nom, commune[, iris]).")
    ] = None,
    contours: Annotated[list[Path] | None, typer.Option(
        "--contours", dir_okay=False, help="GeoJSON outlines (WGS84) of communes, IRIS or "
             "QPV, keyed by code; copied into catalog/contours/ (old codes of merged "
             "communes are joined into today's commune). Repeat for several files.")
    ] = None,
) -> None:
    """Build or update a workspace's catalog from INSEE's reference files.

    Writes catalog/territories.csv (région > département > EPCI > commune >
    arrondissement, plus IRIS, quartiers and QPV when given), populations.csv (by year),
    former_codes.csv (old codes of merged communes), known_codes.csv (real territories
    outside the workspace), a glossary and providers file with commented examples, and
    the watch cells (a CCAS and a CLSPD per commune, the observatory). Re-running it
    updates what it wrote and keeps every edit of yours.
    """
    from connectors.reference.build import InitFiles, init_workspace

    files = InitFiles(cog, epci, population, iris, qpv, quartiers, tuple(contours or ()))
    with progress() as bar:
        task = bar.add_task("veille init", total=7)

        def step(text: str) -> None:
            bar.update(task, description=text, advance=1)

        result = init_workspace(workspace, territory, files, step)
        bar.update(task, completed=7)
    tree, w = result.tree, result.written
    kinds = [("region", "région(s)"), ("departement", "département(s)"), ("epci", "EPCI"),
             ("commune", "commune(s)"), ("arrondissement", "arrondissement(s)")]
    shown = ", ".join(f"{tree.count(k)} {label}" for k, label in kinds if tree.count(k))
    infra = {k: sum(1 for n in result.infra if n.kind == k) for k in ("quartier", "iris", "qpv")}
    shown += "".join(f", {n} {k.upper() if k != 'quartier' else 'quartier(s)'}"
                     for k, n in infra.items() if n)
    console.print(f"[bold]Espace de travail {escape(str(workspace))}[/bold] : {shown}.")
    t = w.territories
    console.print(f"territories.csv : {len(t.added)} ajouté(s), {len(t.updated)} mis à jour, "
                  f"{len(t.unchanged)} inchangé(s)")
    if t.kept_edits:
        console.print(f"  {len(t.kept_edits)} ligne(s) modifiée(s) par vous, conservées : "
                      f"{escape(', '.join(t.kept_edits[:8]))}")
    if t.left_out:
        console.print(f"  {len(t.left_out)} ligne(s) retirée(s) par vous, non recréées : "
                      f"{escape(', '.join(t.left_out[:8]))}")
    if t.analysts:
        console.print(f"  {len(t.analysts)} ligne(s) hors des fichiers de référence "
                      "(ajoutées par vous ou d'une version antérieure), conservées")
    c = w.cells
    console.print(f"cells.yaml : {len(c.added)} cellule(s) ajoutée(s), {len(c.unchanged)} "
                  f"inchangée(s), {len(c.kept_edits)} modifiée(s) par vous et conservée(s)"
                  + (" ; fichier réécrit (commentaires non conservés)" if w.cells_rewritten
                     else ""))
    pops = result.populations
    years = f"{pops.years[0]}-{pops.years[-1]}" if pops and pops.years else "aucune"
    console.print(f"populations.csv : années {years} ; former_codes.csv : "
                  f"{len(tree.former)} ancien(s) code(s) ; known_codes.csv : "
                  f"{len(tree.known)} territoire(s) hors de l'espace de travail")
    if w.created:
        console.print(f"Créé(s) : {', '.join(w.created)} (exemples en commentaire).")
    for note in result.notes:
        console.print(f"[yellow]Note[/yellow] : {escape(note)}")
    if contours:
        from veille.catalog import load_catalog
        from veille.maps.contours import load_contours

        for line in load_contours(load_catalog(workspace / "catalog")).report.lines():
            console.print(escape(line))
    console.print(f"Ensuite : [bold]veille check -w {escape(str(workspace))}[/bold], puis "
                  "décrivez indicateurs et conventions.")


def register(app: typer.Typer) -> None:
    """Attach ``veille init`` to the main app."""
    app.command()(init)
