"""The review decision: confirm, dismiss (with a reason) or ask the provider.

One transaction writes the audit row, the shift's review status, the provider query (if
any) and the ``ShiftReviewed`` event, so the routing stage (``thresholds.route``) sees
exactly what the observatory decided: a confirmed shift reaches review-gated cells, a
dismissed one retracts the alerts it raised. The portrait reads ``review_status``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import Engine

from veille.events import ShiftReviewed
from veille.store import reviews as review_store
from veille.store import shifts as shift_store
from veille.store.outbox import record_event

DECISIONS = {"confirmed": "confirmer", "dismissed": "écarter", "queried": "interroger le "
                                                                          "fournisseur"}
STATUS_FR = {"pending": "à revoir", "confirmed": "confirmée", "dismissed": "écartée",
             "queried": "en question auprès du fournisseur"}
REASONS = {
    "provider_error": "erreur du fournisseur",
    "definition_change": "changement de définition",
    "known_local_event": "événement local connu",
    "noise": "bruit statistique",
    "geography_change": "changement de géographie",
    "other": "autre raison",
}


# Why a decision is refused, by code: the code travels in the page's URL, the French text
# is looked up on the way back (``review.flash``), so no text of a URL reaches a page.
DECISION_ERRORS = {
    "decision-inconnue": "décision inconnue",
    "motif-requis": "écarter une évolution demande un motif",
    "motif-inconnu": "motif inconnu",
    "question-requise": "interroger le fournisseur demande une question (commentaire)",
    "evolution-inconnue": "évolution inconnue",
    "evolution-retiree": "cette évolution a été retirée après une révision des données : "
                         "elle ne se revoit plus",
}


class DecisionError(ValueError):
    """A decision that cannot be recorded: ``code`` is a key of DECISION_ERRORS, the
    message its French text (shown to the analyst)."""

    def __init__(self, code: str) -> None:
        super().__init__(DECISION_ERRORS[code])
        self.code = code


def decide(engine: Engine, shift_id: str, decision: str, *, reviewer: str, now: dt.datetime,
           reason: str | None = None, comment: str = "") -> ShiftReviewed:
    """Record one decision (a later one revises it; the trail keeps both)."""
    if decision not in DECISIONS:
        raise DecisionError("decision-inconnue")
    reason = reason or None
    if decision == "dismissed" and reason not in REASONS:
        raise DecisionError("motif-requis")
    if decision != "dismissed" and reason is not None and reason not in REASONS:
        raise DecisionError("motif-inconnu")
    comment = comment.strip()
    if decision == "queried" and not comment:
        raise DecisionError("question-requise")
    with engine.begin() as conn:
        shift = shift_store.get(conn, shift_id)
        if shift is None:
            raise DecisionError("evolution-inconnue")
        if shift["status"] != "active":
            raise DecisionError("evolution-retiree")
        review_store.add_decision(conn, shift_id=shift_id, decision=decision, reason=reason,
                                  comment=comment, reviewer=reviewer, at=now,
                                  previous_status=shift["review_status"])
        if decision == "queried":
            review_store.open_query(conn, delivery_id=int(shift["delivery_id"]),
                                    shift_id=shift_id, question=comment, asked_by=reviewer,
                                    at=now)
        else:
            review_store.close_queries(conn, shift_id, reviewer, now)
        event = ShiftReviewed(occurred_at=now, shift_id=shift_id, decision=decision,
                              reviewer=reviewer, comment=comment)
        record_event(conn, event)
    return event


def decide_many(engine: Engine, shift_ids: Sequence[str], decision: str, *, reviewer: str,
                now: dt.datetime, reason: str | None = None, comment: str = "",
                ) -> tuple[list[str], dict[str, str]]:
    """Bulk decision for a wave: (decided ids, {id: code of why not}) — one refusal stops
    no other."""
    done: list[str] = []
    refused: dict[str, str] = {}
    for i, shift_id in enumerate(dict.fromkeys(shift_ids)):
        try:
            # distinct instants: the event key carries the time of the decision
            decide(engine, shift_id, decision, reviewer=reviewer,
                   now=now + dt.timedelta(microseconds=i), reason=reason, comment=comment)
            done.append(shift_id)
        except DecisionError as exc:
            refused[shift_id] = exc.code
    return done, refused
