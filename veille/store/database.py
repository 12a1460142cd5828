"""Engines and migrations: the same schema on SQLite (default) and PostgreSQL.

A database fault the product can name (SQLite locked by another writer, the PostgreSQL
connection lost, a full disk) is raised as a named error by the engine itself, whichever
statement met it; the transaction it interrupted is rolled back whole.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.engine import ExceptionContext

from veille.errors import DiskFull, VeilleError

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
BUSY_TIMEOUT = 30.0
_PG_DISK_FULL = "53100"
_NEARLY_FULL = 1 << 20  # bytes


class StoreLocked(VeilleError):
    """SQLite: another process held the write lock for longer than the busy timeout."""

    hint = ("Attendez que l'autre commande se termine (ou arrêtez-la), puis relancez celle-ci : "
            "rien n'a été écrit à moitié. Pour attendre plus longtemps : "
            "busy_timeout_seconds dans veille.yaml.")


class StoreUnavailable(VeilleError):
    """PostgreSQL: the server could not be reached, or the connection was lost."""

    hint = ("Rien n'a été écrit à moitié : une transaction interrompue est annulée par le "
            "serveur. Vérifiez que PostgreSQL tourne et est joignable, puis relancez la même "
            "commande : elle reprendra où elle s'est arrêtée.")


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def _holders(path: Path) -> list[str]:
    """Other processes that have the database file open, read from /proc (Linux; empty
    elsewhere): one of them holds the write lock."""
    names = {str(path), f"{path}-wal", f"{path}-journal"}
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        if proc.name == str(os.getpid()):
            continue
        try:
            if not any(os.readlink(fd) in names for fd in (proc / "fd").iterdir()):
                continue
            command_line = (proc / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:  # gone meanwhile, or not ours to read
            continue
        shown = " ".join(command_line.decode(errors="replace").split())[:160]
        found.append(f"processus {proc.name} : {shown}")
    return found


def _nearly_full(path: Path) -> bool:
    """SQLite reports a full disk as an I/O error when it cannot even grow its WAL index."""
    try:
        return shutil.disk_usage(path.parent).free < _NEARLY_FULL
    except OSError:
        return False


def store_fault(engine: Engine, error: BaseException, *, disconnect: bool = False,
                connecting: bool = False) -> VeilleError | None:
    """The named error for a driver error met on ``engine`` (``disconnect``: the driver
    says the connection is gone; ``connecting``: it failed while opening one), or None if
    it has no name."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        name = getattr(error, "sqlite_errorname", "")
        path = Path(url.database or "")
        if name.startswith("SQLITE_BUSY"):
            holders = _holders(path)
            who = " Ouverte aussi par : " + " ; ".join(holders) + "." if holders else ""
            waited = url.query.get("timeout", "?")
            return StoreLocked(
                f"La base de données {path} est verrouillée : une autre écriture la tient "
                f"depuis plus de {waited} s ({_first_line(error)}).{who}")
        if name == "SQLITE_FULL" or (name.startswith("SQLITE_IOERR") and _nearly_full(path)):
            return DiskFull(f"Disque plein : la base de données {path} ne peut plus grandir "
                            f"({_first_line(error)}).")
        return None
    server = f"{url.host}:{url.port or 5432}" if url.host else "le socket local"
    if getattr(error, "sqlstate", None) == _PG_DISK_FULL:
        return DiskFull(f"Disque plein sur le serveur PostgreSQL {server} "
                        f"({_first_line(error)}).")
    where = f"la base PostgreSQL « {url.database} » sur {server}"
    if connecting:
        return StoreUnavailable(f"Impossible de joindre {where} ({_first_line(error)}).")
    if disconnect:
        return StoreUnavailable(f"La connexion à {where} a été perdue "
                                f"({_first_line(error)}).")
    return None


def _name_faults(context: ExceptionContext) -> None:
    """SQLAlchemy's error hook: raise the named error instead of the driver's."""
    if context.is_pre_ping or context.engine is None:
        return  # a failed pre-ping only makes the pool reconnect
    fault = store_fault(context.engine, context.original_exception,
                        disconnect=context.is_disconnect, connecting=context.connection is None)
    if fault is not None:
        raise fault from context.original_exception


def make_engine(url: str, *, busy_timeout: float = BUSY_TIMEOUT) -> Engine:
    """An engine tuned per dialect (SQLite: WAL, foreign keys, a busy timeout: how long a
    write waits for another process's write before StoreLocked; a ``timeout`` already in
    the URL wins)."""
    if url.startswith("sqlite"):
        sqlite_url = make_url(url)
        if "timeout" not in sqlite_url.query:
            sqlite_url = sqlite_url.update_query_dict({"timeout": f"{busy_timeout:g}"})
        engine = create_engine(sqlite_url)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA cache_size=-262144")  # 256 MiB: bulk index writes
            cursor.close()

    else:
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        engine = create_engine(url, pool_pre_ping=True)
    event.listen(engine, "handle_error", _name_faults)
    return engine


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(engine: Engine) -> None:
    """Bring the database to the latest schema (idempotent). Each area (alerts, review...)
    may add its own branch of migrations from the core; all heads are applied."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")
