"""The workspace's territory tree from the reference files: région > département > EPCI >
commune > arrondissement municipal, for the territories the analyst asked for.

An EPCI enters the tree only when all its member communes are in the workspace (a
département-wide workspace holds the EPCI that straddle its border only if it holds their
other communes too); otherwise its communes hang from their département. An EPCI's
département is the one holding most of its communes (the tree has one parent per node).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from connectors.reference.cog import Cog
from connectors.reference.epci import Epci
from connectors.reference.population import Populations
from veille.errors import VeilleError

_DEPARTEMENT = re.compile(r"^(\d{2}|2[AB]|97\d)$")


def region_code(insee: str) -> str:
    """A région's code in the tree: INSEE's two digits after an R (R84), since région and
    département codes overlap (11 is Île-de-France and the Aude)."""
    return f"R{insee}"


class UnknownTerritory(VeilleError):
    """A --territory code that is no EPCI, département or commune of the reference files."""

    hint = ("Donnez un SIREN d'EPCI (9 chiffres), un code de département (42, 2A, 974) ou "
            "un code commune INSEE (5 caractères) présents dans les fichiers --cog et --epci.")


@dataclass(frozen=True)
class Node:
    code: str
    kind: str
    name: str
    parent: str | None


@dataclass
class Tree:
    """What ``veille init`` writes about territories, before any merge with the catalog."""

    nodes: list[Node] = field(default_factory=list)
    roots: list[str] = field(default_factory=list)
    populations: dict[str, dict[int, int]] = field(default_factory=dict)
    latest: dict[str, int] = field(default_factory=dict)
    former: list[tuple[str, str, str]] = field(default_factory=list)  # old, today, old name
    known: list[tuple[str, str, str]] = field(default_factory=list)  # code, kind, label
    notes: list[str] = field(default_factory=list)

    def count(self, kind: str) -> int:
        return sum(1 for n in self.nodes if n.kind == kind)


def build_tree(codes: list[str], cog: Cog, epcis: dict[str, Epci],
               populations: Populations | None, departement_names: dict[str, str],
               region_names: dict[str, str]) -> Tree:
    tree = Tree()
    # an EPCI file a year older than the COG lists merged communes under their old codes
    epcis = {k: Epci(e.code, e.name, tuple(dict.fromkeys(cog.today(m) or m for m in e.members)))
             for k, e in epcis.items()}
    selected = _select(codes, cog, epcis, tree)
    member_of = {m: e.code for e in epcis.values() for m in e.members}
    whole = [e for e in epcis.values()
             if e.members and all(m in selected for m in e.members)]
    partial = sorted({member_of[c] for c in selected if c in member_of} - {e.code for e in whole})
    for siren in partial:
        e = epcis[siren]
        tree.notes.append(f"EPCI {e.name} ({siren}) : {sum(m in selected for m in e.members)} "
                          f"commune(s) sur {len(e.members)} dans l'espace de travail ; "
                          "l'EPCI n'y est pas, ses communes dépendent de leur département.")
    in_tree = {e.code for e in whole}
    departements = sorted({cog.communes[c].departement for c in selected})
    regions = sorted({cog.communes[c].region for c in selected})
    for reg in regions:
        tree.nodes.append(Node(region_code(reg), "region",
                               region_names.get(reg, f"Région {reg}"), None))
    dep_region = {e.departement: e.region for e in cog.communes.values()}
    for dep in departements:
        tree.nodes.append(Node(dep, "departement",
                               departement_names.get(dep, f"Département {dep}"),
                               region_code(dep_region[dep])))
    for e in sorted(whole, key=lambda e: e.code):
        majority = Counter(cog.communes[m].departement for m in e.members)
        dep = min(majority, key=lambda d: (-majority[d], d))
        tree.nodes.append(Node(e.code, "epci", e.name, dep))
    for code in sorted(selected):
        entry = cog.communes[code]
        parent = member_of.get(code) if member_of.get(code) in in_tree else entry.departement
        tree.nodes.append(Node(code, "commune", entry.name, parent))
    for arm in sorted(cog.arrondissements.values(), key=lambda a: a.code):
        if arm.parent in selected:
            tree.nodes.append(Node(arm.code, "arrondissement", arm.name, arm.parent))
    for old, entry in sorted(cog.former.items()):
        if entry.parent in selected:
            tree.former.append((old, entry.parent, entry.name))
    _populations(tree, cog, epcis, populations)
    _known(tree, cog, epcis, departement_names, region_names, dep_region)
    return tree


def _select(codes: list[str], cog: Cog, epcis: dict[str, Epci], tree: Tree) -> set[str]:
    """Today's communes the asked codes stand for; unknown codes are refused all at once."""
    selected: set[str] = set()
    unknown: list[str] = []
    departements = {e.departement for e in cog.communes.values()}
    for raw in codes:
        code = raw.strip().upper()
        if code in epcis:
            members = set(epcis[code].members)
            absent = sorted(m for m in members if m not in cog.communes)
            if absent:
                raise UnknownTerritory(
                    f"L'EPCI {code} a des communes absentes du COG ({', '.join(absent[:5])}) : "
                    "les fichiers --cog et --epci ne sont pas du même millésime.")
            selected |= members
            tree.roots.append(code)
        elif _DEPARTEMENT.match(code) and code in departements:
            selected |= {c for c, e in cog.communes.items() if e.departement == code}
            tree.roots.append(code)
        elif code in cog.communes:
            selected.add(code)
            tree.roots.append(code)
        elif cog.today(code) is not None:
            today = cog.today(code) or code
            if today in cog.arrondissements:
                today = cog.arrondissements[today].parent
            tree.notes.append(f"{code} est l'ancien code ou un arrondissement de "
                              f"{cog.communes[today].name} ({today}) : la commune entière "
                              "est prise.")
            selected.add(today)
            tree.roots.append(today)
        else:
            unknown.append(raw)
    if unknown:
        raise UnknownTerritory(
            f"Territoire(s) inconnu(s) : {', '.join(unknown)} — ni SIREN d'EPCI du fichier "
            "--epci, ni département, ni commune du fichier --cog / unknown territory code(s).")
    tree.roots = list(dict.fromkeys(tree.roots))
    return selected


