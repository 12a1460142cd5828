"""What every command group shares: the console, the workspace option, opening a workspace,
the progress bar, and the one place where a fault the product can name becomes a message
(what, where, what to do) and exit code 2 instead of a traceback."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from typer.core import TyperGroup

from veille.errors import DiskFull, VeilleError
from veille.runtime import Runtime, open_runtime

console = Console()

WorkspaceOpt = Annotated[Path, typer.Option(
    "--workspace", "-w", envvar="VEILLE_WORKSPACE",
    help="Workspace folder (catalog, inbox, archive, store). Env: VEILLE_WORKSPACE.")]
DEFAULT_WORKSPACE = Path("workspace")
ConventionOpt = Annotated[str | None, typer.Option(
    "--convention", "-c", help="Convention id (default: found from the file name).")]


class NamedErrors(TyperGroup):
    """The ``veille`` group: every command runs inside it, so a named fault (a
    :class:`VeilleError`, or a full disk met by any writer) is reported here, once."""

    def invoke(self, ctx: Any) -> Any:  # typer's own click Context (vendored)
        try:
            return super().invoke(ctx)
        except VeilleError as exc:
            fault = exc
        except OSError as exc:
            named = DiskFull.from_os_error(exc)
            if named is None:
                raise
            fault = named
        console.print(f"[red]Erreur :[/red] {escape(str(fault))}")
        console.print(f"[bold]Que faire :[/bold] {escape(fault.hint)}")
        raise typer.Exit(2) from fault


def open_workspace(workspace: Path) -> Runtime:
    """The workspace's runtime (settings, checked catalog, migrated store)."""
    return open_runtime(workspace)


def parse_at(at: str | None) -> dt.datetime:
    """``--at ISO`` (UTC unless it carries an offset), or now."""
    if at is None:
        return dt.datetime.now(dt.UTC)
    try:
        when = dt.datetime.fromisoformat(at)
    except ValueError as exc:
        raise typer.BadParameter(f"« {at} » n'est pas une date ISO, p. ex. "
                                 "2026-03-02T09:00", param_hint="--at") from exc
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


def progress() -> Progress:
    """A Rich progress bar, shown on a terminal (or when VEILLE_PROGRESS=1)."""
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, disable=not console.is_terminal
                    and os.environ.get("VEILLE_PROGRESS") != "1")
