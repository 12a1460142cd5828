"""The fictional agglomeration of the demonstration: communes, quartiers, IRIS and QPV.

Everything here is invented (department 99 does not exist) so that nobody mistakes the
demonstration for real figures. Simulation happens at IRIS level; every other territory is an
aggregate of IRIS, so provider files are consistent across levels.
"""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass, field

import numpy as np

from veille import csv_safe

EPCI_CODE = "299000001"
EPCI_NAME = "Communauté d'agglomération du Val-Fictif (territoire de démonstration)"

# (code, name, quartier names); the first quartiers of the larger communes are QPV.
_COMMUNES: list[tuple[str, str, list[str]]] = [
    ("99001", "Fictiville", ["Centre-ville", "Les Tilleuls", "La Gare", "Les Hauts-de-Fictiville",
                             "Le Moulin", "Bel-Air"]),
    ("99002", "Saint-Imaginaire", ["Le Bourg", "La Source", "Les Peupliers", "Champ-Fleuri",
                                   "La Croix-Blanche"]),
    ("99003", "Bourg-sur-Chimère", ["Centre", "Les Érables", "La Plaine", "Le Val"]),
    ("99004", "Montrêve", ["Vieux-Montrêve", "Les Coteaux", "La Résidence", "Les Vergers"]),
    ("99005", "Val-d'Utopie", ["Le Village", "Les Prés", "La Fontaine"]),
    ("99006", "La Fable-sur-Orme", ["Le Port", "Les Jardins", "Les Acacias"]),
    ("99007", "Songeville", ["Centre-bourg", "Les Sablons", "Le Parc"]),
    ("99008", "Mirage-les-Bains", ["Le Bourg", "Les Thermes"]),
]
_QPV_QUARTIERS = {("99001", 1), ("99001", 3), ("99002", 1), ("99002", 3), ("99003", 1),
                  ("99004", 2), ("99006", 1)}


@dataclass(frozen=True)
class Quartier:
    code: str
    name: str
    commune: str
    population: int
    deprivation: float
    qpv: str | None


@dataclass(frozen=True)
class Iris:
    code: str
    name: str
    quartier: str
    commune: str
    population: int


