"""`veille demo`: create the fictional territory and run the whole pipeline on it.

Deliveries are replayed in their order of arrival, each with the clock set to the day it
arrived, so that validation, freshness and detection see what they would have seen live.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path

import yaml
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import func, select

from cli.tables import print_table
from connectors.freshness import emit_overdue, freshness
from demo import DemoManifest, generate
from detectors.evaluation import Score, changes_from_truth, score
from streams.embedded import EmbeddedRunner
from veille.clock import FixedClock
from veille.runtime import Runtime, open_runtime
from veille.store import deliveries, shifts
from veille.store.outbox import count_events
from veille.store.schema import detection_runs


def run_demo(workspace: Path, *, seed: int, console: Console, progress: Progress) -> dict:
    """Generate, ingest and detect; print a summary; return the figures (for tests)."""
    started = time.perf_counter()
    if (workspace / "veille.db").exists():
        console.print(f"[yellow]{workspace} already holds a demo: starting it afresh.[/yellow]")
        for stale in ("veille.db", "veille.db-wal", "veille.db-shm"):
            (workspace / stale).unlink(missing_ok=True)
        _clear(workspace / "history")
    manifest = generate(workspace, seed=seed)
    clock = FixedClock(manifest.reference_time)
    runtime = open_runtime(workspace, clock=clock)
    runner = EmbeddedRunner(runtime.workspace, runtime.catalog, runtime.engine, clock)
    with progress:
        task = progress.add_task("Livraisons / deliveries", total=len(manifest.deliveries))
        replay(manifest, runner, clock, on_delivery=lambda: progress.advance(task))
    overdue = emit_overdue(runtime.catalog, runtime.engine, clock)
    notices = _send_digests(runtime, runner, clock)
    late = [f for f in freshness(runtime.catalog, runtime.engine, clock) if f.overdue]
    with runtime.engine.connect() as conn:
        rows = deliveries.list_deliveries(conn)
    accepted = [r for r in rows if r.status == "accepted"]
    quarantined = [r for r in rows if r.status == "quarantined"]
    events = count_events(runtime.engine)
    figures = {
        "deliveries": len(rows), "accepted": len(accepted), "quarantined": len(quarantined),
        "observations": sum(r.observation_count for r in accepted),
        "secret": sum(r.secret_count for r in accepted),
        "series": _series_count(runtime),
        "territories": len(runtime.catalog.territories),
        "indicators": len(runtime.catalog.indicators),
        "overdue": [f.convention_id for f in late], "overdue_events": len(overdue),
        "revisions": events.get("DeliveryRevised", 0),
        "shifts": events.get("ShiftDetected", 0),
        "retractions": events.get("ShiftRetracted", 0),
        **notices,
    }
    result = score_demo(runtime, manifest.ground_truth)
    figures.update(precision=result.precision, recall=result.recall(),
                   recall_by_kind=result.by_kind(), false_shifts=len(result.false_shifts),
                   seconds=time.perf_counter() - started)
    _print_summary(console, workspace, figures, quarantined)
    _print_score(console, result)
    figures.update(_portrait_and_site(runtime, workspace, console))
    figures["seconds"] = time.perf_counter() - started
    return figures


def replay(manifest: DemoManifest, runner: EmbeddedRunner, clock: FixedClock,
           on_delivery: Callable[[], None] | None = None) -> None:
    """Submit the inbox in arrival order, each file on its day; the clock ends on the
    reference date."""
    for delivery in manifest.deliveries:
        clock.set(dt.datetime.combine(delivery.delivered_on, dt.time(9), tzinfo=dt.UTC))
        runner.submit(delivery.file, delivery.convention)
        runner.run_pending()
        if on_delivery is not None:
            on_delivery()
    clock.set(manifest.reference_time)


def score_territory(workspace: Path, seed: int) -> tuple[Score, int]:
    """Generate one demo territory, replay its deliveries through the embedded pipeline
    (no digests, no portrait) and score its shifts; also the number of waves tested.

    Why: the detectors' recall and precision are properties of the method, measured over
    several seeds (`benchmarks.demo_power`, `tests/test_demo_power.py`)."""
    manifest = generate(workspace, seed=seed)
    clock = FixedClock(manifest.reference_time)
    runtime = open_runtime(workspace, clock=clock)
    replay(manifest, EmbeddedRunner(runtime.workspace, runtime.catalog, runtime.engine, clock),
           clock)
    with runtime.engine.connect() as conn:
        waves = int(conn.execute(select(func.count()).select_from(detection_runs)).scalar()
                    or 0)
    return score_demo(runtime, manifest.ground_truth), waves


def score_demo(runtime: Runtime, truth_path: Path) -> Score:
    """The shifts of the workspace against its ground truth (`detectors.evaluation`)."""
    truth = yaml.safe_load(truth_path.read_text(encoding="utf-8"))
    children: dict[str, list[str]] = {}
    for territory in runtime.catalog.territories.values():
        if territory.parent:
            children.setdefault(territory.parent, []).append(territory.code)
    with runtime.engine.connect() as conn:
        found = shifts.list_shifts(conn)
    return score(found, changes_from_truth(truth, children))


DEMO_ANALYST = ("observatoire", "demo-observatoire")
"""The demo's analyst account (login, password): a fictional workspace, printed openly."""


