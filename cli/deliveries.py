"""Commands about deliveries: ingest files, watch a drop folder, freshness, history."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from cli.common import (
    DEFAULT_WORKSPACE,
    ConventionOpt,
    WorkspaceOpt,
    console,
    open_workspace,
    progress,
)
from cli.tables import print_table
from veille.runtime import Runtime

if TYPE_CHECKING:
    from streams.embedded import IngestSummary


def ingest(
    files: Annotated[list[Path], typer.Argument(
        help="Provider files to ingest (a symbolic link is followed; a path that is not a "
             "regular file is refused, exit 2).")],
    convention: ConventionOpt = None,
    history: Annotated[bool, typer.Option(
        "--history", help="Each file is a provider's export of several periods: recorded one "
                          "wave per period, tested in order; only the latest wave alerts.")
    ] = False,
    alerts: Annotated[str, typer.Option(
        help="With --history: latest (only the latest period alerts) or all (every wave "
             "alerts, a replay wave by wave).")] = "latest",
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """Ingest provider files: archive, validate, record (or quarantine with a report)."""
    from cli.jobs import ingest_files

    if alerts not in ("latest", "all"):
        console.print(f"[red]--alerts {escape(alerts)}[/red] : latest ou all.")
        raise typer.Exit(2)
    runtime = open_workspace(workspace)
    if convention is not None and convention not in runtime.catalog.conventions:
        known = ", ".join(sorted(runtime.catalog.conventions))
        console.print(f"[red]Unknown convention '{convention}'.[/red] Known: {known}")
        raise typer.Exit(2)
    with progress() as bar:
        task = bar.add_task("Ingest", total=len(files))
        summary = ingest_files(runtime, files, convention_id=convention,
                               on_file=lambda _p: bar.advance(task),
                               history=alerts if history else "")
    print_outcomes(runtime, summary)
    if summary.refused:
        raise typer.Exit(2)
    if summary.quarantined:
        raise typer.Exit(1)


STATUS_FR = {"accepted": "acceptée", "quarantined": "mise en quarantaine",
             "received": "reçue, pas encore traitée"}


def print_outcomes(runtime: Runtime, summary: IngestSummary) -> None:
    """The table of deliveries, and a line for each file refused, left for later, or
    whose delivery another process handled (a second writer is told so, not an error)."""
    from veille.store import deliveries

    for _path, why in summary.refused:
        console.print(f"[red]Refusé[/red] {escape(why)}")
    for _path, why in summary.waiting:
        console.print(f"[yellow]En attente[/yellow] {escape(why)}")
    table = Table("file", "delivery", "status", "observations", "secret", "problems",
                  title="Deliveries")
    taken = set(summary.taken)
    with runtime.engine.connect() as conn:
        for path, received in summary.outcomes:
            row = deliveries.get(conn, received.event.delivery_id)
            status = row.status
            if received.duplicate:
                status = ("duplicate (still quarantined)" if row.status == "quarantined"
                          else "duplicate (no change)")
            if path in taken:
                status = f"{row.status} (par un autre processus)"
                console.print(
                    f"[yellow]Déjà prise[/yellow] {escape(path.name)} : la livraison {row.id} "
                    f"a été traitée par un autre processus au même moment (elle est "
                    f"{STATUS_FR.get(row.status, row.status)}) ; cette commande n'a rien "
                    "écrit de plus.")
            table.add_row(str(path.name), str(row.id), status, str(row.observation_count),
                          str(row.secret_count), str(row.problem_count))
            if row.status == "quarantined" and not received.duplicate and path not in taken:
                console.print(f"[yellow]Quarantined[/yellow] {path.name}: report "
                              f"{row.report_path}")
            elif row.status == "quarantined" and received.duplicate:
                console.print(
                    f"[yellow]Doublon[/yellow] {escape(path.name)} : mêmes octets que la "
                    f"livraison {row.id}, en quarantaine ; renvoyer le fichier ne change rien. "
                    f"Si c'est la convention qui devait changer : [bold]veille deliveries retry "
                    f"{row.id}[/bold].")
            elif row.status == "accepted" and row.report_path and not received.duplicate:
                console.print(f"[cyan]Remarques[/cyan] {escape(path.name)} : "
                              f"{escape(row.report_path)}")
    for path in (p for p in summary.taken if p not in {q for q, _ in summary.outcomes}):
        console.print(f"[yellow]Déjà pris[/yellow] {escape(path.name)} : pris en charge par "
                      "un autre processus (un autre veille watch ou veille ingest).")
    if summary.outcomes:
        print_table(console, table)


def watch(
    folder: Annotated[Path, typer.Argument(file_okay=False, help="Drop folder to watch.")],
    interval: Annotated[float, typer.Option(help="Seconds between polls.")] = 2.0,
    quiet_seconds: Annotated[float | None, typer.Option(
        "--quiet-seconds", min=0,
        help="Take a file once unchanged for this long (default: drop_quiet_seconds in "
             "veille.yaml, 15).")] = None,
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
    from cli.jobs import watch_folder

    runtime = open_workspace(workspace)
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
        total = watch_folder(runtime, folder, interval=interval, quiet=quiet_seconds,
                             once=once, handle=handle,
                             on_batch=lambda b: print_outcomes(runtime, b))
    except KeyboardInterrupt:
        raise typer.Exit(0) from None
    console.print(f"{total.accepted} accepted, {total.quarantined} quarantined, "
                  f"{total.duplicates} duplicates, {len(total.taken)} pris par un autre "
                  f"processus, {len(total.refused)} refusé(s)")


def freshness(
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    emit: Annotated[bool, typer.Option(help="Record DeliveryOverdue events for late "
                                            "conventions.")] = True,
) -> None:
    """List each convention's last delivery and whether it is overdue."""
    from connectors.freshness import emit_overdue
    from connectors.freshness import freshness as compute

    runtime = open_workspace(workspace)
    table = Table("convention", "provider", "last period", "expected", "due", "days late",
                  title="Fraîcheur des livraisons / delivery freshness")
    for item in compute(runtime.catalog, runtime.engine, runtime.clock):
        late = f"[red]{item.days_late}[/red]" if item.overdue else "0"
        table.add_row(item.convention_id, item.provider, item.last_period or "-",
                      item.expected_period, item.due_date.isoformat(), late)
    print_table(console, table)
    if emit:
        events = emit_overdue(runtime.catalog, runtime.engine, runtime.clock)
        if events:
            console.print(f"{len(events)} new DeliveryOverdue event(s) recorded.")


