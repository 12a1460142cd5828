"""Commands for cells, subscriptions, alerts, digests and the notification log.

Registered on the main app by ``cli.main``. Labels are
French/English where people read them; Apprise URLs are always shown masked.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
import yaml
from pydantic import ValidationError
from rich.table import Table

from cli.common import DEFAULT_WORKSPACE, WorkspaceOpt, console, open_workspace, parse_at
from cli.tables import print_table
from veille.catalog import CatalogError
from veille.clock import PARIS
from veille.runtime import Runtime

cells_app = typer.Typer(help="Cellules de veille / watch cells: list, show, set the "
                             "schedule, add a member.", no_args_is_help=True)
digests_app = typer.Typer(help="Synthèses / digests: compose and send what is due.",
                          no_args_is_help=True)

def _local(value: dt.datetime | None) -> str:
    if value is None:
        return "-"
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(PARIS).strftime("%Y-%m-%d %H:%M")


def _edit_cells(runtime: Runtime, cell_id: str, change: dict) -> None:
    """Apply ``change`` to one cell of cells.yaml, validate the whole file, then write."""
    from veille.catalog import load_catalog

    path = runtime.workspace.catalog_dir / "cells.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {"cells": []}
    entries = raw.get("cells") or []
    entry = next((e for e in entries if e.get("id") == cell_id), None)
    if entry is None:
        console.print(f"[red]Cellule inconnue / unknown cell '{cell_id}'.[/red]")
        raise typer.Exit(2)
    previous = path.read_text(encoding="utf-8")
    for key, value in change.items():
        if key == "members+":
            entry.setdefault("members", []).append(value)
        else:
            entry[key] = value
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False, width=100),
                    encoding="utf-8")
    try:
        load_catalog(runtime.workspace.catalog_dir)
    except CatalogError as exc:
        path.write_text(previous, encoding="utf-8")  # a bad edit leaves the old file
        console.print(f"[red]Refusé / refused:[/red] {exc}")
        raise typer.Exit(2) from exc


@cells_app.command("list")
def cells_list(workspace: WorkspaceOpt = DEFAULT_WORKSPACE) -> None:
    """List the cells (those of cells.yaml and the providers' contacts)."""
    from digests.channels import mask_url
    from digests.schedule import next_slot
    from thresholds.subscriptions import directory, load_subscriptions

    runtime = open_workspace(workspace)
    subs = load_subscriptions(runtime.catalog)
    table = Table("cellule / cell", "type", "territoire / scope", "rythme / schedule",
                  "prochaine synthèse / next digest", "revue / reviewed only", "membres",
                  "abonnements", title="Cellules de veille / watch cells")
    now = runtime.clock.now()
    for cell in directory(runtime.catalog).values():
        nxt = next_slot(cell, now)
        table.add_row(cell.id, cell.kind.value, ", ".join(cell.scope) or "-", cell.schedule,
                      _local(nxt) if nxt else "immédiat",
                      "oui" if cell.reviewed_only else "non",
                      "\n".join(f"{m.name} <{mask_url(m.url)}>" for m in cell.members),
                      str(len(subs.of_cell(cell.id))))
    print_table(console, table)


@cells_app.command("set")
def cells_set(
    cell_id: Annotated[str, typer.Argument(help="Cell id.")],
    schedule: Annotated[str | None, typer.Option(help="immediate, weekly or monthly")] = None,
    day: Annotated[int | None, typer.Option(help="weekly: 1-7 (Monday=1); monthly: 1-28")
                   ] = None,
    hour: Annotated[int | None, typer.Option(help="local hour (Europe/Paris)")] = None,
    quiet: Annotated[str | None, typer.Option(help="quiet hours, e.g. 20:00-08:00; 'none'")
                     ] = None,
    reviewed_only: Annotated[bool | None, typer.Option(
        "--reviewed-only/--unreviewed", help="only shifts confirmed in review, or also "
                                             "raw detections")] = None,
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """Change a cell's digest schedule, quiet hours or review gating in cells.yaml."""
    runtime = open_workspace(workspace)
    change: dict = {}
    if schedule is not None:
        change["schedule"] = schedule
    if day is not None:
        change["digest_day"] = day
    if hour is not None:
        change["digest_hour"] = hour
    if quiet is not None:
        start, _, end = quiet.partition("-")
        change["quiet_hours"] = None if quiet == "none" else {"start": start, "end": end}
    if reviewed_only is not None:
        change["reviewed_only"] = reviewed_only
    _edit_cells(runtime, cell_id, change)
    console.print(f"Cellule '{cell_id}' mise à jour / updated.")


@cells_app.command("add-member")
def cells_add_member(
    cell_id: Annotated[str, typer.Argument(help="Cell id.")],
    name: Annotated[str, typer.Option(help="Member's name and role.")],
    url: Annotated[str, typer.Option(help="Apprise URL (mailto://, json://, ...).")],
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """Add a recipient to a cell (the URL is stored in cells.yaml, shown masked)."""
    from digests.channels import mask_url

    runtime = open_workspace(workspace)
    _edit_cells(runtime, cell_id, {"members+": {"name": name, "url": url}})
    console.print(f"{name} <{mask_url(url)}> ajouté(e) à / added to '{cell_id}'.")


def _rule(text: str) -> dict:
    """'kind=level indicator=x above=8' -> {'kind': 'level', ...}; lists with commas."""
    out: dict = {}
    for part in text.split():
        key, sep, value = part.partition("=")
        if not sep:
            raise typer.BadParameter(f"'{part}' is not key=value")
        if key in {"indicators", "themes", "kinds"}:
            out[key] = [v for v in value.split(",") if v]
        else:
            out[key] = yaml.safe_load(value)
    return out


def subscribe(
    sub_id: Annotated[str, typer.Argument(help="Subscription id (lower case, - and _).")],
    cell: Annotated[str, typer.Option("--cell", "-c", help="Owner cell id.")],
    scope: Annotated[list[str], typer.Option("--scope", "-s", help="Territory code(s) "
                                             "inside the cell's territory.")],
    rule: Annotated[str, typer.Option(help="Rule as key=value, e.g. 'kind=level "
                                           "indicator=caf_part_bas_revenus above=8 leave=7.5'"
                                           "; kinds: level, change, gap, shift, freshness.")],
    include: Annotated[list[str] | None, typer.Option(help="Kinds of territory watched "
                                                      "inside the scope (quartier...).")
                       ] = None,
    severity: Annotated[str | None, typer.Option(help="info, warning or critical")] = None,
    label: Annotated[str | None, typer.Option(help="A label for people.")] = None,
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """S'abonner / subscribe a cell to a rule (checked, then written to
    catalog/subscriptions.yaml). A scope outside the cell's territory is refused."""
    from thresholds.subscriptions import Subscription, save_subscription
    from veille.model import error_text

    runtime = open_workspace(workspace)
    raw = {"id": sub_id, "owner": cell, "scope": scope, "include": include or [],
           "rule": _rule(rule), "severity": severity, "label": label}
    try:
        sub = Subscription.model_validate({k: v for k, v in raw.items() if v is not None})
        save_subscription(runtime.catalog, sub)
    except ValidationError as exc:
        for err in exc.errors():
            field = ".".join(str(x) for x in err["loc"])
            console.print(f"[red]subscriptions.yaml, entry '{sub_id}', field '{field}':[/red] "
                          f"{error_text(err)}")
        raise typer.Exit(2) from exc
    except CatalogError as exc:
        console.print(f"[red]Refusé / refused:[/red] {exc}")
        raise typer.Exit(2) from exc
    console.print(f"Abonnement '{sub_id}' enregistré pour / saved for '{cell}'.")


def alerts(
    cell: Annotated[str | None, typer.Option("--cell", "-c", help="Only this cell.")] = None,
    status: Annotated[str | None, typer.Option(help="active, resolved or retracted")] = None,
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """List alerts (Alertes) with their status and the message that carried them."""
    from veille.store import alerts as alert_store

    runtime = open_workspace(workspace)
    table = Table("levée / raised", "cellule / cell", "gravité", "statut / status",
                  "alerte / alert", "envoyée dans / sent in", title="Alertes / alerts")
    with runtime.engine.connect() as conn:
        rows = alert_store.list_alerts(conn, cell_id=cell, status=status)
    for row in rows:
        table.add_row(_local(row["raised_at"]), row["cell_id"], row["severity"], row["status"],
                      row["message"], row["digest_id"] or "en attente / pending")
    print_table(console, table)
    console.print(f"{len(rows)} alerte(s).")


def notifications(
    cell: Annotated[str | None, typer.Option("--cell", "-c", help="Only this cell.")] = None,
    limit: Annotated[int | None, typer.Option(help="At most this many lines.")] = None,
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """Journal des envois / notification log: every attempt, to whom, through which
    channel (credentials masked), and whether it was delivered."""
    from veille.store import notifications as store

    runtime = open_workspace(workspace)
    table = Table("quand / when", "message", "cellule / cell", "destinataire / recipient",
                  "canal / channel", "essai", "résultat / outcome", "erreur / error",
                  title="Journal des envois / notification log")
    with runtime.engine.connect() as conn:
        rows = store.log_entries(conn, cell_id=cell, limit=limit)
    for row in rows:
        table.add_row(_local(row["at"]), row["digest_id"], row["cell_id"], row["recipient"],
                      row["channel"], str(row["attempt"]), row["outcome"], row["error"] or "")
    print_table(console, table)


@digests_app.command("send")
def digests_send(
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    at: Annotated[str | None, typer.Option(
        help="Act as of this ISO time, UTC unless it has an offset (default: now).")] = None,
) -> None:
    """Check freshness rules, compose the digests and alerts due now, send the outbox.
    Exits 1 when a send failed (to be retried, or for good)."""
    from digests.send import channel_for, deliver_due, policy_for
    from thresholds.freshness import watch_freshness
    from thresholds.routing import Routing
    from thresholds.subscriptions import load_subscriptions
    from veille.store import notifications as store

    when = parse_at(at) if at is not None else None
    runtime = open_workspace(workspace)
    routing = Routing.build(runtime.catalog, load_subscriptions(runtime.catalog))
    now = when or runtime.clock.now()
    raised = watch_freshness(now, routing=routing, engine=runtime.engine)
    composed, _ = deliver_due(now, catalog=runtime.catalog, cells=routing.cells,
                              engine=runtime.engine, channel=channel_for(runtime.workspace),
                              base_url=runtime.workspace.settings.base_url,
                              policy=policy_for(runtime.workspace))
    with runtime.engine.connect() as conn:
        outcomes = store.attempt_outcomes(conn, now)
        waiting, next_at = store.awaiting_retry(conn)
    retry, failed = outcomes.get("retry", 0), outcomes.get("failed", 0)
    console.print(f"{len(raised)} alerte(s) de fraîcheur, {len(composed)} message(s) "
                  f"composé(s) ; envois : {outcomes.get('delivered', 0)} réussi(s), "
                  f"{retry} échoué(s) à réessayer, {failed} échec(s) définitif(s).")
    if waiting:
        console.print(f"[yellow]{waiting} envoi(s) en attente d'un nouvel essai[/yellow] "
                      f"(prochain : {_local(next_at)}) : détail dans `veille notifications`.")
    if retry or failed:
        raise typer.Exit(1)


@digests_app.command("list")
def digests_list(workspace: WorkspaceOpt = DEFAULT_WORKSPACE) -> None:
    """List composed messages (digests, alerts, retractions) and their status."""
    from digests.present import DIGEST_STATUS_FR
    from veille.store import notifications as store

    runtime = open_workspace(workspace)
    table = Table("créé / created", "message", "type", "alertes", "statut / status",
                  "objet / subject", title="Synthèses et alertes envoyées / messages")
    with runtime.engine.connect() as conn:
        for row in store.list_digests(conn):
            table.add_row(_local(row["created_at"]), row["digest_id"], row["kind"],
                          str(row["alert_count"]),
                          DIGEST_STATUS_FR.get(row["status"], row["status"]), row["subject"])
    print_table(console, table)


def register(app: typer.Typer) -> None:
    """Attach the commands to the main ``veille`` app."""
    app.add_typer(cells_app, name="cells")
    app.add_typer(digests_app, name="digests")
    app.command("subscribe")(subscribe)
    app.command("alerts")(alerts)
    app.command("notifications")(notifications)
