"""The demonstration territory: a fictional agglomeration, its catalog, ten years of provider
deliveries with known changes, and the ground truth to score detection against.

``generate(workspace)`` writes ``catalog/``, ``inbox/`` (files numbered in arrival order),
``ground_truth.yaml`` and ``demo_manifest.yaml``; the same seed gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from demo.contours import contours_geojson
from demo.files import WRITERS, Cube
from demo.geography import EPCI_CODE, Geography, build_geography, links_csv, territories_csv
from demo.glossary import all_specs, glossary_yaml
from demo.history import PERIODS, Simulation, simulate
from demo.providers import CONVENTIONS, PROVIDERS, Conv, convention_yaml, providers_yaml
from demo.scenario import (
    REFERENCE_DATE,
    REVISION,
    Planned,
    calendar,
    cells_yaml,
    changes,
    pick,
)
from demo.subscriptions import subscriptions_yaml
from demo.truth import malform, truth_yaml, understate

__all__ = ["REFERENCE_DATE", "Delivery", "DemoManifest", "generate"]


@dataclass(frozen=True)
class Delivery:
    """One file of the inbox, in arrival order."""

    file: Path
    convention: str
    first_period: str
    last_period: str
    delivered_on: dt.date
    kind: str  # backfill, wave, revision, malformed, correction
    observations: int


@dataclass
class DemoManifest:
    """What ``generate`` wrote, and the fixed 'today' to run the demo with."""

    workspace: Path
    seed: int
    reference_date: dt.date
    deliveries: list[Delivery]
    counts: dict[str, int]
    ground_truth: Path
    catalog: Path = field(init=False)
    inbox: Path = field(init=False)

    def __post_init__(self) -> None:
        self.catalog = self.workspace / "catalog"
        self.inbox = self.workspace / "inbox"

    @property
    def reference_time(self) -> dt.datetime:
        """Noon UTC on the reference date: the clock the demo runs with."""
        return dt.datetime.combine(self.reference_date, dt.time(12, 0), tzinfo=dt.UTC)


def _display_names(geo: Geography) -> dict[str, str]:
    communes = dict(geo.communes)
    names = {code: geo.name_of(code) for code in geo.codes("iris", "qpv", "commune", "epci")}
    names.update({q.code: f"{communes[q.commune]}, {q.name}" for q in geo.quartiers})
    return names


def _cube(sim: Simulation, conv: Conv, periods: list[str], names: dict[str, str]) -> Cube:
    specs = [s for s in sim.specs.values() if s.provider == conv.provider]
    territories = sim.geo.codes(*conv.levels)
    levels = {c: kind for kind in conv.levels for c in sim.geo.codes(kind)}
    all_periods = PERIODS[conv.periodicity]
    cols = [all_periods.index(p) for p in periods]
    values = np.stack([sim.values(s.code, territories)[:, cols] for s in specs])
    base = np.stack([sim.base_counts(s.code, territories)[:, cols] for s in specs])
    limits = np.array([s.secrecy if s.secrecy is not None else conv.threshold for s in specs])
    secret = base < limits[:, None, None]
    return Cube(conv, specs, territories, names, levels, periods, values, secret)


def _write_catalog(root: Path, geo: Geography, sim: Simulation) -> None:
    (root / "conventions").mkdir(parents=True, exist_ok=True)
    specs = list(sim.specs.values())
    thresholds = {c.provider: c.threshold for c in CONVENTIONS}
    files = {
        "territories.csv": territories_csv(geo), "territory_links.csv": links_csv(geo),
        "glossary.yaml": glossary_yaml(specs, thresholds), "providers.yaml": providers_yaml(),
        "cells.yaml": cells_yaml(geo), "subscriptions.yaml": subscriptions_yaml(geo),
    }
    files.update({f"conventions/{c.id}.yaml": convention_yaml(c, specs) for c in CONVENTIONS})
    for name, text in files.items():
        (root / name).write_bytes(text.encode("utf-8"))


def generate(workspace: Path, *, seed: int = 2026) -> DemoManifest:
    """Write the demonstration workspace and return what is in it."""
    rng = np.random.default_rng(seed)
    geo = build_geography(rng)
    specs = all_specs()
    sim = simulate(geo, specs, changes(geo), rng)
    workspace.mkdir(parents=True, exist_ok=True)
    _write_catalog(workspace / "catalog", geo, sim)
    (workspace / "catalog" / "contours").mkdir(exist_ok=True)
    (workspace / "catalog" / "contours" / "demo.geojson").write_text(
        contours_geojson(geo, seed), encoding="utf-8")
    inbox = workspace / "inbox"
    inbox.mkdir(exist_ok=True)
    for old in inbox.iterdir():
        if old.is_file():
            old.unlink()

    jitter = {c.id: [int(x) for x in rng.integers(0, 8, size=len(PERIODS[c.periodicity]))]
              for c in CONVENTIONS}
    names = _display_names(geo)
    deliveries: list[Delivery] = []
    story: dict[str, dict] = {"revision": {"territory": pick(geo, "99005", False),
                                           "commune": "99005"}}
    for number, plan in enumerate(calendar(PERIODS, jitter), start=1):
        cube = _cube(sim, plan.conv, plan.periods, names)
        name = plan.conv.filename(number, plan.periods[0], plan.periods[-1], plan.suffix)
        (inbox / name).write_bytes(_file_bytes(plan, cube, story, name))
        deliveries.append(Delivery(inbox / name, plan.conv.id, plan.periods[0],
                                   plan.periods[-1], plan.delivered_on, plan.kind,
                                   int(cube.values.size)))
    valid = [d for d in deliveries if d.kind != "malformed"]
    counts = {
        "communes": len(geo.communes), "quartiers": len(geo.quartiers),
        "qpv": len(geo.qpv_links), "iris": len(geo.iris), "indicators": len(specs),
        "providers": len(PROVIDERS), "conventions": len(CONVENTIONS),
        "deliveries": len(deliveries),
        "expected_observations": sum(d.observations for d in valid),
        "distinct_observations": sum(d.observations for d in valid if d.kind != "revision"),
        "population": sum(q.population for q in geo.quartiers),
    }
    truth = workspace / "ground_truth.yaml"
    truth.write_text(truth_yaml(seed, geo, sim, story), encoding="utf-8")
    manifest = DemoManifest(workspace, seed, REFERENCE_DATE, deliveries, counts, truth)
    _write_manifest(manifest)
    return manifest


def _file_bytes(plan: Planned, cube: Cube, story: dict[str, dict], name: str) -> bytes:
    """The file's bytes. Two deliveries are faulty on purpose: the original of the revised
    period (a value understated, corrected later) and the malformed file."""
    writer = WRITERS[plan.conv.id]
    if plan.kind == "wave" and plan.conv.id == REVISION["convention"] and (
            plan.periods == [REVISION["period"]]):
        faulty, cells = understate(cube, story["revision"]["territory"],
                                  story["revision"]["commune"])
        story["revision"].update(original_file=name, cells=cells)
        return writer(faulty)
    if plan.kind == "revision":
        story["revision"]["file"] = name
    if plan.kind == "correction":
        story["malformed"]["replaced_by"] = name
    if plan.kind == "malformed":
        data, problems = malform(writer(cube))
        story["malformed"] = {"file": name, "problems": problems}
        return data
    return writer(cube)


def _write_manifest(m: DemoManifest) -> None:
    data = {
        "seed": m.seed, "reference_date": m.reference_date.isoformat(),
        "reference_time": m.reference_time.isoformat(), "epci": EPCI_CODE, "counts": m.counts,
        "deliveries": [{"file": d.file.name, "convention": d.convention,
                        "first_period": d.first_period, "last_period": d.last_period,
                        "delivered_on": d.delivered_on.isoformat(), "kind": d.kind,
                        "observations": d.observations} for d in m.deliveries],
    }
    (m.workspace / "demo_manifest.yaml").write_text(
        yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100), encoding="utf-8")
