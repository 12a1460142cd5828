"""The store's natural keys, and what to say when existing rows break one.

An observation is unique by (series, period, delivery): indicator, territory, period and
delivery id. A delivery is unique by its content hash. Both are enforced by the database
itself (a unique index, a unique constraint), so that two processes racing on one file can
never write it twice, whatever the runner.
"""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from veille.errors import VeilleError
from veille.store.schema import observations

OBSERVATION_KEY = ("indicator", "territory", "period", "delivery_id")
DEDUPE_SQL = ("DELETE FROM observations WHERE id NOT IN (SELECT MIN(id) FROM observations "
              "GROUP BY indicator, territory, period, delivery_id)")
SHOWN = 5


class DuplicateKeys(VeilleError):
    """Rows already stored break a key the migration is about to enforce. The message says
    how many, gives examples and what to do; nothing was changed."""

    hint = (f"Gardez une ligne par clé (la première enregistrée), par exemple : {DEDUPE_SQL}; "
            "puis relancez la commande : la contrainte sera posée.")


def duplicate_observations(conn: Connection) -> tuple[int, list[tuple[str, str, str, int, int]]]:
    """How many keys (series, period, delivery) hold more than one row, and a few of them
    as (indicator, territory, period, delivery id, rows)."""
    key = [observations.c[name] for name in OBSERVATION_KEY]
    groups = (select(*key, func.count().label("rows")).group_by(*key)
              .having(func.count() > 1).subquery())
    total = int(conn.execute(select(func.count()).select_from(groups)).scalar() or 0)
    examples = conn.execute(select(groups).order_by(*groups.c[:4]).limit(SHOWN)).all()
    return total, [(str(a), str(b), str(c), int(d), int(n)) for a, b, c, d, n in examples]


def refuse_duplicate_observations(conn: Connection) -> None:
    """Raise DuplicateKeys, in French, if observations already break their natural key."""
    total, examples = duplicate_observations(conn)
    if not total:
        return
    shown = " ; ".join(f"{ind} / {terr} / {period} / livraison {delivery} ({rows} lignes)"
                       for ind, terr, period, delivery, rows in examples)
    more = f" (et {total - len(examples)} autre(s))" if total > len(examples) else ""
    raise DuplicateKeys(
        f"La base contient {total} clé(s) d'observation en double (même série, période et "
        f"livraison), écrites par des ingestions concurrentes : {shown}{more}. La contrainte "
        "d'unicité ne peut pas être posée ; la base n'a pas été modifiée.")
