"""The ground truth of the demonstration, and the two deliberately faulty files it describes.

Scoring needs to know exactly what was injected, so every figure here comes from the same
arrays the files were written from.
"""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from typing import Any

import yaml

from demo.files import Cube
from demo.geography import EPCI_CODE, Geography
from demo.glossary import BREAK_INDICATOR, BREAK_JUMP, BREAK_NOTE, BREAK_PERIOD
from demo.history import COVID, PERIODS, TREND_HORIZON, Simulation, dependants
from demo.scenario import (
    BACKFILL_END,
    MALFORMED,
    REFERENCE_DATE,
    REVISION,
    late_delivery,
)
from veille import csv_safe
from veille.periods import shift

NOISE_SD = ("Standard deviation of the count at the change's territory and first period, "
            "from the model that generated it: Poisson (variance = mean), negative binomial "
            "(variance = mean + mean^2/k) or binomial thinning of another count, summed over "
            "the IRIS of the territory. size_sd = size_units / noise_sd. For a trend_change, "
            f"size is the deviation reached at the {TREND_HORIZON}th affected period "
            "(slope_units_per_period = size_units / 6, growing linearly and continuing).")


def understate(cube: Cube, quartier: str, commune: str) -> tuple[Cube, list[dict[str, Any]]]:
    """The first delivery of the revised period: one indicator understated by the same
    share in one quartier, its commune and the agglomeration, as a faulty extraction that
    lost part of the records would. The share is large (half) so that the faulty value is
    clearly news on its own wave, and the rectified one, the true value, is not."""
    i = [s.code for s in cube.specs].index(str(REVISION["indicator"]))
    values = cube.values.copy()
    share = float(REVISION["understatement"])
    cells = []
    for code in (quartier, commune, EPCI_CODE):
        t = cube.territories.index(code)
        corrected = int(values[i, t, 0])
        delivered = corrected - round(share * corrected)
        values[i, t, 0] = delivered
        cells.append({"indicator": REVISION["indicator"], "territory": code,
                      "delivered": delivered, "corrected": corrected})
    return replace(cube, values=values), cells


def malform(data: bytes) -> tuple[bytes, list[dict[str, Any]]]:
    """Break a police file the way people do: a letter O typed for a zero, and a row for a
    commune that is not in the agglomeration."""
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    header = rows[0]
    col = {name: n for n, name in enumerate(header)}
    bad = next(n for n, r in enumerate(rows[1:], start=1)
               if r[col["niveau"]] == "quartier" and r[col["classe"]] == MALFORMED["bad_class"]
               and r[col["est_diffuse"]] == "diff")
    original = rows[bad][col["faits"]]
    rows[bad][col["faits"]] = str(MALFORMED["bad_value"])
    after = max(n for n, r in enumerate(rows) if r[col["code_zone"]] == "99008")
    intruder = list(rows[after])
    intruder[col["code_zone"]] = str(MALFORMED["unknown_code"])
    intruder[col["libelle_zone"]] = str(MALFORMED["unknown_name"])
    rows.insert(after + 1, intruder)
    buf = io.StringIO()
    csv_safe.writer(buf, lineterminator="\r\n").writerows(rows)
    problems = [
        {"line": bad + 1, "column": "faits", "value": MALFORMED["bad_value"],
         "problem": "non_numeric_value", "value_in_corrected_file": original,
         "territory": rows[bad][col["code_zone"]], "indicator_label": MALFORMED["bad_class"]},
        {"line": after + 2, "column": "code_zone", "value": MALFORMED["unknown_code"],
         "problem": "unknown_territory"},
    ]
    return buf.getvalue().encode("utf-8"), problems


def _changes(geo: Geography, sim: Simulation) -> list[dict[str, Any]]:
    kinds = {code: "commune" for code, _ in geo.communes}
    kinds.update({q.code: "quartier" for q in geo.quartiers})
    specs = list(sim.specs.values())
    out = []
    for item in sim.injected:
        change = item["change"]
        out.append({
            "id": change.id, "indicator": change.indicator, "territory": change.territory,
            "territory_kind": kinds[change.territory],
            "territory_name": geo.name_of(change.territory), "kind": change.kind,
            "first_period": change.first_period,
            "last_period": change.first_period if change.kind in ("spike", "dip") else None,
            "size_reached_period": shift(change.first_period, TREND_HORIZON - 1)
            if change.kind == "trend_change" else change.first_period,
            "direction": "up" if change.direction > 0 else "down",
            "size_sd": change.size_sd, "size_units": item["size_units"],
            "noise_sd": item["noise_sd"], "baseline_mean": item["baseline_mean"],
            "slope_units_per_period": item["slope_units_per_period"],
            "small": change.small,
            "also_affects": dependants(specs, change.indicator),
            "propagates_to": item["propagates_to"],
        })
    return sorted(out, key=lambda c: c["id"])


def truth_yaml(seed: int, geo: Geography, sim: Simulation, story: dict[str, dict]) -> str:
    """ground_truth.yaml: everything a scorer needs, nothing it has to recompute."""
    revision = story["revision"]
    data = {
        "seed": seed,
        "reference_date": REFERENCE_DATE.isoformat(),
        "epci": EPCI_CODE,
        "periods": {p: {"first": PERIODS[p][0], "backfill_last": BACKFILL_END[p],
                        "last": PERIODS[p][-1]} for p in PERIODS},
        "noise_sd_definition": NOISE_SD,
        "changes": _changes(geo, sim),
        "breaks": [{"indicator": BREAK_INDICATOR, "period": BREAK_PERIOD,
                    "relative_jump": BREAK_JUMP, "territories": "all", "note": BREAK_NOTE,
                    "expected": "not reported as a shift (glossary break)"}],
        "late_delivery": late_delivery(),
        "revision": {
            "convention": REVISION["convention"], "period": REVISION["period"],
            "original_file": revision.get("original_file"), "file": revision.get("file"),
            "indicator": REVISION["indicator"], "territory": revision["territory"],
            "what": "the first file understated the indicator by "
                    f"{int(float(REVISION['understatement']) * 100)} % in one quartier, its "
                    "commune and the agglomeration; the corrected file restores the true "
                    "values. A dip detected on the original must be retracted after the "
                    "revision.",
            "cells": revision.get("cells", []),
        },
        "malformed": {"convention": MALFORMED["convention"], "period": MALFORMED["period"],
                      **story.get("malformed", {}),
                      "expected": "quarantined as a whole; no observation recorded from it"},
        "backfill_events": [{
            "what": "confinement du printemps 2020 (in the backfill, not to be scored)",
            "indicators": sorted(c for c, s in sim.specs.items() if s.provider == "police"),
            "periods": sorted(COVID), "factors": [COVID[p] for p in sorted(COVID)],
            "exception": {"pol_violences_intrafamiliales": 1.1}}],
    }
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)
