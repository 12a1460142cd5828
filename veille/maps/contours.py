"""Territory outlines from ``catalog/contours/*.geojson``, checked against the catalog.

The files are optional: without them nothing is drawn. Each feature carries its territory's
code in one of the usual properties (``code``, ``code_insee``, ``code_iris``, ``code_qp``...)
and a Polygon or MultiPolygon in longitude/latitude (WGS84, as RFC 7946 GeoJSON is).
A commune merged since the contours were drawn (IGN 2018 outlines, say) appears under its
old code: the catalog's ``former_codes.csv`` (COG COMD/COMA) maps it to today's commune,
whose outline is the union of its former ones.

An invalid geometry (a self-touching ring, a bow tie) is repaired with shapely's
``make_valid`` and the repair is reported; a feature that cannot give an area (no geometry,
a point, coordinates that are not longitude/latitude) is refused, with its file and code.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity

from veille.catalog import Catalog
from veille.model import TerritoryKind

CONTOURS_FOLDER = "contours"
CODE_PROPERTIES = ("code", "code_insee", "insee_com", "codgeo", "code_iris", "code_qp",
                   "code_qpv", "insee")
DRAWN_KINDS = (TerritoryKind.COMMUNE, TerritoryKind.ARRONDISSEMENT, TerritoryKind.QUARTIER,
               TerritoryKind.QPV, TerritoryKind.IRIS)
"""Kinds a map draws; larger territories (EPCI, département) are the union of communes."""


@dataclass(frozen=True)
class ContourIssue:
    """One feature repaired or refused: where it is and what was wrong, in French."""

    file: str
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}, contour '{self.code}' : {self.message}"


@dataclass
class ContourReport:
    """What ``veille check`` says about the contours against territories.csv."""

    files: list[str] = field(default_factory=list)
    missing: dict[str, list[str]] = field(default_factory=dict)
    """Kind -> codes of territories.csv without a contour."""
    unknown: list[str] = field(default_factory=list)
    """Codes of contours that are neither a territory nor a former code."""
    merged: dict[str, list[str]] = field(default_factory=dict)
    """Today's commune -> the former codes whose outlines were joined into it."""
    repaired: list[ContourIssue] = field(default_factory=list)
    refused: list[ContourIssue] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The report in French, one line per finding (empty without contour files)."""
        if not self.files:
            return []
        out = [f"Contours : {len(self.files)} fichier(s) ({', '.join(self.files)})."]
        for kind, codes in self.missing.items():
            out.append(f"  {len(codes)} {TerritoryKind(kind).label_fr}(s) sans contour "
                       f"(p. ex. {', '.join(codes[:5])})")
        if self.unknown:
            out.append(f"  {len(self.unknown)} contour(s) sans territoire dans "
                       f"territories.csv, ignorés (p. ex. {', '.join(self.unknown[:5])})")
        if self.merged:
            olds = sum(len(v) for v in self.merged.values())
            out.append(f"  {olds} ancien(s) code(s) de communes fusionnées réunis dans "
                       f"{len(self.merged)} commune(s) d'aujourd'hui (former_codes.csv)")
        out += [f"  réparé : {issue}" for issue in self.repaired]
        out += [f"  refusé : {issue}" for issue in self.refused]
        return out


@dataclass
class Contours:
    """Valid outlines in longitude/latitude, keyed by today's territory code."""

    shapes: dict[str, BaseGeometry]
    report: ContourReport


def feature_code(properties: dict[str, Any]) -> str | None:
    """The territory code of a feature, from the first usual property it has."""
    lowered = {str(k).lower(): v for k, v in (properties or {}).items()}
    for key in CODE_PROPERTIES:
        value = lowered.get(key)
        if value not in (None, ""):
            return str(value).strip()
    return None


def polygonal(geometry: BaseGeometry) -> BaseGeometry:
    """The areal part of a geometry (make_valid may add lines or points to a collection)."""
    parts = [g for g in shapely.get_parts(geometry)
             if g.geom_type in ("Polygon", "MultiPolygon") and not g.is_empty]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def _in_lon_lat(geometry: BaseGeometry) -> bool:
    minx, miny, maxx, maxy = geometry.bounds
    return -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90


