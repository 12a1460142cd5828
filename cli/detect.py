"""CLI commands about detection: run it, list shifts, rebuild the columnar history."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Column, Table

from cli.common import DEFAULT_WORKSPACE, WorkspaceOpt, console, open_workspace
from cli.tables import print_table
from veille.model import Theme
from veille.periods import label_fr
from veille.wording import KIND_FR, certainty, change_unit, fmt, fmt_q, signed


def detect(workspace: WorkspaceOpt = DEFAULT_WORKSPACE) -> None:
    """Run the pipeline on pending deliveries (ingest, then detection per wave)."""
    from sqlalchemy import select

    from streams.embedded import EmbeddedRunner
    from veille.store.schema import detection_runs

    runtime = open_workspace(workspace)
    report = EmbeddedRunner(runtime.workspace, runtime.catalog, runtime.engine,
                            runtime.clock).run_pending()
    table = Table("delivery", "period", "series", "tests", "statsmodels fits", "shifts",
                  "seconds", title="Vagues testées / waves tested")
    with runtime.engine.connect() as conn:
        for run in conn.execute(select(detection_runs).order_by(detection_runs.c.delivery_id)):
            table.add_row(str(run.delivery_id), run.period, f"{run.n_series:,}",
                          f"{run.n_tests:,}", f"{run.n_candidates:,}", str(run.n_shifts),
                          f"{run.seconds:.2f}")
    print_table(console, table)
    produced = ", ".join(f"{n} {k}" for k, n in sorted(report.produced.items()))
    console.print(f"This run: {produced or 'nothing pending'}.")


def shifts(
    territory: Annotated[str | None, typer.Option(
        help="Territory code: shifts of it and of every territory inside it.")] = None,
    theme: Annotated[Theme | None, typer.Option(help="Theme of the indicator.")] = None,
    kind: Annotated[str | None, typer.Option(
        help="spike, dip, level_shift, trend_change or gap_widening.")] = None,
    status: Annotated[str | None, typer.Option(help="active or retracted.")] = "active",
    review: Annotated[str | None, typer.Option(
        help="Review status: pending, confirmed, dismissed, queried.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (all evidence).")] = False,
    untested: Annotated[bool, typer.Option(
        "--untested", help="Per wave: series tested, not tested and why.")] = False,
    wave: Annotated[int | None, typer.Option(
        help="Delivery id of one wave (with --untested: its untested series).")] = None,
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """List detected shifts with their evidence (most significant first)."""
    from veille.store import shifts as shift_store

    if untested:
        from cli.explain import untested_report

        untested_report(wave, as_json, workspace)
        return
    runtime = open_workspace(workspace)
    catalog = runtime.catalog
    scope = None
    if territory is not None:
        if territory not in catalog.territories:
            console.print(f"[red]Unknown territory '{territory}'.[/red] "
                          "See catalog/territories.csv for codes.")
            raise typer.Exit(2)
        scope = [c for c in catalog.territories if catalog.within([territory], c)]
    indicators = ([c for c, i in catalog.indicators.items() if i.theme is theme]
                  if theme is not None else None)
    with runtime.engine.connect() as conn:
        rows = shift_store.list_shifts(conn, territory=scope, indicators=indicators,
                                       kind=kind, status=status, review_status=review)
    if wave is not None:
        rows = [r for r in rows if r["delivery_id"] == wave]
    if as_json:
        console.print_json(json.dumps(rows, default=str, ensure_ascii=False))
        return
    table = Table("période", "territoire", "indicateur", "type",
                  Column("variation", no_wrap=True), Column("attendu", no_wrap=True), "q",
                  title=f"Évolutions détectées / shifts ({len(rows)})")
    for s in rows:
        indicator = catalog.indicators.get(s["indicator"])
        place = catalog.territories.get(s["territory"])
        unit = change_unit(indicator) if indicator else ""
        decimals = 0 if indicator is None or indicator.kind.value == "count" else 1
        table.add_row(label_fr(s["period"]), place.name if place else s["territory"],
                      indicator.label if indicator else s["indicator"],
                      KIND_FR.get(s["kind"], s["kind"]),
                      signed(s["abs_change"], unit, decimals),
                      f"{fmt(s['expected'], '', decimals)} [{fmt(s['interval_low'], '', decimals)}"
                      f" – {fmt(s['interval_high'], '', decimals)}]",
                      fmt_q(float(s["q_value"])))
    print_table(console, table)
    console.print("q (Benjamini-Hochberg) : en retenant toutes les évolutions d'une vague "
                  "au moins aussi nettes, part attendue de fausses alertes parmi elles ; "
                  f"q < 0,01 : {certainty(0.005).split(' (')[0]}. "
                  "Détail complet (méthode, p, référence) : --json.")


def history_rebuild(workspace: WorkspaceOpt = DEFAULT_WORKSPACE) -> None:
    """Rebuild the columnar history (detection's bulk copy) from the store."""
    from veille.store.columnar import ColumnarHistory

    runtime = open_workspace(workspace)
    applied = ColumnarHistory(runtime.workspace.history).rebuild(runtime.engine)
    console.print(f"Rebuilt {len(applied)} indicator(s) from "
                  f"{sum(applied.values())} delivery application(s).")


def register(app: typer.Typer) -> None:
    """Attach the commands to the main ``veille`` app."""
    app.command()(detect)
    app.command()(shifts)
    app.command("history-rebuild")(history_rebuild)
