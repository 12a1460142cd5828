"""The `veille` command line. Commands stay thin: they parse options, call a job, print."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from veille.catalog import CatalogError
from veille.config import SettingsError
from veille.runtime import Runtime, open_runtime

app = typer.Typer(help="veille: social watch and alerts for social observatories "
                       "(veille sociale).", no_args_is_help=True, add_completion=False)
console = Console()

WorkspaceOpt = Annotated[Path, typer.Option(
    "--workspace", "-w", envvar="VEILLE_WORKSPACE",
    help="Workspace folder (catalog, inbox, archive, store). Env: VEILLE_WORKSPACE.")]
# Annotated: cli_web and cli_streams import it back from inside the import cycle.
DEFAULT_WORKSPACE: Path = Path("workspace")


def _open(workspace: Path) -> Runtime:
    try:
        return open_runtime(workspace)
    except (CatalogError, SettingsError) as exc:
        console.print(f"[red]Cannot open workspace {workspace}:[/red] {exc}")
        console.print("Fix the files named above, then run the command again.")
        raise typer.Exit(2) from exc


def progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, disable=not console.is_terminal
                    and os.environ.get("VEILLE_PROGRESS") != "1")


@app.command()
def demo(
    workspace: Annotated[Path, typer.Option("--workspace", "-w",
                                            help="Folder to create the demo in.")
                         ] = Path("veille-demo"),
    seed: Annotated[int, typer.Option(help="Random seed of the demo territory.")] = 2026,
) -> None:
    """Create the fictional demo territory and run the whole pipeline on its history."""
    from veille.demo_job import run_demo

    run_demo(workspace, seed=seed, console=console, progress=progress())


@app.command()
def ingest(
    files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False,
                                                help="Provider files to ingest.")],
    convention: Annotated[str | None, typer.Option(
        "--convention", "-c", help="Convention id (default: found from the file name).")] = None,
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """Ingest provider files: archive, validate, record (or quarantine with a report)."""
    from veille.jobs import ingest_files

    runtime = _open(workspace)
    if convention is not None and convention not in runtime.catalog.conventions:
        known = ", ".join(sorted(runtime.catalog.conventions))
        console.print(f"[red]Unknown convention '{convention}'.[/red] Known: {known}")
        raise typer.Exit(2)
    with progress() as bar:
        task = bar.add_task("Ingest", total=len(files))
        summary = ingest_files(runtime, files, convention_id=convention,
                               on_file=lambda _p: bar.advance(task))
    _print_outcomes(runtime, summary.outcomes)
    if summary.quarantined:
        raise typer.Exit(1)


def _print_outcomes(runtime: Runtime, outcomes: list) -> None:
    from veille.store import deliveries

    table = Table("file", "delivery", "status", "observations", "secret", "problems",
                  title="Deliveries")
    with runtime.engine.connect() as conn:
        for path, received in outcomes:
            row = deliveries.get(conn, received.event.delivery_id)
            status = "duplicate (no change)" if received.duplicate else row.status
            table.add_row(str(path.name), str(row.id), status, str(row.observation_count),
                          str(row.secret_count), str(row.problem_count))
            if row.status == "quarantined" and not received.duplicate:
                console.print(f"[yellow]Quarantined[/yellow] {path.name}: report "
                              f"{row.report_path}")
    console.print(table)


@app.command()
def watch(
    folder: Annotated[Path, typer.Argument(file_okay=False, help="Drop folder to watch.")],
    interval: Annotated[float, typer.Option(help="Seconds between polls.")] = 2.0,
    once: Annotated[bool, typer.Option(help="Ingest what is there now, then stop.")] = False,
    bus: Annotated[str, typer.Option(
        help="embedded: ingest here; kafka: archive, record and publish for the workers.")
    ] = "embedded",
    broker: Annotated[str, typer.Option(envvar="VEILLE_KAFKA",
                                        help="Kafka host:port (--bus kafka).")
                      ] = "127.0.0.1:9092",
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """Watch a drop folder and ingest files as they arrive (they move to processed/)."""
    from veille.jobs import watch_folder

    runtime = _open(workspace)
    folder.mkdir(parents=True, exist_ok=True)
    handle = None
    if bus == "kafka":
        from streams.bus import folder_publisher

        handle = folder_publisher(broker)
    elif bus != "embedded":
        console.print(f"[red]Unknown bus '{bus}'[/red]: embedded or kafka.")
        raise typer.Exit(2)
    console.print(f"Watching {folder} (Ctrl-C to stop)" if not once else f"Ingesting {folder}")
    try:
        total = watch_folder(runtime, folder, interval=interval, once=once, handle=handle,
                             on_batch=lambda b: _print_outcomes(runtime, b.outcomes))
    except KeyboardInterrupt:
        raise typer.Exit(0) from None
    console.print(f"{total.accepted} accepted, {total.quarantined} quarantined, "
                  f"{total.duplicates} duplicates")


@app.command()
def freshness(
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    emit: Annotated[bool, typer.Option(help="Record DeliveryOverdue events for late "
                                            "conventions.")] = True,
) -> None:
    """List each convention's last delivery and whether it is overdue."""
    from connectors.freshness import emit_overdue
    from connectors.freshness import freshness as compute

    runtime = _open(workspace)
    table = Table("convention", "provider", "last period", "expected", "due", "days late",
                  title="Fraîcheur des livraisons / delivery freshness")
    for item in compute(runtime.catalog, runtime.engine, runtime.clock):
        late = f"[red]{item.days_late}[/red]" if item.overdue else "0"
        table.add_row(item.convention_id, item.provider, item.last_period or "-",
                      item.expected_period, item.due_date.isoformat(), late)
    console.print(table)
    if emit:
        events = emit_overdue(runtime.catalog, runtime.engine, runtime.clock)
        if events:
            console.print(f"{len(events)} new DeliveryOverdue event(s) recorded.")


@app.command("deliveries")
def list_deliveries(
    status: Annotated[str | None, typer.Option(help="accepted, quarantined or received")
                      ] = None,
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """List recorded deliveries, with quarantine reports."""
    from veille.store import deliveries

    runtime = _open(workspace)
    table = Table("id", "file", "convention", "status", "periods", "observations", "report")
    with runtime.engine.connect() as conn:
        for row in deliveries.list_deliveries(conn, status):
            periods = f"{min(row.periods)}..{max(row.periods)}" if row.periods else "-"
            table.add_row(str(row.id), row.filename, row.convention_id or "?", row.status,
                          periods, str(row.observation_count), row.report_path or "")
    console.print(table)


@app.command()
def check(workspace: WorkspaceOpt = DEFAULT_WORKSPACE) -> None:
    """Check the catalog files and report every problem with file, entry and field."""
    runtime = _open(workspace)
    c = runtime.catalog
    console.print(f"Catalog OK: {len(c.indicators)} indicators, {len(c.territories)} "
                  f"territories, {len(c.conventions)} conventions, {len(c.cells)} cells.")

# Command groups living in their own modules register themselves on `app`.
from veille import cli_detect  # noqa: E402,F401
from veille.cli_alerts import register as _register_alerts  # noqa: E402

_register_alerts(app)
from veille.cli_streams import register as _register_streams  # noqa: E402

_register_streams(app)

from veille.cli_web import register as _register_web  # noqa: E402

_register_web(app)

if __name__ == "__main__":
    app()