def read_geometry(raw: Any, file: str, code: str, report: ContourReport
                  ) -> BaseGeometry | None:
    """A valid polygonal geometry from a GeoJSON geometry, repaired if it must be, or None
    with the reason in ``report.refused``."""
    def refuse(message: str) -> None:
        report.refused.append(ContourIssue(file, code, message))

    if not isinstance(raw, dict) or raw.get("type") not in ("Polygon", "MultiPolygon"):
        kind = raw.get("type") if isinstance(raw, dict) else "aucune"
        refuse(f"géométrie {kind} : attendu un Polygon ou un MultiPolygon")
        return None
    try:
        geometry = shape(raw)
    except (ValueError, TypeError, AttributeError, IndexError) as exc:
        refuse(f"coordonnées illisibles ({exc}) : corrigez ou retirez ce contour")
        return None
    if geometry.is_empty:
        refuse("géométrie vide : retirez ce contour ou donnez son tracé")
        return None
    if not _in_lon_lat(geometry):
        refuse("coordonnées hors des longitudes/latitudes : le GeoJSON doit être en WGS84 "
               "(EPSG:4326) ; reprojetez le fichier (ogr2ogr -t_srs EPSG:4326)")
        return None
    if geometry.is_valid:
        return geometry
    reason = explain_validity(geometry)
    repaired = polygonal(shapely.make_valid(geometry))
    if repaired.is_empty or repaired.area < 1e-12:
        refuse(f"géométrie invalide ({reason}) et irréparable : elle n'enclôt aucune "
               "surface ; redessinez ce contour")
        return None
    report.repaired.append(ContourIssue(file, code, f"géométrie invalide ({reason}), "
                                                   "réparée à la lecture (make_valid)"))
    return repaired


def read_contours(paths: list[Path], catalog: Catalog) -> Contours:
    """Read ``paths`` and key their outlines by today's territory codes of ``catalog``."""
    report = ContourReport(files=[p.name for p in paths])
    pieces: dict[str, list[BaseGeometry]] = defaultdict(list)
    unknown: set[str] = set()
    for path in paths:
        try:
            data = json.loads(path.read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            report.refused.append(ContourIssue(path.name, "*", f"fichier illisible ({exc}) : "
                                               "attendu un GeoJSON FeatureCollection"))
            continue
        features = data.get("features") if isinstance(data, dict) else None
        if not isinstance(features, list):
            report.refused.append(ContourIssue(path.name, "*", "pas de liste 'features' : "
                                               "attendu un GeoJSON FeatureCollection"))
            continue
        for number, feature in enumerate(features, start=1):
            if not isinstance(feature, dict):
                continue
            code = feature_code(feature.get("properties") or {})
            if code is None:
                report.refused.append(ContourIssue(
                    path.name, f"n° {number}", "aucun code de territoire (propriété code, "
                    "code_insee, code_iris ou code_qp attendue)"))
                continue
            today = code if code in catalog.territories else catalog.former_codes.get(code)
            if today is None:
                unknown.add(code)
                continue
            geometry = read_geometry(feature.get("geometry"), path.name, code, report)
            if geometry is None:
                continue
            pieces[today].append(geometry)
            if today != code:
                report.merged.setdefault(today, []).append(code)
    shapes = {code: parts[0] if len(parts) == 1 else shapely.union_all(parts)
              for code, parts in pieces.items()}
    report.unknown = sorted(unknown)
    for kind in DRAWN_KINDS:
        codes = sorted(t.code for t in catalog.territories.values()
                       if t.kind is kind and t.code not in shapes)
        if codes and any(catalog.territories[c].kind is kind for c in shapes):
            report.missing[kind.value] = codes
    for olds in report.merged.values():
        olds.sort()
    return Contours(shapes, report)


def contour_files(catalog: Catalog) -> list[Path]:
    """The catalog's contour files, sorted (none when the folder is absent)."""
    return sorted((catalog.root / CONTOURS_FOLDER).glob("*.geojson"))


def load_contours(catalog: Catalog) -> Contours:
    """The catalog's contours (empty when it has none)."""
    return read_contours(contour_files(catalog), catalog)
