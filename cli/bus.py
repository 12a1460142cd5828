"""Commands of the distributed runner: `veille worker`, `veille publish`, `veille bus ...`.

The embedded runner stays the default; these need a Kafka broker (VEILLE_KAFKA) and a
PostgreSQL store (VEILLE_DATABASE_URL) shared by every worker.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from cli.common import (
    DEFAULT_WORKSPACE,
    ConventionOpt,
    WorkspaceOpt,
    console,
    open_workspace,
    parse_at,
)
from cli.tables import print_table

BrokerOpt = Annotated[str, typer.Option(
    "--broker", envvar="VEILLE_KAFKA", help="Kafka bootstrap server host:port. "
                                           "Env: VEILLE_KAFKA.")]
DEFAULT_BROKER = "127.0.0.1:9092"

bus_app = typer.Typer(help="Le bus Kafka / the Kafka bus: status, ticks, dead letters.",
                      no_args_is_help=True)


def worker(
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    broker: BrokerOpt = DEFAULT_BROKER,
    name: Annotated[str | None, typer.Option(
        help="Worker name (its own history copy); default: the host name.")] = None,
    session_timeout: Annotated[float, typer.Option(
        help="Consumer group session timeout, seconds (a dead worker's partitions move "
             "after this long).")] = 30.0,
    tick_seconds: Annotated[float, typer.Option(
        help="The leader ticks the time-driven stages (freshness, scheduled digests) this "
             "often; 0: only on `veille bus tick`.")] = 60.0,
    digest_on_alert: Annotated[bool, typer.Option(
        help="Compose a cell's immediate messages as soon as an alert arrives.")] = True,
    chunk_tests: Annotated[int, typer.Option(help="Tests per chunk of a wave.")] = 64,
    fetch_wait_ms: Annotated[int | None, typer.Option(
        envvar="VEILLE_KAFKA_FETCH_WAIT_MS",
        help="Longest a fetch waits for data, ms (Faust: 1500). Kafka answers as soon as "
             "data arrives; a broker that waits it out (Tansu) needs ~100.")] = None,
    loglevel: Annotated[str, typer.Option(help="Log level.")] = "warning",
) -> None:
    """Start a Faust worker of the distributed pipeline (start N of them to scale)."""
    runtime = open_workspace(workspace)  # migrates the store and checks the catalog first
    os.environ.update({
        "VEILLE_KAFKA": f"kafka://{broker.split('://', 1)[-1]}",
        "VEILLE_WORKSPACE": str(runtime.workspace.root),
        "VEILLE_KAFKA_SESSION_TIMEOUT": str(session_timeout),
        "VEILLE_TICK_SECONDS": str(tick_seconds),
        "VEILLE_DIGEST_ON_ALERT": "1" if digest_on_alert else "0",
        "VEILLE_CHUNK_TESTS": str(chunk_tests),
    })
    if name:
        os.environ["VEILLE_WORKER_NAME"] = name
    if fetch_wait_ms:
        os.environ["VEILLE_KAFKA_FETCH_WAIT_MS"] = str(fetch_wait_ms)
    # Faust keeps its local state under worker-data/<name> and creates only the leaf
    (runtime.workspace.root / "worker-data").mkdir(parents=True, exist_ok=True)
    if not os.environ.get("VEILLE_DATABASE_URL") and runtime.engine.dialect.name == "sqlite":
        console.print("[yellow]The store is SQLite: fine for one worker on this machine; "
                      "use PostgreSQL (VEILLE_DATABASE_URL) for several.[/yellow]")
    from faust import Worker

    from streams.app import app
    from streams.bus import ensure_topics
    from streams.worker_context import context

    ensure_topics(broker.split("://", 1)[-1])
    context()  # open the store and catalog before joining the group
    Worker(app, loglevel=loglevel, quiet=True).execute_from_commandline()


def publish(
    files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False,
                                                help="Provider files to publish.")],
    convention: ConventionOpt = None,
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    broker: BrokerOpt = DEFAULT_BROKER,
) -> None:
    """Archive and record provider files, then publish them on the bus for the workers."""
    from connectors.receive import FileRefused
    from streams.bus import Publisher, ensure_topics, publish_files

    runtime = open_workspace(workspace)
    ensure_topics(broker.split("://", 1)[-1])
    publisher = Publisher(broker.split("://", 1)[-1])
    try:
        done = publish_files(runtime, files, publisher=publisher, convention_id=convention)
    except FileRefused as exc:
        console.print(f"[red]Refusé[/red] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    finally:
        publisher.close()
    table = Table("file", "delivery", "published", title="Livraisons publiées / published")
    for item in done:
        table.add_row(item.path.name, str(item.received.event.delivery_id),
                      "yes" if item.sent else f"no ({item.received.status}, already handled)")
    print_table(console, table)


@bus_app.command("status")
def bus_status(
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    broker: BrokerOpt = DEFAULT_BROKER,
    stale: Annotated[float, typer.Option(
        help="A wave gathering for longer than this many seconds is reported stuck.")] = 600,
) -> None:
    """Topics, consumer lag per partition (fetch high watermark) and waves in flight."""
    from streams.bus import partition_lags
    from streams.waves import waves_in_flight

    runtime = open_workspace(workspace)
    table = Table("topic", "partition", "committed", "high watermark", "lag",
                  title="Bus / topics and consumer lag")
    for lag in partition_lags(broker.split("://", 1)[-1]):
        if lag.topic.endswith("-dead-letters"):  # no consumer: letters are for people
            table.add_row(lag.topic, str(lag.partition), "-", str(lag.high_watermark),
                          f"[yellow]{lag.high_watermark} letter(s): veille bus dead-letters"
                          "[/yellow]" if lag.high_watermark else "0")
            continue
        table.add_row(lag.topic, str(lag.partition), str(lag.committed),
                      str(lag.high_watermark), f"[red]{lag.lag}[/red]" if lag.lag else "0")
    print_table(console, table)
    now = dt.datetime.now(dt.UTC)
    flying = waves_in_flight(runtime.engine)
    waves = Table("delivery", "period", "chunks in / expected", "tests (BH m)", "age",
                  "state", title="Vagues en cours / waves in flight")
    stuck = 0
    for w in flying:
        planned = w["planned_at"]
        if planned.tzinfo is None:
            planned = planned.replace(tzinfo=dt.UTC)
        age = (now - planned).total_seconds()
        late = age > stale
        stuck += late
        waves.add_row(str(w["delivery_id"]), w["period"],
                      f"{w['chunks_in']} / {w['expected_chunks']}", str(w["n_tests"]),
                      f"{age:.0f} s", "[red]STUCK: chunks missing (partition lost?)[/red]"
                      if late else "gathering")
    if flying:
        print_table(console, waves)
    else:
        console.print("No wave in flight.")
    if stuck:
        console.print(f"[red]{stuck} wave(s) never completed:[/red] their missing chunks "
                      "must be republished (`veille publish` the delivery's file again).")
        raise typer.Exit(1)


@bus_app.command("tick")
def bus_tick(
    broker: BrokerOpt = DEFAULT_BROKER,
    at: Annotated[str | None, typer.Option(
        help="ISO time to tick at, UTC unless it has an offset (default: now).")] = None,
) -> None:
    """Ask the workers to run freshness rules and send due digests now (or as of --at)."""
    from streams.bus import Publisher, publish_tick

    when = parse_at(at)
    publisher = Publisher(broker.split("://", 1)[-1])
    try:
        publish_tick(publisher, when)
    finally:
        publisher.close()
    console.print(f"Tick published for {when.isoformat()}.")


@bus_app.command("dead-letters")
def bus_dead_letters(broker: BrokerOpt = DEFAULT_BROKER) -> None:
    """Messages the workers could not read, with the reason."""
    from streams.bus import dead_letters

    table = Table("topic", "reason", "payload", title="Lettres mortes / dead letters")
    for item in dead_letters(broker.split("://", 1)[-1]):
        table.add_row(item["topic"], item["reason"], item["payload"][:80])
    print_table(console, table)


def register(app: typer.Typer) -> None:
    app.command()(worker)
    app.command()(publish)
    app.add_typer(bus_app, name="bus")