@dataclass
class Geography:
    """Territories of the demo plus the IRIS -> territory weights used to aggregate."""

    communes: list[tuple[str, str]]
    quartiers: list[Quartier]
    iris: list[Iris]
    qpv_links: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    qpv_names: dict[str, str] = field(default_factory=dict)

    def weights(self, codes: list[str]) -> np.ndarray:
        """Matrix (territory x IRIS): 1 for tree membership, the share for a QPV."""
        index = {i.code: n for n, i in enumerate(self.iris)}
        out = np.zeros((len(codes), len(self.iris)))
        for row, code in enumerate(codes):
            if code == EPCI_CODE:
                out[row, :] = 1.0
            elif code in self.qpv_links:
                for iris_code, share in self.qpv_links[code]:
                    out[row, index[iris_code]] = share
            else:
                for i in self.iris:
                    if code in (i.code, i.quartier, i.commune):
                        out[row, index[i.code]] = 1.0
        return out

    def ancestors(self, code: str) -> list[str]:
        """Commune and EPCI above a quartier or IRIS (the levels a change shows up in)."""
        for q in self.quartiers:
            if code in (q.code, *(i.code for i in self.iris if i.quartier == q.code)):
                return [q.commune, EPCI_CODE]
        return [EPCI_CODE] if code in dict(self.communes) else []

    def name_of(self, code: str) -> str:
        names = {EPCI_CODE: "CA du Val-Fictif", **dict(self.communes), **self.qpv_names}
        names.update({q.code: q.name for q in self.quartiers})
        names.update({i.code: i.name for i in self.iris})
        return names[code]

    def codes(self, *kinds: str) -> list[str]:
        """Codes in delivery order: finest level first, then communes, then the EPCI."""
        out: list[str] = []
        for kind in kinds:
            if kind == "iris":
                out += [i.code for i in self.iris]
            elif kind == "quartier":
                out += [q.code for q in self.quartiers]
            elif kind == "qpv":
                out += list(self.qpv_links)
            elif kind == "commune":
                out += [c for c, _ in self.communes]
            elif kind == "epci":
                out.append(EPCI_CODE)
        return out


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def build_geography(rng: np.random.Generator) -> Geography:
    """Draw populations and deprivation for the fixed list of communes and quartiers."""
    communes: list[tuple[str, str]] = []
    quartiers: list[Quartier] = []
    iris: list[Iris] = []
    qpv_links: dict[str, list[tuple[str, float]]] = {}
    qpv_names: dict[str, str] = {}
    qpv_number = 0
    for commune, cname, names in _COMMUNES:
        communes.append((commune, cname))
        iris_number = 0
        commune_iris: list[Iris] = []
        for position, qname in enumerate(names):
            is_qpv = (commune, position) in _QPV_QUARTIERS
            population = int(rng.integers(3000, 8000) if is_qpv else rng.integers(400, 4600))
            deprivation = float(rng.uniform(0.72, 0.95) if is_qpv else rng.uniform(0.08, 0.6))
            code = f"{commune}-{_slug(qname)[:30]}".strip("-")
            qpv_code = None
            if is_qpv:
                qpv_number += 1
                qpv_code = f"QN099{qpv_number:02d}M"
                qpv_names[qpv_code] = f"{qname} ({cname})"
            quartiers.append(Quartier(code, qname, commune, population, deprivation, qpv_code))
            n_iris = 1 if population < 1500 else (2 if population < 4000 else 3)
            split = rng.dirichlet(np.full(n_iris, 6.0))
            pops = np.floor(split * population).astype(int)
            pops[0] += population - pops.sum()
            members = []
            for k in range(n_iris):
                iris_number += 1
                suffix = f" {k + 1}" if n_iris > 1 else ""
                item = Iris(f"{commune}{iris_number:04d}", f"{qname}{suffix}", code, commune,
                            int(pops[k]))
                iris.append(item)
                commune_iris.append(item)
                members.append(item)
            if qpv_code is not None:
                links = [(m.code, 1.0 if k == 0 else round(float(rng.uniform(0.45, 0.9)), 2))
                         for k, m in enumerate(members)]
                qpv_links[qpv_code] = links
        # Each QPV also straddles a slice of an IRIS of the next quartier, as real ones do.
        for q in quartiers:
            others = [i for i in commune_iris if i.quartier != q.code]
            if q.commune == commune and q.qpv and others:
                share = round(float(rng.uniform(0.1, 0.3)), 2)
                qpv_links[q.qpv].append((others[0].code, share))
    return Geography(communes, quartiers, iris, qpv_links, qpv_names)


def territories_csv(geo: Geography) -> str:
    """territories.csv as catalog.load_catalog reads it (';', one row per territory)."""
    buf = io.StringIO()
    writer = csv_safe.writer(buf, delimiter=";", lineterminator="\n")
    writer.writerow(["code", "kind", "name", "parent", "population"])
    total = sum(q.population for q in geo.quartiers)
    writer.writerow([EPCI_CODE, "epci", EPCI_NAME, "", total])
    for code, name in geo.communes:
        pop = sum(q.population for q in geo.quartiers if q.commune == code)
        writer.writerow([code, "commune", name, EPCI_CODE, pop])
    for q in geo.quartiers:
        writer.writerow([q.code, "quartier", q.name, q.commune, q.population])
    for qpv, links in geo.qpv_links.items():
        by_code = {i.code: i for i in geo.iris}
        pop = round(sum(by_code[c].population * s for c, s in links))
        commune = by_code[links[0][0]].commune
        writer.writerow([qpv, "qpv", f"QPV {geo.qpv_names[qpv]}", commune, pop])
    for i in geo.iris:
        writer.writerow([i.code, "iris", i.name, i.quartier, i.population])
    return buf.getvalue()


def links_csv(geo: Geography) -> str:
    """territory_links.csv: child = IRIS, parent = QPV, share = part of the IRIS in the QPV."""
    buf = io.StringIO()
    writer = csv_safe.writer(buf, delimiter=";", lineterminator="\n")
    writer.writerow(["child", "parent", "share"])
    for qpv, links in geo.qpv_links.items():
        for iris_code, share in links:
            writer.writerow([iris_code, qpv, f"{share:.2f}"])
    return buf.getvalue()
