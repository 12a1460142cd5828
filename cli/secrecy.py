"""CLI commands about statistical secrecy: the auditor and the persisted mask."""

from __future__ import annotations

from typing import Annotated

import numpy as np
import typer
from rich.table import Table

from cli.common import DEFAULT_WORKSPACE, WorkspaceOpt, console, open_workspace

secrecy_app = typer.Typer(help="Statistical secrecy: audit the published mask.",
                          no_args_is_help=True)


def audit(
    viewer: Annotated[str | None, typer.Option(
        help="ROLE/SCOPE: all (everything combined, the default), analyst, reader, "
             "ccas/COMMUNE, clspd/QUARTIER[,QUARTIER]; 'every' audits each one in turn.")
    ] = None,
    period: Annotated[str | None, typer.Option(
        help="Only the cells of this period (YYYY, YYYY-Qn or YYYY-MM).")] = None,
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """Recompute every hidden cell's feasible interval from exactly what a viewer can see
    (linear programming, HiGHS); print the cells below their protection level and exit 1
    if there is any."""
    from veille import secrecy_relations
    from veille.secrecy_audit import audit as run_audit
    from veille.secrecy_audit import parse_viewer, viewers
    from veille.store import masks
    from veille.store import observations as obs_store

    runtime = open_workspace(workspace)
    catalog = runtime.catalog
    chosen = (viewers(catalog) if viewer == "every"
              else [parse_viewer(viewer or "all", catalog)])
    with runtime.engine.begin() as conn:
        frame = obs_store.current(conn, indicators=sorted(catalog.indicators))
        if period is not None:
            frame = frame[frame["period"].str[:4] == period[:4]]
        hidden = masks.hidden(conn, catalog, sorted(catalog.indicators))
    frame = frame.reset_index(drop=True)
    masked = [k in hidden for k in zip(frame["indicator"], frame["territory"],
                                        frame["period"], strict=True)]
    cells = secrecy_relations.build(frame, catalog)
    failed = False
    summary = Table("lecteur / viewer", "cachées / hidden", "protégées / protected",
                    "sous le niveau / under", "exactes / pinned",
                    title="Audit du secret statistique / secrecy audit")
    for v in chosen:
        report = run_audit(frame, catalog, np.array(masked, dtype=bool), v, cells)
        under = [f for f in report.under if period is None or f.key[2] == period]
        summary.add_row(report.viewer, f"{report.hidden:,}", f"{report.protected_cells:,}",
                        f"{len(under):,}", f"{report.pinned:,}")
        if under or report.shown_primary:
            failed = True
            detail = Table("indicateur", "territoire", "période", "intervalle", "niveau",
                           title=f"Cellules sous-protégées / under-protected ({report.viewer})")
            for f in under[:50]:
                detail.add_row(f.key[0], f.key[1], f.key[2],
                               f"[{f.lower:.1f} ; {f.upper:.1f}]", f"{f.protection:g}")
            console.print(detail)
            for key in report.shown_primary[:50]:
                console.print(f"publiée alors que secrète / shown though secret: {key}")
    console.print(summary)
    if failed:
        console.print("[red]Des valeurs cachées se déduisent de ce qui est publié.[/red]")
        raise typer.Exit(1)
    console.print("Aucune cellule cachée sous son niveau de protection / "
                  "no hidden cell under its protection level.")


def register(app: typer.Typer) -> None:
    """Attach the commands to the main ``veille`` app."""
    secrecy_app.command("audit")(audit)
    app.add_typer(secrecy_app, name="secrecy")