deliveries_app = typer.Typer(help="Livraisons / deliveries: list them (default), retry a "
                             "quarantined one.", invoke_without_command=True)


@deliveries_app.callback()
def list_deliveries(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option(help="accepted, quarantined or received")
                      ] = None,
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """List recorded deliveries, with quarantine reports."""
    from veille.store import deliveries

    if ctx.invoked_subcommand is not None:
        return
    runtime = open_workspace(workspace)
    table = Table("id", "file", "convention", "status", "periods", "observations", "report")
    with runtime.engine.connect() as conn:
        for row in deliveries.list_deliveries(conn, status):
            periods = f"{min(row.periods)}..{max(row.periods)}" if row.periods else "-"
            table.add_row(str(row.id), row.filename, row.convention_id or "?", row.status,
                          periods, str(row.observation_count), row.report_path or "")
    print_table(console, table)


@deliveries_app.command("retry")
def retry(
    delivery: Annotated[int, typer.Argument(help="The quarantined delivery's id.")],
    convention: ConventionOpt = None,
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """Re-process a quarantined delivery from its archived bytes with today's convention
    (a new attempt of the same delivery; the earlier report is kept)."""
    from cli.jobs import retry_delivery

    runtime = open_workspace(workspace)
    row, attempts = retry_delivery(runtime, delivery, convention_id=convention)
    status = STATUS_FR.get(row.status, row.status)
    console.print(f"Livraison {row.id} ({escape(row.filename)}), tentative "
                  f"{len(attempts) + 1} : {status}, {row.observation_count} observation(s), "
                  f"{row.problem_count} problème(s).")
    for earlier in attempts:
        console.print(f"  tentative {earlier['attempt']} : "
                      f"{STATUS_FR.get(earlier['status'], earlier['status'])}, "
                      f"{earlier['problem_count']} problème(s), rapport "
                      f"{escape(str(earlier['report_path']))}")
    if row.report_path:
        console.print(f"  rapport de cette tentative : {escape(row.report_path)}")
    if row.status == "quarantined":
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Attach the commands to the main ``veille`` app."""
    app.command()(ingest)
    app.command()(watch)
    app.command()(freshness)
    app.add_typer(deliveries_app, name="deliveries")
