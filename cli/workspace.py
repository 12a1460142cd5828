"""Commands about the workspace itself: check its catalog, create and run the demo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from cli.common import DEFAULT_WORKSPACE, WorkspaceOpt, console, open_workspace, progress
from veille.catalog import Catalog
from veille.maps.contours import CONTOURS_FOLDER, load_contours


def demo(
    workspace: Annotated[Path, typer.Option("--workspace", "-w",
                                            help="Folder to create the demo in.")
                         ] = Path("veille-demo"),
    seed: Annotated[int, typer.Option(help="Random seed of the demo territory.")] = 2026,
) -> None:
    """Create the fictional demo territory and run the whole pipeline on its history."""
    from cli.demo_run import run_demo

    run_demo(workspace, seed=seed, console=console, progress=progress())


def check(workspace: WorkspaceOpt = DEFAULT_WORKSPACE) -> None:
    """Check the catalog files and report every problem with file, entry and field."""
    runtime = open_workspace(workspace)
    c = runtime.catalog
    console.print(f"Catalog OK: {len(c.indicators)} indicators, {len(c.territories)} "
                  f"territories, {len(c.conventions)} conventions, {len(c.cells)} cells.")
    report_contours(c)


def report_contours(catalog: Catalog) -> None:
    """Say what catalog/contours holds against territories.csv; exit 1 if a contour is
    refused (it would leave a hole in every map)."""
    report = load_contours(catalog).report
    for line in report.lines():
        console.print(escape(line))
    if report.refused:
        console.print(f"[red]{len(report.refused)} contour(s) refusé(s)[/red] : corrigez-les "
                      f"dans {catalog.root / CONTOURS_FOLDER}, puis relancez veille check.")
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Attach the commands to the main ``veille`` app."""
    app.command()(demo)
    app.command()(check)
