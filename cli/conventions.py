"""`veille conventions draft`: a first convention for a provider's sample file, checked on
it, with a preview of the observations it would record."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from cli.common import DEFAULT_WORKSPACE, WorkspaceOpt, console
from cli.tables import print_table

if TYPE_CHECKING:
    from connectors.mapping import Parsed
    from veille.catalog import Catalog

conventions_app = typer.Typer(help="Data-sharing conventions: draft one from a sample file.",
                              no_args_is_help=True)
PREVIEW_ROWS = 12


@conventions_app.command("draft")
def draft(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False,
                                         help="A sample delivery (CSV, XLSX, XLS, ODS, JSON).")],
    provider: Annotated[str, typer.Option(
        "--provider", "-p", help="Provider id (providers.yaml); added there if absent.")
    ] = "fournisseur",
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", dir_okay=False,
        help="Where to write the draft (default: catalog/conventions/<id>.yaml).")] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing draft.")] = False,
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """Write a commented draft convention for FILE, checked against it: encoding,
    separator, decimal mark, title and header rows, layout, territory and period columns,
    secret markers, one entry per candidate indicator (and its glossary entry)."""
    from connectors.draft.catalog_files import save_draft
    from connectors.draft.make import draft_convention
    from veille.catalog import CatalogError, load_catalog
    from veille.clock import SystemClock

    root = workspace / "catalog"
    catalog = load_catalog(root)
    made = draft_convention(file, catalog, provider, clock=SystemClock())
    target = output or root / "conventions" / f"{made.convention.id}.yaml"
    if target.exists() and not force:
        console.print(f"[red]{escape(str(target))} existe déjà.[/red] Relancez avec --force "
                      "pour le remplacer, ou -o pour écrire ailleurs.")
        raise typer.Exit(2)
    for line in save_draft(root, target, made.text, made.indicators, made.provider):
        console.print(f"Écrit : {escape(line)}")
    parsed = made.parsed
    for note in parsed.notes:
        console.print(f"  {escape(note)}")
    if not parsed.ok:
        console.print(f"[red]Essai sur le fichier : {len(parsed.problems)} problème(s)[/red] "
                      "(corrigez le brouillon puis relancez veille check) :")
        for problem in parsed.problems[:10]:
            console.print(f"  - {escape(str(problem))}")
        raise typer.Exit(1)
    _preview(made.parsed, catalog, made.convention.id)
    try:
        load_catalog(root)
    except CatalogError as exc:  # each problem named by file, entry and field
        console.print(f"[red]veille check refuse le catalogue :[/red] {escape(str(exc))}")
        raise typer.Exit(1) from exc
    console.print("Catalogue vérifié (veille check). Relisez les lignes « à vérifier » du "
                  "brouillon et du glossaire, puis : veille ingest FICHIER "
                  "(--history pour un fichier de plusieurs périodes).")


def _preview(parsed: Parsed, catalog: Catalog, convention_id: str) -> None:
    obs = parsed.observations
    table = Table(title=f"Aperçu : {len(obs)} observation(s) que « {convention_id} » "
                        f"enregistrerait ({parsed.rows_read} ligne(s) lues)")
    for column in ("ligne", "indicateur", "territoire", "période", "valeur", "statut"):
        table.add_column(column)
    for row in obs.head(PREVIEW_ROWS).itertuples(index=False):
        place = catalog.territories.get(row.territory)
        value = "" if row.value != row.value else f"{row.value:g}"
        table.add_row(str(row.line), row.indicator,
                      f"{row.territory} {place.name if place else ''}".strip(), row.period,
                      value, row.status)
    print_table(console, table)


def register(app: typer.Typer) -> None:
    """Attach the command group to the main ``veille`` app."""
    app.add_typer(conventions_app, name="conventions")
