"""Draw the README's map: INSEE Filosofi 2023 poverty rates of the 320 communes of the
Loire on the IGN 2018 outlines, through the product's own path (``veille init --territory
42 --contours``, then ``veille.maps``). INSEE does not publish the rate of small communes:
those are hatched, as secret cells are in the portrait.

    PYTHONPATH=. python docs/loire_map.py   # writes docs/loire-pauvrete-2023.svg
"""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path

from connectors.reference.build import InitFiles, init_workspace
from veille.catalog import load_catalog
from veille.maps.contours import load_contours
from veille.maps.projection import project, simplify
from veille.maps.svg import Area, MapSpec, choropleth
from veille.model import Polarity

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[1] / "shared" / "data"
FILOSOFI = DATA / "loire-42-ssmsi-caf-filosofi-rouages" / "DERIVED_42_filosofi_2023.csv"
WIDTH = 640


def main() -> None:
    workspace = Path(tempfile.mkdtemp(prefix="veille-loire-map-")) / "ws"
    init_workspace(workspace, ["42"], InitFiles(
        DATA / "insee-cog-2025" / "v_commune_2025.csv", DATA / "insee-epci-2025" / "epci.json",
        contours=(DATA / "ign-communes-2018-geojson" / "communes-42-loire.geojson",)))
    catalog = load_catalog(workspace / "catalog")
    shapes = simplify(project(load_contours(catalog).shapes), WIDTH - 142)
    with FILOSOFI.open(encoding="utf-8", newline="") as handle:
        rates = {r["code_commune"]: r["taux_pauvrete_pct"]
                 for r in csv.DictReader(handle, delimiter=";")}
    areas = [Area(code, catalog.territories[code].name,
                  float(rates[code]) if rates.get(code) else None,
                  hidden=not rates.get(code)) for code in sorted(shapes)]
    svg = choropleth(areas, shapes, MapSpec(
        title="Taux de pauvreté (%), 2023", polarity=Polarity.UP_IS_BAD, uid="loire",
        source="Source : INSEE, Filosofi 2023 ; fond : IGN Admin Express 2018 (Lambert-93)",
        fmt=lambda v: f"{v:.0f} %", width=WIDTH, max_height=560))
    assert svg is not None
    target = HERE / "loire-pauvrete-2023.svg"
    target.write_text(svg, encoding="utf-8")
    print(f"{target}: {len(areas)} communes, {sum(a.hidden for a in areas)} non diffusées")


if __name__ == "__main__":
    main()
