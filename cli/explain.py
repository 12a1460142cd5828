"""CLI commands that say why: ``veille explain`` (a series at a wave) and the untested
series of each wave (``veille shifts --untested``)."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from cli.common import DEFAULT_WORKSPACE, WorkspaceOpt, console, open_workspace
from detectors.explain import Explanation, explain_series, p_fr, threshold_words
from detectors.untested import BY_CODE, REASON_FR, Untested, series_reason
from veille.periods import label_fr
from veille.store import series_tests as test_store
from veille.wording import fmt


def explain(
    indicator: Annotated[str, typer.Argument(help="Indicator code (catalog/glossary.yaml).")],
    territory: Annotated[str, typer.Argument(help="Territory code (catalog/territories.csv).")],
    period: Annotated[str | None, typer.Argument(
        help="Period (2020, 2024-03, 2024-Q1); default: the latest tested.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """Why a series was or was not reported: its four tests' p-values, the wave's
    Benjamini-Hochberg threshold, the variance used (as recorded by the wave)."""
    runtime = open_workspace(workspace)
    catalog = runtime.catalog
    if indicator not in catalog.indicators:
        console.print(f"[red]Indicateur inconnu : « {escape(indicator)} ».[/red] "
                      "Codes : catalog/glossary.yaml.")
        raise typer.Exit(2)
    if territory not in catalog.territories:
        console.print(f"[red]Territoire inconnu : « {escape(territory)} ».[/red] "
                      "Codes : catalog/territories.csv.")
        raise typer.Exit(2)
    with runtime.engine.connect() as conn:
        found = explain_series(conn, indicator, territory, period)
    if not found:
        when = f" à la période {period}" if period else ""
        console.print(f"[red]Aucune vague n'a enregistré cette série{escape(when)}.[/red] "
                      "Les vagues testées avant la mise à jour du magasin (explain_0001) "
                      "n'ont pas d'enregistrement ; relancez la détection d'une livraison "
                      "ou choisissez une autre période.")
        raise typer.Exit(2)
    if as_json:
        console.print_json(json.dumps([asdict(e) for e in found], default=str,
                                      ensure_ascii=False))
        return
    title = f"{catalog.indicators[indicator].label} – {catalog.territories[territory].name}"
    for e in found:
        _print(e, title)


def _print(e: Explanation, title: str) -> None:
    console.print(f"[bold]{escape(title)}[/bold], {label_fr(e.period)} "
                  f"(vague de la livraison n° {e.delivery_id})")
    console.print(escape(e.verdict))
    table = Table("test", "statut", "p approchée (tri)", "p (confirmée)", "q",
                  "raison ou méthode", title="Les quatre tests")
    for t in e.tests:
        how = t.reason or (t.detail or {}).get("method") or ""
        table.add_row(t.label, t.status_fr, p_fr(t.screen_p), p_fr(t.p), p_fr(t.q),
                      escape(str(how)))
    console.print(table)
    family = "famille de suivi" if e.follow else "vague"
    threshold = "".join(threshold_words(e))
    console.print(f"Seuil de Benjamini-Hochberg de la {family} : {threshold} "
                  f"({e.m} tests, q = {p_fr(e.q)}) ; seuil du tri : {p_fr(e.cutoff)}.")
    console.print(escape(e.variance))
    console.print()


def untested_report(wave: int | None, as_json: bool, workspace: WorkspaceOpt) -> None:
    """Per wave: series tested, not tested, and why (``veille shifts --untested``); with
    ``--wave`` the untested series of that wave, one by one."""
    runtime = open_workspace(workspace)
    with runtime.engine.connect() as conn:
        runs = [r for r in test_store.runs(conn) if wave is None or r["delivery_id"] == wave]
        listed = _untested_series(test_store.read_wave(conn, wave)) if wave is not None else []
    if as_json:
        console.print_json(json.dumps({"waves": runs, "series": listed}, default=str,
                                      ensure_ascii=False))
        return
    table = Table("vague", "période", "séries", "testées", "non testées", "pourquoi",
                  title="Séries testées et non testées, par vague")
    for r in runs:
        counts = r.get("untested")
        if counts is None:
            table.add_row(str(r["delivery_id"]), label_fr(r["period"]),
                          fmt(r["n_series"], digits=0), "n.d.", "n.d.",
                          "vague enregistrée avant explain_0001")
            continue
        why = "\n".join(f"{fmt(n, digits=0)} : {REASON_FR[BY_CODE[code]]}"
                        for code, n in counts.items())
        missed = sum(counts.values())
        table.add_row(str(r["delivery_id"]), label_fr(r["period"]),
                      fmt(r["n_tested"] + missed, digits=0), fmt(r["n_tested"], digits=0),
                      fmt(missed, digits=0), why or "—")
    console.print(table)
    if wave is not None:
        detail = Table("indicateur", "territoire", "pourquoi",
                       title=f"Séries non testées de la vague {wave} ({len(listed)})")
        for item in listed:
            detail.add_row(item["indicator"], item["territory"], item["reason_fr"])
        console.print(detail)


def _untested_series(blocks: list[test_store.Block]) -> list[dict]:
    out = []
    for block in blocks:
        reasons = series_reason(block.arrays["untested"])
        for i in map(int, (reasons != Untested.TESTED).nonzero()[0]):
            code = Untested(int(reasons[i]))
            out.append({"indicator": block.indicator,
                        "territory": str(block.arrays["territory"][i]),
                        "reason": code.code, "reason_fr": REASON_FR[code]})
    return out


def register(app: typer.Typer) -> None:
    app.command()(explain)