def _portrait_and_site(runtime: Runtime, workspace: Path, console: Console) -> dict:
    """Write the portrait (HTML and PDF) of the latest year and create the demo analyst's
    account, then say how to open the review page."""
    from portrait.build import build_portrait
    from portrait.render import write_portrait
    from review.auth import create_user

    started = time.perf_counter()
    year = str(runtime.clock.now().year - 1)
    with runtime.engine.connect() as conn:
        built = build_portrait(conn, runtime.catalog, year, now=runtime.clock.now())
    _clear(workspace / "portrait")
    paths = write_portrait(built, workspace / "portrait")
    login, password = DEMO_ANALYST
    create_user(runtime.engine, runtime.catalog, username=login, password=password,
                role="analyst", display_name="Observatoire (démo)", now=runtime.clock.now())
    console.print(f"Portrait de territoire {year} ({time.perf_counter() - started:.1f} s): "
                  f"{paths['html'].resolve()}\n  PDF: {paths['pdf'].resolve()}")
    console.print(f"Revue des évolutions / review page: veille serve -w {workspace} "
                  f"puis/then http://127.0.0.1:8000/revue (compte/login {login}, "
                  f"mot de passe/password {password})")
    return {"portrait_html": str(paths["html"]), "portrait_pdf": str(paths["pdf"]),
            "portrait_seconds": time.perf_counter() - started}


def _send_digests(runtime, runner: EmbeddedRunner, clock: FixedClock) -> dict:
    """At the reference time: route what is left (late deliveries), check freshness,
    compose the digests and alerts that are due and send them to the outbox channel."""
    from digests.send import channel_for, deliver_due, policy_for
    from thresholds.freshness import watch_freshness
    from veille.store import alerts as alert_store
    from veille.store import notifications

    runner.run_pending()
    _clear(runtime.workspace.outbox)  # files of an earlier demo would mislead
    now = clock.now()
    watch_freshness(now, routing=runner.routing, engine=runtime.engine)
    deliver_due(now, catalog=runtime.catalog, cells=runner.routing.cells,
                                   engine=runtime.engine, channel=channel_for(runtime.workspace),
                                   base_url=runtime.workspace.settings.base_url,
                                   policy=policy_for(runtime.workspace))
    with runtime.engine.connect() as conn:
        alerts = alert_store.list_alerts(conn)
        sent = notifications.list_digests(conn)
        log = notifications.log_entries(conn)
    return {"alerts": len(alerts),
            "digests_sent": sum(1 for d in sent if d["kind"] == "digest"
                                and d["status"] == "sent"),
            "messages_sent": sum(1 for d in sent if d["status"] == "sent"),
            "notifications": sum(1 for e in log if e["outcome"] == "delivered")}


