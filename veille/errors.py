"""Faults the product can name. Each says, in French, what happened and where, and its
``hint`` says what to do; the command line prints both and exits 2 instead of a traceback.

Subclasses live with what they name: :class:`veille.config.SettingsError`,
:class:`veille.catalog.CatalogError`, :class:`veille.yamlfile.FileContentError`, the
store's :class:`veille.store.database.StoreLocked` and ``StoreUnavailable``; a full disk is
:class:`DiskFull`, whichever writer met it.
"""

from __future__ import annotations

import errno


class VeilleError(Exception):
    """A fault with a name: the message says what and where, ``hint`` what to do."""

    hint = "Corrigez ce qui est indiqué ci-dessus, puis relancez la commande."

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint


class DiskFull(VeilleError):
    """No space left where the product writes (archive, reports, history, outbox, store).
    Every write is atomic or transactional, so what was being written is simply absent."""

    hint = ("Libérez de la place sur ce disque, puis relancez la même commande : rien n'a "
            "été écrit à moitié et elle reprendra où elle s'est arrêtée.")

    @classmethod
    def from_os_error(cls, exc: OSError) -> DiskFull | None:
        """The named error for an OSError that means 'disk full' (or quota), else None."""
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            return None
        target = exc.filename2 or exc.filename  # a copy names its source, then its target
        where = f" en écrivant {target}" if target else ""
        return cls(f"Disque plein{where} ({exc.strerror}).")
