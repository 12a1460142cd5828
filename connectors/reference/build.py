"""``veille init`` from end to end: read the reference files, build the tree, add the
infra-communal territories, write the starter catalog. The command line only shows it."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from connectors.reference.cog import read_cog
from connectors.reference.epci import read_epci
from connectors.reference.infra import Unit, read_iris, read_qpv, read_quartiers
from connectors.reference.names import area_names
from connectors.reference.population import Populations, read_populations
from connectors.reference.starter import Written, write_catalog
from connectors.reference.tables import ReferenceFileError
from connectors.reference.tree import Node, Tree, build_tree
from veille.maps.contours import CONTOURS_FOLDER
from veille.model import TerritoryKind


@dataclass(frozen=True)
class InitFiles:
    cog: Path
    epci: Path
    population: Path | None = None
    iris: Path | None = None
    qpv: Path | None = None
    quartiers: Path | None = None
    contours: tuple[Path, ...] = ()


@dataclass
class InitResult:
    tree: Tree
    infra: list[Node]
    written: Written
    populations: Populations | None
    notes: list[str] = field(default_factory=list)


Step = Callable[[str], None]


def init_workspace(workspace: Path, territories: list[str], files: InitFiles,
                   step: Step = lambda _: None) -> InitResult:
    """Build (or update) the workspace's catalog for ``territories``."""
    step("Lecture du COG (communes)")
    cog = read_cog(files.cog)
    step("Lecture des EPCI")
    epcis = read_epci(files.epci)
    populations = None
    if files.population is not None:
        step("Lecture des populations")
        populations = read_populations(files.population, cog)
    departements, regions, used = area_names(files.cog, files.epci)
    step("Construction de l'arbre des territoires")
    tree = build_tree(territories, cog, epcis, populations, departements, regions)
    notes = list(tree.notes)
    if not used:
        notes.append("Noms des départements et régions introuvables à côté des fichiers "
                     "--cog et --epci (departements.json, v_departement_AAAA.csv...) : "
                     "leur code tient lieu de nom.")
    if populations is not None and populations.unknown:
        notes.append(f"{len(populations.unknown)} code(s) du fichier de population absents "
                     f"du COG, ignorés (p. ex. {', '.join(populations.unknown[:3])}).")
    step("Territoires infra-communaux")
    infra = _infra(tree, files, notes)
    step("Écriture du catalogue")
    written = write_catalog(workspace, tree, infra, {
        "territory": territories, **{k: str(v) for k, v in vars(files).items()
                                     if v and k != "contours"}})
    for path in files.contours:  # read at load time, old codes through former_codes.csv
        target = workspace / "catalog" / CONTOURS_FOLDER / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    return InitResult(tree, infra, written, populations, notes)


def _infra(tree: Tree, files: InitFiles, notes: list[str]) -> list[Node]:
    """IRIS, quartiers and QPV of the workspace's communes (or arrondissements)."""
    places = {n.code: n for n in tree.nodes
              if n.kind in {TerritoryKind.COMMUNE.value, TerritoryKind.ARRONDISSEMENT.value}}
    out: list[Node] = []
    iris_quartier: dict[str, str] = {}
    if files.quartiers is not None:
        quartiers, iris_quartier = read_quartiers(files.quartiers)
        out += _inside(quartiers, places, "quartier", files.quartiers, notes)
    if files.iris is not None:
        units = [Unit(u.code, u.name, iris_quartier.get(u.code, u.parent), u.line)
                 for u in read_iris(files.iris)]
        out += _inside(units, places | {n.code: n for n in out}, "iris", files.iris, notes)
    if files.qpv is not None:
        communes = {c: n.name for c, n in places.items()}
        units, outside = read_qpv(files.qpv, communes)
        out += [Node(u.code, "qpv", u.name, u.parent) for u in units]
        notes.append(f"QPV : {len(units)} dans l'espace de travail, {len(outside)} hors de "
                     "lui (ignorés).")
        notes += [f"QPV {u.code} ({u.name}) s'étend aussi sur {', '.join(u.also_in)} : "
                  f"rattaché à {u.parent} ; précisez les parts dans territory_links.csv."
                  for u in units if u.also_in]
    seen: dict[str, Node] = {n.code: n for n in tree.nodes}
    for node in out:
        if node.code in seen:
            raise ReferenceFileError(Path(node.kind), f"code « {node.code} » déjà pris par "
                                     f"{seen[node.code].kind} {seen[node.code].name}")
        seen[node.code] = node
    return out


def _inside(units: list[Unit], places: dict[str, Node], kind: str, path: Path,
            notes: list[str]) -> list[Node]:
    """The units whose parent is in the workspace; the others are counted, not kept."""
    kept = [Node(u.code, kind, u.name, u.parent) for u in units if u.parent in places]
    if len(kept) < len(units):
        notes.append(f"{path.name} : {len(units) - len(kept)} {kind} hors de l'espace de "
                     "travail, ignoré(s).")
    return kept
