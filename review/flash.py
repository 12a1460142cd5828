"""The banner after an action: a code in the query string (``?message=CODE``), its French
text here. Only codes travel in URLs, so a link sent by someone else cannot put words in
the site's mouth (``?message=Votre compte est suspendu, appelez le ...``): an unknown code
shows nothing. The only other values read back are counts (digits) and refusal codes.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import Request

from review.decide import DECISION_ERRORS, STATUS_FR

TEXTS: dict[str, str] = {
    "abonnement-enregistre": "Abonnement enregistré.",
    "abonnement-supprime": "Abonnement supprimé.",
    "abonnement-modifie": "Abonnement modifié.",
    **{f"decision-{status}": f"Décision enregistrée : {label}."
       for status, label in STATUS_FR.items()},
    **{f"refus-{code}": f"Refusé : {text}." for code, text in DECISION_ERRORS.items()},
    "file-terminee": "Décision enregistrée. Plus aucune évolution dans cette file.",
    "lot-confirmed": "{n} évolution(s) confirmée(s)",
    "lot-dismissed": "{n} évolution(s) écartée(s)",
    "relance-acceptee": "Livraison relancée : acceptée.",
    "relance-quarantaine": "Livraison relancée : toujours en quarantaine (voir ses problèmes).",
    "relance-refusee": "Relance refusée : cette livraison n'est pas en quarantaine.",
    "relance-catalogue": "Relance impossible : le catalogue a des erreurs (veille check).",
}


def url(path: str, code: str, *, n: int | None = None,
        refused: list[str] | None = None) -> str:
    """``path`` with the banner ``code`` (and, for a bulk decision, its count and the
    codes of its refusals)."""
    if code not in TEXTS:
        raise KeyError(f"unknown banner code {code!r}")
    query: dict[str, str] = {"message": code}
    if n is not None:
        query["n"] = str(n)
    if refused:
        query["refus"] = str(len(refused))
        query["motifs"] = ",".join(sorted(set(refused)))
    return f"{path}{'&' if '?' in path else '?'}{urlencode(query)}"


def _count(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) <= 6 else None


def text(request: Request) -> str | None:
    """The banner of this request: the text of a known code, or nothing."""
    params = request.query_params
    template = TEXTS.get(params.get("message") or "")
    if template is None:
        return None
    if "{n}" not in template:
        return template
    n = _count(params.get("n"))
    if n is None:
        return None
    out = template.format(n=n)
    refused = _count(params.get("refus"))
    if refused:
        reasons = [DECISION_ERRORS[c] for c in (params.get("motifs") or "").split(",")
                   if c in DECISION_ERRORS]
        out += f" ; {refused} refusée(s)" + (f" : {' ; '.join(reasons)}" if reasons else "")
    return out + "."
