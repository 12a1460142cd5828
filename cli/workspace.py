"""Commands about the workspace itself: check its catalog, create and run the demo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import DEFAULT_WORKSPACE, WorkspaceOpt, console, open_workspace, progress


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


def register(app: typer.Typer) -> None:
    """Attach the commands to the main ``veille`` app."""
    app.command()(demo)
    app.command()(check)