def _print_score(console: Console, result: Score) -> None:
    table = Table("type / kind", "trouvées / found", "recall",
                  title="Détection contre la vérité terrain / detection vs ground truth "
                        "(changements de 3 écarts-types ou plus / changes >= 3 SD)")
    for kind, (found, total) in sorted(result.by_kind().items()):
        table.add_row(kind, f"{found}/{total}", f"{found / total:.2f}")
    table.add_row("toutes / all", "", f"{result.recall():.2f}")
    print_table(console, table)
    small = result.recall(include_small=True)
    console.print(f"Précision / precision: {result.precision:.2f} "
                  f"({result.true_shifts} vraies, {len(result.false_shifts)} fausses alertes); "
                  f"recall including small changes: {small:.2f}")
    console.print("Un territoire est un tirage (le rappel y varie par pas de 0,11) ; les "
                  "chiffres de la méthode sur dix territoires / one territory is one draw; the "
                  "method's figures over ten: python -m benchmarks.demo_power")
    for s in result.false_shifts[:10]:
        console.print(f"  fausse alerte / false alarm: {s['indicator']} {s['territory']} "
                      f"{s['period']} {s['kind']} q={s['q_value']:.3g}")


def _clear(folder: Path) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)


def _series_count(runtime) -> int:
    from sqlalchemy import distinct, func, select, tuple_

    from veille.store.schema import observations

    with runtime.engine.connect() as conn:
        query = select(func.count(distinct(tuple_(observations.c.indicator,
                                                  observations.c.territory))))
        if conn.dialect.name == "sqlite":
            sub = select(observations.c.indicator, observations.c.territory).distinct()
            query = select(func.count()).select_from(sub.subquery())
        return int(conn.execute(query).scalar() or 0)


def _print_summary(console: Console, workspace: Path, f: dict, quarantined: list) -> None:
    table = Table(title="Démonstration veille – territoire fictif / fictional territory",
                  show_header=False)
    table.add_row("Livraisons acceptées / accepted deliveries", str(f["accepted"]))
    table.add_row("Livraisons en quarantaine / quarantined", str(f["quarantined"]))
    table.add_row("Observations enregistrées / recorded", f"{f['observations']:,}")
    table.add_row("dont secret statistique / of which secret", f"{f['secret']:,}")
    table.add_row("Séries / series", f"{f['series']:,}")
    table.add_row("Territoires / territories", str(f["territories"]))
    table.add_row("Indicateurs / indicators", str(f["indicators"]))
    table.add_row("Révisions / revisions", str(f["revisions"]))
    table.add_row("Livraisons en retard / overdue", ", ".join(f["overdue"]) or "aucune")
    table.add_row("Évolutions détectées / shifts detected", str(f["shifts"]))
    table.add_row("Évolutions retirées / shifts retracted", str(f["retractions"]))
    table.add_row("Alertes / alerts", str(f["alerts"]))
    table.add_row("Digests envoyés / digests sent",
                  f"{f['digests_sent']} ({f['messages_sent']} messages, "
                  f"{f['notifications']} envois / sends)")
    table.add_row("Durée / duration", f"{f['seconds']:.1f} s")
    print_table(console, table)
    for row in quarantined:
        console.print(f"[yellow]Quarantaine[/yellow] {row.filename}: {row.report_path}")
    console.print(f"Boîte d'envoi / outbox: {workspace.resolve() / 'outbox'}")
    console.print(f"Espace de travail / workspace: {workspace.resolve()}\n"
                  f"  base: {workspace.resolve() / 'veille.db'}\n"
                  f"  archives: {workspace.resolve() / 'archive'}\n"
                  f"  vérité terrain / ground truth: {workspace.resolve() / 'ground_truth.yaml'}")
