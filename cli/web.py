"""CLI commands of the web side: serve the site, manage accounts, write the portrait."""

from __future__ import annotations

import datetime as dt
import getpass
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cli.common import DEFAULT_WORKSPACE, WorkspaceOpt, console, open_workspace
from cli.tables import print_table

users_app = typer.Typer(help="Comptes du site / web accounts (analyst, ccas, clspd, reader).",
                        no_args_is_help=True)


def serve(
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    host: Annotated[str, typer.Option(help="Address to listen on (a container: 0.0.0.0).")
                    ] = "127.0.0.1",
) -> None:
    """Serve the observatory's site (review queue, subscriptions, digests, portrait) on
    127.0.0.1; a review decision is routed to the cells at once."""
    import uvicorn

    from review.app import create_app
    from streams.embedded import EmbeddedRunner

    runtime = open_workspace(workspace)
    runner = EmbeddedRunner(runtime.workspace, runtime.catalog, runtime.engine, runtime.clock)
    app = create_app(runtime, after_decision=runner.run_pending, warm=True)
    console.print(f"Site de l'observatoire : http://{host}:{port}/ (Ctrl+C pour arrêter)")
    base = runtime.workspace.settings.base_url
    if base.startswith(("http://127.0.0.1:", "http://localhost:")) and not base.rstrip(
            "/").endswith(f":{port}"):
        console.print(f"[yellow]Les liens des synthèses pointent vers {base} (base_url de "
                      f"veille.yaml), pas vers ce port : corrigez base_url.[/yellow]")
    uvicorn.run(app, host=host, port=port, log_level="warning")


def users_add(
    username: Annotated[str, typer.Argument(help="Login.")],
    role: Annotated[str, typer.Option(help="analyst, ccas, clspd or reader.")],
    commune: Annotated[str | None, typer.Option(help="ccas / clspd: the commune code.")
                       ] = None,
    scope: Annotated[list[str] | None, typer.Option(
        help="clspd: neighbourhood codes (default: every neighbourhood of the commune).")
                     ] = None,
    name: Annotated[str | None, typer.Option(help="Name shown in the site.")] = None,
    password: Annotated[str | None, typer.Option(
        envvar="VEILLE_PASSWORD", help="Password (default: asked; env VEILLE_PASSWORD).")
                        ] = None,
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """Create a web account (password stored as an argon2 hash)."""
    from review.auth import AccountError, create_user

    runtime = open_workspace(workspace)
    secret = password or getpass.getpass("Mot de passe / password: ")
    try:
        create_user(runtime.engine, runtime.catalog, username=username, password=secret,
                    role=role, display_name=name, commune=commune, scope=scope,
                    now=dt.datetime.now(dt.UTC))
    except AccountError as exc:
        console.print(f"[red]Refusé / refused:[/red] {exc}")
        raise typer.Exit(2) from exc
    console.print(f"Compte '{username}' créé / created ({role}).")


def users_list(workspace: WorkspaceOpt = DEFAULT_WORKSPACE) -> None:
    """List web accounts with their role, territory and whether they may log in."""
    from veille.store import users as user_store

    runtime = open_workspace(workspace)
    table = Table("compte / login", "nom", "rôle / role", "commune", "quartiers / scope",
                  "actif / active")
    with runtime.engine.connect() as conn:
        for row in user_store.list_users(conn):
            table.add_row(row["username"], row["display_name"], row["role"],
                          row["commune"] or "", ", ".join(row["scope"] or []),
                          "oui" if row["active"] else "non (désactivé)")
    print_table(console, table)


LoginArg = Annotated[str, typer.Argument(help="Login of the account.")]


def _refused(exc: Exception) -> typer.Exit:
    console.print(f"[red]Refusé :[/red] {exc}")
    return typer.Exit(2)


def users_disable(username: LoginArg, workspace: WorkspaceOpt = DEFAULT_WORKSPACE) -> None:
    """Disable an account: no more logins, and its open sessions end at once.

    The account and its history stay; `veille users enable` lets it in again."""
    from review.auth import AccountError, set_active

    runtime = open_workspace(workspace)
    try:
        ended = set_active(runtime.engine, username, False, runtime.clock.now())
    except AccountError as exc:
        raise _refused(exc) from exc
    console.print(f"Compte '{username}' désactivé ; {ended} session(s) ouverte(s) fermée(s).")


def users_enable(username: LoginArg, workspace: WorkspaceOpt = DEFAULT_WORKSPACE) -> None:
    """Enable a disabled account again (it logs in with its current password)."""
    from review.auth import AccountError, set_active

    runtime = open_workspace(workspace)
    try:
        set_active(runtime.engine, username, True, runtime.clock.now())
    except AccountError as exc:
        raise _refused(exc) from exc
    console.print(f"Compte '{username}' réactivé.")


def users_passwd(
    username: LoginArg,
    password: Annotated[str | None, typer.Option(
        envvar="VEILLE_PASSWORD", help="New password, 8 characters or more (default: asked "
                                       "twice; env VEILLE_PASSWORD).")] = None,
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """Change an account's password; every open session of the account ends at once."""
    from review.auth import AccountError, change_password

    runtime = open_workspace(workspace)
    if password is None:
        password = getpass.getpass("Nouveau mot de passe : ")
        if getpass.getpass("Le même, encore une fois : ") != password:
            raise _refused(ValueError("les deux saisies diffèrent ; rien n'a changé"))
    try:
        ended = change_password(runtime.engine, username, password, runtime.clock.now())
    except AccountError as exc:
        raise _refused(exc) from exc
    console.print(f"Mot de passe du compte '{username}' changé ; {ended} session(s) "
                  "ouverte(s) fermée(s).")


def portrait(
    period: Annotated[str, typer.Option(help="The year of the portrait, e.g. 2025.")],
    out: Annotated[Path | None, typer.Option(help="Folder (default: <workspace>/portrait).")
                   ] = None,
    pdf: Annotated[bool, typer.Option("--pdf/--no-pdf", help="Also write the PDF.")] = True,
    territory: Annotated[str | None, typer.Option(
        help="The EPCI, département or région of the portrait (default: the first EPCI); "
             "its files go to <out>/<code>.")] = None,
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
) -> None:
    """Write the portrait de territoire (agglomeration, commune and neighbourhood notes,
    confirmed shifts only, glossary) as HTML and PDF."""
    from portrait.build import PortraitError, build_portrait
    from portrait.render import write_portrait

    runtime = open_workspace(workspace)
    started = time.perf_counter()
    try:
        with runtime.engine.connect() as conn:
            built = build_portrait(conn, runtime.catalog, period, now=runtime.clock.now(),
                                   root=territory)
    except PortraitError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    folder = out or runtime.workspace.root / "portrait"
    paths = write_portrait(built, folder / territory if territory else folder, pdf=pdf)
    console.print(f"Portrait {period} – {built.agglomeration.territory.name} : "
                  f"{len(built.communes)} communes, "
                  f"{len(built.all_shifts())} évolution(s) confirmée(s), "
                  f"{len(built.glossary)} indicateurs au glossaire "
                  f"({time.perf_counter() - started:.1f} s)")
    for kind, path in paths.items():
        console.print(f"  {kind}: {path}")


def register(app: typer.Typer) -> None:
    """Attach the commands to the main ``veille`` app."""
    app.command("serve")(serve)
    app.command("portrait")(portrait)
    users_app.command("add")(users_add)
    users_app.command("list")(users_list)
    users_app.command("disable")(users_disable)
    users_app.command("enable")(users_enable)
    users_app.command("passwd")(users_passwd)
    app.add_typer(users_app, name="users")
