"""What every command group shares: the console, the workspace option, opening a workspace
with a clear error, and the progress bar."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from veille.catalog import CatalogError
from veille.config import SettingsError
from veille.runtime import Runtime, open_runtime
from veille.store.integrity import DuplicateKeys

console = Console()

WorkspaceOpt = Annotated[Path, typer.Option(
    "--workspace", "-w", envvar="VEILLE_WORKSPACE",
    help="Workspace folder (catalog, inbox, archive, store). Env: VEILLE_WORKSPACE.")]
DEFAULT_WORKSPACE = Path("workspace")


def open_workspace(workspace: Path) -> Runtime:
    """The workspace's runtime, or exit 2 naming the files to fix."""
    try:
        return open_runtime(workspace)
    except (CatalogError, SettingsError) as exc:
        console.print(f"[red]Cannot open workspace {workspace}:[/red] {exc}")
        console.print("Fix the files named above, then run the command again.")
        raise typer.Exit(2) from exc
    except DuplicateKeys as exc:
        console.print(f"[red]Migration de la base refusée :[/red] {escape(str(exc))}")
        console.print(f"[bold]Que faire :[/bold] {escape(exc.hint)}")
        raise typer.Exit(2) from exc


def progress() -> Progress:
    """A Rich progress bar, shown on a terminal (or when VEILLE_PROGRESS=1)."""
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, disable=not console.is_terminal
                    and os.environ.get("VEILLE_PROGRESS") != "1")