def _populations(tree: Tree, cog: Cog, epcis: dict[str, Epci],
                 populations: Populations | None) -> None:
    """Every node's population by year: communes and arrondissements from the file (a
    commune without its own row is the sum of its arrondissements), the areas above as sums
    over all their communes in France, whether in the workspace or not."""
    if populations is None:
        return
    by = populations.by_code
    years = populations.years
    commune_pop: dict[str, dict[int, int]] = {}
    arms: dict[str, list[str]] = {}
    for arm in cog.arrondissements.values():
        arms.setdefault(arm.parent, []).append(arm.code)
    for code in cog.communes:
        own = by.get(code) or _sum([by.get(a) for a in arms.get(code, [])], years)
        if own:
            commune_pop[code] = own
    groups: dict[str, list[str]] = {}
    for code, entry in cog.communes.items():
        groups.setdefault(entry.departement, []).append(code)
        groups.setdefault(region_code(entry.region), []).append(code)
    for e in epcis.values():
        groups[e.code] = list(e.members)
    for node in tree.nodes:
        if node.kind in {"commune", "arrondissement"}:
            series = commune_pop.get(node.code) if node.kind == "commune" else by.get(node.code)
        else:
            series = _sum([commune_pop.get(c) for c in groups.get(node.code, [])], years)
        if series:
            tree.populations[node.code] = series
            tree.latest[node.code] = series[max(series)]


def _sum(parts: list[dict[int, int] | None], years: list[int]) -> dict[int, int]:
    """Sums by year over the parts that have a figure: a commune restored after a split
    has none for the years when it was part of another, whose figure then held it."""
    present = [p for p in parts if p]
    return {y: sum(p[y] for p in present if y in p) for y in years
            if any(y in p for p in present)}


def _known(tree: Tree, cog: Cog, epcis: dict[str, Epci], departement_names: dict[str, str],
           region_names: dict[str, str], dep_region: dict[str, str]) -> None:
    """Every real code of the reference files that is not in the workspace."""
    mine = {n.code for n in tree.nodes} | {old for old, _, _ in tree.former}
    rows: list[tuple[str, str, str]] = []
    rows += [(region_code(r), "region", region_names.get(r, f"Région {r}"))
             for r in sorted(set(dep_region.values()))]
    rows += [(d, "departement", departement_names.get(d, f"Département {d}"))
             for d in sorted(dep_region)]
    rows += [(e.code, "epci", e.name) for e in sorted(epcis.values(), key=lambda e: e.code)]
    rows += [(c, "commune", e.name) for c, e in sorted(cog.communes.items())]
    rows += [(c, "arrondissement", e.name) for c, e in sorted(cog.arrondissements.items())]
    rows += [(c, "former_commune", f"{e.name} (aujourd'hui {e.parent})")
             for c, e in sorted(cog.former.items())]
    seen: set[str] = set()  # a code once, whatever its kinds
    for code, kind, label in rows:
        if code not in mine and code not in seen:
            seen.add(code)
            tree.known.append((code, kind, label))
