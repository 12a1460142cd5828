"""Tau-Argus (pytauargus, HiGHS bundled) on the same tables as veille's engine: one
hierarchical table (commune -> EPCI -> département) per indicator and year, microdata of
one record per unit counted, rule FREQ(threshold, 100), optimal suppression (OPT; the
modular method, MOD, refuses one-dimensional tables: "HiTaS: no variables found")."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

import pandas as pd

from veille.catalog import Catalog
from veille.secrecy import mask


def hierarchy_file(catalog: Catalog, root: str, path: Path) -> None:
    """Tau-Argus's .hrc: one code per line, '@' per level below the top."""
    kids: dict[str | None, list[str]] = {}
    for code, t in catalog.territories.items():
        kids.setdefault(t.parent, []).append(code)
    lines: list[str] = []

    def walk(code: str, depth: int) -> None:
        for kid in sorted(kids.get(code, [])):
            lines.append("@" * depth + kid)
            walk(kid, depth + 1)

    walk(root, 0)
    path.write_text("\n".join(lines) + "\n")


def side_by_side(frame: pd.DataFrame, catalog: Catalog, root: str, threshold: int
                 ) -> dict[str, float]:
    """Totals over every (indicator, year) table: cells hidden and loss, each engine."""
    from pytauargus import protect

    work = Path(tempfile.mkdtemp(prefix="tauargus_"))
    hierarchy_file(catalog, root, work / "tree.hrc")
    out = {"tables": 0, "ta_primary": 0, "ta_secondary": 0, "ta_loss": 0.0,
           "veille_primary": 0, "veille_secondary": 0, "veille_loss": 0.0}
    for (ind, period), table in frame.groupby(["indicator", "period"], sort=True):
        table = table.reset_index(drop=True)
        base = table[table["territory"].map(lambda t: catalog.territories[t].kind.value
                                            == "commune")]
        micro = pd.DataFrame({"commune": base["territory"].repeat(base["value"].astype(int)),
                              "one": 1.0})
        if micro.empty:
            continue
        with contextlib.chdir(work):   # its solver writes its logs to the current folder
            result = protect(micro, [["commune"]], response="one",
                             safety_rules=f"FREQ({threshold},100)", suppress="OPT(1)",
                             hrc={"commune": str(work / "tree.hrc")}, totcode="Total",
                             workdir=str(work / f"{ind}_{period}"))
        status = result.tables[0].dataframe()
        ours = mask(table, catalog)
        hidden = ours["secrecy"] == "complementary"
        out["tables"] += 1
        out["ta_primary"] += int(status["status"].isin(["U", "E"]).sum())
        out["ta_secondary"] += int((status["status"] == "M").sum())
        out["ta_loss"] += float(status.loc[status["status"] == "M", "one"].sum())
        out["veille_primary"] += int((ours["secrecy"] == "small").sum())
        out["veille_secondary"] += int(hidden.sum())
        out["veille_loss"] += float(ours.loc[hidden, "value"].sum())
    return out
